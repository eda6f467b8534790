// Package control is arqhost's fleet control channel: an operator sends one command ("list the
// modules you run", "reload your modules") to every worker at once and collects their answers.
//
// It needs nothing but plain RabbitMQ. Commands go to the durable fanout exchange Exchange. Each
// worker (Serve) binds an exclusive, auto-delete, server-named queue to it, whose messages expire
// after a minute so that commands never pile up, and answers every command that asks for a reply.
// The caller (Call) receives the answers through RabbitMQ's direct reply-to
// (amq.rabbitmq.reply-to) and matches them by correlation id.
//
// Delivery is best-effort: a worker that is down, or reconnecting when a command is sent, does not
// answer, so commands must be idempotent and a caller must not read a missing answer as a refusal.
package control

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/internal/broker"
)

// Exchange is the durable fanout exchange that carries commands to every worker.
const Exchange = "arqhost.control"

// directReplyTo is RabbitMQ's pseudo-queue for direct reply-to.
const directReplyTo = "amq.rabbitmq.reply-to"

const (
	// commandTTL is how long a command may wait in a worker's queue: older ones are dropped.
	commandTTL = 60 * time.Second
	// handlerTimeout bounds the context of one Handler call.
	handlerTimeout = 60 * time.Second
	// maxHandlers is how many commands a Server handles at once; further ones wait.
	maxHandlers = 8
	// defaultWait is how long Call collects replies unless CallOptions say.
	defaultWait = 2 * time.Second
)

// Request is one command sent to the fleet.
type Request struct {
	// Command names what to do, such as "modules.list" or "modules.reload". The Handler interprets it.
	Command string `json:"command"`
	// Queues restricts the command to workers consuming at least one of these queues; empty: all.
	Queues []string `json:"queues,omitempty"`
	// Args are the command's arguments, if it has any.
	Args json.RawMessage `json:"args,omitempty"`
}

// Reply is one worker's answer to a Request.
type Reply struct {
	WorkerID string          `json:"worker_id"`
	Queues   []string        `json:"queues"` // the queues the worker consumes
	Body     json.RawMessage `json:"body,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// Handler answers one command; its result is JSON-encoded into Reply.Body (nil: no body), its
// error into Reply.Error. An unknown command is the Handler's to refuse, with an error. A panic is
// recovered and becomes Reply.Error. ctx ends after a minute, or when the Server stops.
type Handler func(ctx context.Context, req Request) (any, error)

// ServerOptions configure Serve.
type ServerOptions struct {
	// WorkerID names the worker in its replies. Default: host name and process id.
	WorkerID string
	// Queues are the queues the worker consumes: a Request naming queues is answered only when
	// one of them is here. They are also reported in every Reply.
	Queues []string
	// Logger receives channel losses and failed answers. Default slog.Default().
	Logger *slog.Logger
}

// Server answers commands on behalf of one worker. Create it with Serve.
type Server struct {
	conn        *broker.Conn
	h           Handler
	workerID    string
	queues      []string
	log         *slog.Logger
	reconnected <-chan struct{} // signalled after each reconnection of conn; closed with conn

	ctx    context.Context // parent of the handlers' contexts; cancelled by Stop
	cancel context.CancelFunc

	stopOnce sync.Once
	stop     chan struct{} // closed by Stop
	done     chan struct{} // closed when run has returned
	slots    chan struct{} // one token per running handler
	handlers sync.WaitGroup

	mu      sync.Mutex
	ch      *amqp.Channel // the current channel, nil between two
	stopped bool
}

// Serve starts answering commands on conn until Stop (or conn closes for good). It survives
// reconnections: after conn reconnects, it declares its queue again and resumes. It returns an
// error when the first declaration fails (conn not connected, say); later failures are logged and
// retried.
func Serve(conn *broker.Conn, opt ServerOptions, h Handler) (*Server, error) {
	if conn == nil {
		return nil, errors.New("control: Serve needs a connection")
	}
	if h == nil {
		return nil, errors.New("control: Serve needs a handler")
	}
	if opt.WorkerID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "worker"
		}
		opt.WorkerID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	queues := slices.Clone(opt.Queues)
	if queues == nil {
		queues = []string{} // "queues": [] rather than null in replies
	}
	s := &Server{
		conn: conn, h: h, workerID: opt.WorkerID, queues: queues,
		log:         opt.Logger.With("component", "control"),
		reconnected: conn.NotifyReconnect(),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		slots:       make(chan struct{}, maxHandlers),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ch, deliveries, err := s.start()
	if err != nil {
		s.cancel()
		return nil, err
	}
	go s.run(ch, deliveries)
	return s, nil
}

// Stop stops answering: the worker's control queue goes away, the contexts of running handlers
// are cancelled, and Stop returns once they have returned. Calling it again does nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		ch := s.ch
		s.ch = nil
		s.mu.Unlock()
		close(s.stop)
		s.cancel()
		if ch != nil {
			_ = ch.Close() // ends the deliveries; the auto-delete queue is deleted
		}
	})
	<-s.done
	s.handlers.Wait()
}

func (s *Server) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// start opens a channel, declares the exchange and the worker's queue, and consumes the queue.
func (s *Server) start() (*amqp.Channel, <-chan amqp.Delivery, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("control: %w", err)
	}
	fail := func(what string, err error) (*amqp.Channel, <-chan amqp.Delivery, error) {
		_ = ch.Close()
		return nil, nil, fmt.Errorf("control: %s: %w", what, err)
	}
	if err := declareExchange(ch); err != nil {
		return fail("declare exchange "+Exchange, err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, amqp.Table{"x-message-ttl": int64(commandTTL / time.Millisecond)})
	if err != nil {
		return fail("declare the control queue", err)
	}
	if err := ch.QueueBind(q.Name, "", Exchange, false, nil); err != nil {
		return fail("bind the control queue to "+Exchange, err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fail("consume the control queue", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped { // Stop came while declaring
		_ = ch.Close()
		return nil, nil, errStopped
	}
	s.ch = ch
	return ch, deliveries, nil
}

var errStopped = errors.New("control: server stopped")

func declareExchange(ch *amqp.Channel) error {
	return ch.ExchangeDeclare(Exchange, amqp.ExchangeFanout, true, false, false, false, nil)
}

// run hands each command to a handler goroutine and, when the deliveries stop without Stop (the
// connection was lost, or the broker closed the channel), consumes again.
func (s *Server) run(ch *amqp.Channel, deliveries <-chan amqp.Delivery) {
	defer close(s.done)
	for {
		for d := range deliveries {
			select {
			case s.slots <- struct{}{}:
			case <-s.stop:
				continue // drain until Stop's Close ends the deliveries
			}
			if s.isStopped() {
				<-s.slots
				continue
			}
			s.handlers.Add(1)
			go func(ch *amqp.Channel) {
				defer func() {
					<-s.slots
					s.handlers.Done()
				}()
				s.answer(ch, d)
			}(ch)
		}
		// The channel may still be open (the broker cancelled the consumer): not reused.
		_ = ch.Close()
		s.mu.Lock()
		if s.ch == ch {
			s.ch = nil
		}
		s.mu.Unlock()
		if s.isStopped() {
			return
		}
		select {
		case _, ok := <-s.reconnected:
			if !ok {
				return // conn closed for good (its listeners are closed before its channels)
			}
		default:
		}
		s.log.Warn("control channel lost; reconnecting")
		if ch, deliveries = s.resume(); ch == nil {
			return
		}
		s.log.Info("answering control commands again")
	}
}

// resume retries start until it succeeds, the Server stops or the connection closes for good
// (nil). While the connection is down it waits for the reconnection instead of polling.
func (s *Server) resume() (*amqp.Channel, <-chan amqp.Delivery) {
	backoff := 100 * time.Millisecond
	wait := backoff
	for {
		select {
		case <-s.stop:
			return nil, nil
		case _, ok := <-s.reconnected:
			if !ok {
				s.reconnected = nil // conn closed: start reports ErrClosed
			}
		case <-time.After(wait):
		}
		ch, deliveries, err := s.start()
		switch {
		case err == nil:
			return ch, deliveries
		case errors.Is(err, errStopped), errors.Is(err, broker.ErrClosed):
			return nil, nil
		case errors.Is(err, broker.ErrNotConnected):
			wait = 5 * time.Second // the reconnection signal normally comes first
			continue
		}
		s.log.Warn("cannot restore the control channel yet; will try again", "err", err, "in", backoff)
		wait = backoff
		backoff = min(backoff*2, 5*time.Second)
	}
}

// answer runs the handler for one command, if it asks for a reply and concerns this worker, and
// publishes the reply.
func (s *Server) answer(ch *amqp.Channel, d amqp.Delivery) {
	if d.ReplyTo == "" {
		return // nobody to answer
	}
	rep := Reply{WorkerID: s.workerID, Queues: s.queues}
	var req Request
	if err := json.Unmarshal(d.Body, &req); err != nil {
		rep.Error = fmt.Sprintf("control: malformed request: %v", err)
	} else if !s.concerned(req.Queues) {
		return
	} else if body, err := s.call(req); err != nil {
		rep.Error = err.Error()
	} else {
		rep.Body = body
	}
	b, err := json.Marshal(rep)
	if err != nil { // cannot happen: Body is valid JSON from json.Marshal
		rep.Body, rep.Error = nil, fmt.Sprintf("control: cannot encode the reply: %v", err)
		b, _ = json.Marshal(rep)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	err = ch.PublishWithContext(ctx, "", d.ReplyTo, false, false, amqp.Publishing{
		ContentType:   "application/json",
		CorrelationId: d.CorrelationId,
		AppId:         s.workerID,
		Timestamp:     time.Now(),
		Body:          b,
	})
	if err != nil && !s.isStopped() {
		s.log.Warn("cannot answer a control command", "command", req.Command, "err", err)
	}
}

// concerned reports whether a request restricted to queues is for this worker.
func (s *Server) concerned(queues []string) bool {
	if len(queues) == 0 {
		return true
	}
	for _, q := range queues {
		if slices.Contains(s.queues, q) {
			return true
		}
	}
	return false
}

// call runs the handler with a bounded context, turning a panic into an error, and encodes its
// result.
func (s *Server) call(req Request) (body json.RawMessage, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, handlerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("control: the handler of %q panicked: %v", req.Command, r)
			s.log.Error("a control command handler panicked", "command", req.Command, "err", err, "detail", string(debug.Stack()))
		}
	}()
	v, err := s.h(ctx, req)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("control: cannot encode the result of %q: %w", req.Command, err)
	}
	return b, nil
}

// CallOptions configure Call.
type CallOptions struct {
	// Wait is how long to collect replies. Default 2 s.
	Wait time.Duration
	// Expect stops collecting early once this many replies have arrived; 0 waits the full time.
	Expect int
}

// Call sends req to every worker (those whose queues match req.Queues answer) and returns the
// replies that arrive within opt.Wait, or as soon as opt.Expect have arrived, sorted by worker id.
// No worker answering is not an error: the result is then empty. When ctx ends, or the connection
// is lost, before the wait is over, Call returns the replies so far with an error.
func Call(ctx context.Context, conn *broker.Conn, req Request, opt CallOptions) ([]Reply, error) {
	if conn == nil {
		return nil, errors.New("control: Call needs a connection")
	}
	if req.Command == "" {
		return nil, errors.New("control: the request has no command")
	}
	if opt.Wait <= 0 {
		opt.Wait = defaultWait
	}
	if opt.Expect < 0 {
		opt.Expect = 0
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("control: encode the request: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	defer ch.Close()
	if err := declareExchange(ch); err != nil {
		return nil, fmt.Errorf("control: declare exchange %s: %w", Exchange, err)
	}
	// Direct reply-to: consume the pseudo-queue (no-ack) before publishing on the same channel.
	deliveries, err := ch.Consume(directReplyTo, "", true, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("control: consume %s: %w", directReplyTo, err)
	}
	id := rand.Text()
	timer := time.NewTimer(opt.Wait)
	defer timer.Stop()
	err = ch.PublishWithContext(ctx, Exchange, "", false, false, amqp.Publishing{
		ContentType:   "application/json",
		ReplyTo:       directReplyTo,
		CorrelationId: id,
		Expiration:    strconv.FormatInt(max(opt.Wait.Milliseconds(), 1), 10), // useless once the wait is over
		Timestamp:     time.Now(),
		Body:          body,
	})
	if err != nil {
		return nil, fmt.Errorf("control: publish %q: %w", req.Command, err)
	}

	var replies []Reply
	sorted := func() []Reply {
		slices.SortStableFunc(replies, func(a, b Reply) int { return cmp.Compare(a.WorkerID, b.WorkerID) })
		return replies
	}
	for opt.Expect == 0 || len(replies) < opt.Expect {
		select {
		case <-ctx.Done():
			return sorted(), fmt.Errorf("control: %q: stopped waiting for replies: %w", req.Command, context.Cause(ctx))
		case <-timer.C:
			return sorted(), nil
		case d, ok := <-deliveries:
			if !ok {
				return sorted(), fmt.Errorf("control: %q: the channel closed while waiting for replies (connection lost?)", req.Command)
			}
			if d.CorrelationId != id {
				continue // not ours (the channel is this call's own: should not happen)
			}
			var r Reply
			if err := json.Unmarshal(d.Body, &r); err != nil {
				r = Reply{WorkerID: d.AppId, Error: fmt.Sprintf("control: malformed reply: %v", err)}
			}
			replies = append(replies, r)
		}
	}
	return sorted(), nil
}

package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/internal/wire"
)

// Errors of Publisher, wrapped by the errors it returns.
var (
	// ErrUnroutable: the broker returned the message because no queue matched (mandatory
	// publishing), e.g. the target queue does not exist.
	ErrUnroutable = errors.New("broker: message unroutable")
	// ErrNacked: the broker refused the message (basic.nack), e.g. a queue with overflow
	// reject-publish at its length limit, or an internal error of the queue.
	ErrNacked = errors.New("broker: message refused by the broker (nack)")
	// ErrPublisherClosed: Close was called.
	ErrPublisherClosed = errors.New("broker: publisher closed")
)

const (
	// publisherChannels is the size of a Publisher's channel pool.
	publisherChannels = 4
	// batchWindow bounds how many unconfirmed messages PublishBatch keeps in flight on a channel.
	batchWindow = 1024
	// keptReturns bounds the returned messages a channel keeps for publishers that gave up waiting.
	keptReturns = 4096
)

// Publisher publishes messages and waits for the broker's confirmation of each (publisher
// confirms), over a small pool of confirm-mode channels of one Conn. Every message is published
// mandatory, so a message no queue takes comes back as ErrUnroutable instead of vanishing.
//
// When the connection or a channel is lost before the broker confirmed a message, the Publisher
// publishes it again on a new channel once the Conn has reconnected, until ctx ends: delivery is
// at least once, and such a message may arrive twice. Safe for concurrent use.
type Publisher struct {
	conn  *Conn
	slots chan *pubChannel // publisherChannels entries; nil = open a channel when taken
	stop  chan struct{}
	once  sync.Once

	mu       sync.Mutex
	verified map[string]bool // delay exchanges known to exist

	// Lead makes delayed messages arrive this much before they are due (but never before they were
	// published): a delay d is routed as d-Lead through the delay levels. Each level a message
	// passes adds the broker's expiry latency, which grows with load (tens of milliseconds, more
	// while many messages expire at once); arriving early lets the consumer wait out the rest with
	// a timer, to the millisecond. Only for consumers that hold an early message until it is due
	// (arqhost workers do, from the job's defer_until); 0, the default, routes delays exactly. Set
	// it before the first publish.
	Lead time.Duration
}

// DefaultLead is the Lead arqhost's client and worker publish with: longer than the levels'
// latency under load, short enough that a worker holds few early jobs.
const DefaultLead = time.Second

// NewPublisher returns a Publisher over c. Channels are opened when first needed.
func NewPublisher(c *Conn) *Publisher {
	p := &Publisher{
		conn:     c,
		slots:    make(chan *pubChannel, publisherChannels),
		stop:     make(chan struct{}),
		verified: make(map[string]bool),
	}
	for range publisherChannels {
		p.slots <- nil
	}
	return p
}

// Close closes the Publisher's channels; publishes still waiting fail. The Conn stays open.
func (p *Publisher) Close() error {
	p.once.Do(func() {
		close(p.stop)
		for range publisherChannels {
			select {
			case pc := <-p.slots:
				if pc != nil {
					_ = pc.ch.Close()
				}
			default:
			}
		}
	})
	return nil
}

// pubChannel is one confirm-mode channel of the pool.
type pubChannel struct {
	ch      *amqp.Channel
	gen     uint64
	returns chan amqp.Return

	rmu      sync.Mutex
	returned []amqp.Return // drained from returns, not yet claimed

	dead     chan struct{} // closed once the channel closed; closeErr is set before
	closeErr *amqp.Error
}

func (pc *pubChannel) isDead() bool {
	select {
	case <-pc.dead:
		return true
	default:
		return false
	}
}

// claimReturn reports whether the broker returned the message (exchange, key, msg) on this
// channel, and forgets that return. It must be called only after the message's confirmation
// arrived: RabbitMQ sends basic.return before the basic.ack of the same message, and amqp091
// delivers both in that order, so the return is in pc.returns by then.
func (pc *pubChannel) claimReturn(exchange, key string, msg *amqp.Publishing) (amqp.Return, bool) {
	pc.rmu.Lock()
	defer pc.rmu.Unlock()
drain:
	for {
		select {
		case r, ok := <-pc.returns:
			if !ok {
				break drain
			}
			pc.returned = append(pc.returned, r)
		default:
			break drain
		}
	}
	if n := len(pc.returned); n > keptReturns {
		pc.returned = append(pc.returned[:0], pc.returned[n-keptReturns:]...)
	}
	for i, r := range pc.returned {
		if r.Exchange == exchange && r.RoutingKey == key && r.MessageId == msg.MessageId && bytes.Equal(r.Body, msg.Body) {
			pc.returned = append(pc.returned[:i], pc.returned[i+1:]...)
			return r, true
		}
	}
	return amqp.Return{}, false
}

// acquire takes a live channel from the pool, opening one (after waiting for the connection)
// when the slot is empty or its channel is gone. The caller must release it.
func (p *Publisher) acquire(ctx context.Context) (*pubChannel, error) {
	select {
	case <-p.stop:
		return nil, ErrPublisherClosed
	default:
	}
	var pc *pubChannel
	select {
	case pc = <-p.slots:
	case <-p.stop:
		return nil, ErrPublisherClosed
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	if pc != nil && (pc.isDead() || pc.gen != p.conn.generation()) {
		_ = pc.ch.Close()
		pc = nil
	}
	if pc == nil {
		var err error
		if pc, err = p.open(ctx); err != nil {
			p.slots <- nil
			return nil, err
		}
	}
	return pc, nil
}

func (p *Publisher) release(pc *pubChannel) {
	select {
	case <-p.stop:
		_ = pc.ch.Close()
		p.slots <- nil
	default:
		p.slots <- pc
	}
}

func (p *Publisher) open(ctx context.Context) (*pubChannel, error) {
	ch, gen, err := p.conn.channel(ctx)
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("broker: put channel in confirm mode: %w", err)
	}
	pc := &pubChannel{
		ch:      ch,
		gen:     gen,
		returns: ch.NotifyReturn(make(chan amqp.Return, batchWindow+64)),
		dead:    make(chan struct{}),
	}
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		e := <-closes // nil when we closed it
		pc.closeErr = e
		close(pc.dead)
	}()
	return pc, nil
}

// target is one message's destination.
type target struct {
	queue, exchange, key string
	msg                  amqp.Publishing
	ready                func() error // Item.Ready
}

// isReady calls the item's Ready once; later calls (publishing again after a lost channel) return
// nil.
func (t *target) isReady() error {
	if t.ready == nil {
		return nil
	}
	err := t.ready()
	t.ready = nil
	return err
}

// prepare resolves where a message goes and readies a delayed one for the delay levels.
func (p *Publisher) prepare(ctx context.Context, queue string, delay, lead time.Duration, msg amqp.Publishing) (target, error) {
	if err := checkQueueName(queue); err != nil {
		return target{}, err
	}
	if delay > MaxDelay {
		return target{}, fmt.Errorf("broker: delay %v is longer than the maximum %v (2^35 ms, about 1.09 years)", delay, MaxDelay)
	}
	if delay > 0 && lead > 0 {
		delay = max(delay-lead, 0)
	}
	exchange, key, err := DelayRoute(queue, delay)
	if err != nil {
		return target{}, err
	}
	if exchange != "" {
		if msg.Expiration != "" {
			return target{}, errors.New("broker: a delayed message cannot have an Expiration (it would leave the delay levels early)")
		}
		msg.Headers = withoutDeathHeaders(msg.Headers)
		if err := p.verifyDelay(ctx, queue, exchange); err != nil {
			return target{}, err
		}
	}
	return target{queue: queue, exchange: exchange, key: key, msg: msg}, nil
}

// verifyDelay checks once per exchange that the delay topology exists: publishing to a missing
// exchange would close the channel and fail every message in flight on it.
func (p *Publisher) verifyDelay(ctx context.Context, queue, exchange string) error {
	p.mu.Lock()
	ok := p.verified[exchange]
	p.mu.Unlock()
	if ok {
		return nil
	}
	ch, _, err := p.conn.channel(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = ch.Close() }()
	if err := ch.ExchangeDeclarePassive(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return fmt.Errorf("broker: the delay topology of queue %q is %w (exchange %q is missing; call Declare)", queue, ErrNotDeclared, exchange)
		}
		return fmt.Errorf("broker: check delay exchange %q: %w", exchange, err)
	}
	p.mu.Lock()
	p.verified[exchange] = true
	p.mu.Unlock()
	return nil
}

// withoutDeathHeaders returns h without the dead-lettering history RabbitMQ's cycle detection
// would read (see delay.go); h itself is not modified.
func withoutDeathHeaders(h amqp.Table) amqp.Table {
	isDeath := func(k string) bool {
		return k == "x-death" || strings.HasPrefix(k, "x-first-death-") || strings.HasPrefix(k, "x-last-death-")
	}
	found := false
	for k := range h {
		if isDeath(k) {
			found = true
			break
		}
	}
	if !found {
		return h
	}
	out := make(amqp.Table, len(h))
	for k, v := range h {
		if !isDeath(k) {
			out[k] = v
		}
	}
	return out
}

// Publish publishes msg so that it reaches queue after delay (immediately for delay <= 0, through
// the delay levels otherwise; the queue's topology must have been declared) and returns once the
// broker confirmed it. A nack (ErrNacked), a returned message (ErrUnroutable), a delay beyond
// MaxDelay or a message the broker closes the channel over is an error. msg is sent as given:
// set DeliveryMode persistent for messages that must survive a broker restart (JobPublishing
// does).
func (p *Publisher) Publish(ctx context.Context, queue string, delay time.Duration, msg amqp.Publishing) error {
	return p.publish(ctx, queue, delay, p.Lead, msg)
}

// PublishExact is Publish without the Lead: the message arrives after delay, not before. A
// consumer that cannot hold an early message any longer sends it back this way.
func (p *Publisher) PublishExact(ctx context.Context, queue string, delay time.Duration, msg amqp.Publishing) error {
	return p.publish(ctx, queue, delay, 0, msg)
}

func (p *Publisher) publish(ctx context.Context, queue string, delay, lead time.Duration, msg amqp.Publishing) error {
	t, err := p.prepare(ctx, queue, delay, lead, msg)
	if err != nil {
		return err
	}
	errs := make([]error, 1)
	p.run(ctx, []target{t}, []int{0}, errs)
	return errs[0]
}

// Item is one message of a batch.
type Item struct {
	Queue string
	Delay time.Duration
	Msg   amqp.Publishing
	// Ready, if set, is called just before the item is published (in its turn: the items before it
	// are on their way meanwhile) and may block; an error fails the item, which is not published.
	// The client waits there for the item's queued record to be stored.
	Ready func() error
}

// ItemError is the failure of one item of a batch.
type ItemError struct {
	Index int    // the item's index in the batch
	Queue string // the item's queue
	Err   error
}

func (e ItemError) Error() string {
	return fmt.Sprintf("item %d (queue %q): %v", e.Index, e.Queue, e.Err)
}
func (e ItemError) Unwrap() error { return e.Err }

// BatchError lists the items of a batch that were not confirmed; the others were.
type BatchError struct {
	Total  int
	Failed []ItemError // by index
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "broker: %d of %d messages not confirmed: ", len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As every item's error.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f
	}
	return errs
}

// PublishBatch publishes every item as Publish would and returns once all are confirmed. The
// messages are pipelined on one channel (up to 1024 unconfirmed at a time) instead of waiting
// for each confirmation in turn. An error is a *BatchError naming the items that failed; the
// other items were confirmed.
func (p *Publisher) PublishBatch(ctx context.Context, items []Item) error {
	targets := make([]target, len(items))
	errs := make([]error, len(items))
	var todo []int
	for i, it := range items {
		t, err := p.prepare(ctx, it.Queue, it.Delay, p.Lead, it.Msg)
		if err != nil {
			errs[i] = err
			continue
		}
		t.ready = it.Ready
		targets[i] = t
		todo = append(todo, i)
	}
	p.run(ctx, targets, todo, errs)
	be := &BatchError{Total: len(items)}
	for i, err := range errs {
		if err != nil {
			be.Failed = append(be.Failed, ItemError{Index: i, Queue: items[i].Queue, Err: err})
		}
	}
	if len(be.Failed) > 0 {
		return be
	}
	return nil
}

// run publishes targets[todo] and records each one's result in errs. Messages whose channel was
// lost before their confirmation are published again (after the Conn reconnected) until ctx
// ends. Once the broker closed a channel over some message (a channel error, such as a message
// above its size limit), the remaining messages are published one at a time, so that the
// culprit is known and fails while the others go through.
func (p *Publisher) run(ctx context.Context, targets []target, todo []int, errs []error) {
	alone := false
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if err := pause(ctx, p.stop, attempt); err != nil {
				for _, i := range todo {
					errs[i] = err
				}
				return
			}
		}
		if alone {
			todo = p.publishAlone(ctx, targets, todo, errs)
		} else {
			todo, alone = p.publishRound(ctx, targets, todo, errs)
		}
	}
}

// pause waits a little before publishing again: 20 ms, doubling up to 1 s.
func pause(ctx context.Context, stop <-chan struct{}, attempt int) error {
	d := min(20*time.Millisecond<<min(attempt-1, 6), time.Second)
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-stop:
		return ErrPublisherClosed
	case <-time.After(d):
		return nil
	}
}

// publishRound publishes targets[todo] pipelined on one pooled channel and waits for their
// confirmations. It records final results in errs and returns the items to publish again, and
// whether a channel error (rather than a lost connection) was among the reasons.
func (p *Publisher) publishRound(ctx context.Context, targets []target, todo []int, errs []error) (again []int, channelError bool) {
	pc, err := p.acquire(ctx)
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return nil, false
	}
	type inflight struct {
		index int
		dc    *amqp.DeferredConfirmation
	}
	var queue []inflight
	wait := func(f inflight) {
		retry, err := p.settle(ctx, pc, f.dc, &targets[f.index])
		switch {
		case retry:
			again = append(again, f.index)
			channelError = channelError || err != nil
		default:
			errs[f.index] = err
		}
	}
	for k, i := range todo {
		if len(queue) >= batchWindow {
			wait(queue[0])
			queue = queue[1:]
		}
		t := &targets[i]
		if err := t.isReady(); err != nil {
			errs[i] = err
			continue
		}
		dc, err := pc.ch.PublishWithDeferredConfirm(t.exchange, t.key, true, false, t.msg)
		if err != nil {
			if pc.ch.IsClosed() || errors.Is(err, amqp.ErrClosed) {
				again = append(again, todo[k:]...)
				break
			}
			errs[i] = fmt.Errorf("broker: publish to queue %q: %w", t.queue, err)
			continue
		}
		queue = append(queue, inflight{index: i, dc: dc})
	}
	p.release(pc)
	for _, f := range queue {
		wait(f)
	}
	return again, channelError
}

// publishAlone publishes targets[todo] one at a time on a channel of their own (not from the
// pool), so that a channel error belongs to the one message in flight.
func (p *Publisher) publishAlone(ctx context.Context, targets []target, todo []int, errs []error) (again []int) {
	var pc *pubChannel
	defer func() {
		if pc != nil {
			_ = pc.ch.Close()
		}
	}()
	for k, i := range todo {
		if pc == nil || pc.isDead() {
			if pc != nil {
				_ = pc.ch.Close()
			}
			var err error
			if pc, err = p.open(ctx); err != nil {
				for _, j := range todo[k:] {
					errs[j] = err
				}
				return again
			}
		}
		t := &targets[i]
		if err := t.isReady(); err != nil {
			errs[i] = err
			continue
		}
		dc, err := pc.ch.PublishWithDeferredConfirm(t.exchange, t.key, true, false, t.msg)
		if err != nil {
			if pc.ch.IsClosed() || errors.Is(err, amqp.ErrClosed) {
				again = append(again, i)
			} else {
				errs[i] = fmt.Errorf("broker: publish to queue %q: %w", t.queue, err)
			}
			continue
		}
		retry, err := p.settle(ctx, pc, dc, t)
		switch {
		case retry && err != nil:
			errs[i] = fmt.Errorf("broker: publish to queue %q: the broker closed the channel over this message: %w", t.queue, err)
		case retry:
			again = append(again, i)
		default:
			errs[i] = err
		}
	}
	return again
}

// settle waits for a message's confirmation. retry reports that the channel closed first, so
// that the message should be published again; err is then the broker's channel error if the
// broker closed the channel (nil when the connection was lost).
func (p *Publisher) settle(ctx context.Context, pc *pubChannel, dc *amqp.DeferredConfirmation, t *target) (retry bool, err error) {
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return false, fmt.Errorf("broker: publish to queue %q: not confirmed: %w", t.queue, context.Cause(ctx))
	}
	if dc.Acked() {
		if r, returned := pc.claimReturn(t.exchange, t.key, &t.msg); returned {
			if t.exchange == "" {
				return false, fmt.Errorf("%w: no queue %q (%d %s)", ErrUnroutable, t.queue, r.ReplyCode, r.ReplyText)
			}
			return false, fmt.Errorf("%w: queue %q (exchange %q, routing key %q): %d %s",
				ErrUnroutable, t.queue, t.exchange, t.key, r.ReplyCode, r.ReplyText)
		}
		return false, nil
	}
	if !pc.ch.IsClosed() {
		return false, fmt.Errorf("%w: queue %q", ErrNacked, t.queue)
	}
	// The channel closed before the confirmation: amqp091 reports every unconfirmed message as
	// nacked then.
	<-pc.dead
	e := pc.closeErr
	if e == nil || !e.Server || !e.Recover {
		return true, nil // the connection was lost (or the channel closed by us)
	}
	if e.Code == amqp.NotFound && t.exchange != "" && strings.Contains(e.Reason, "'"+t.exchange+"'") {
		p.mu.Lock()
		delete(p.verified, t.exchange)
		p.mu.Unlock()
		return false, fmt.Errorf("broker: the delay topology of queue %q is %w: %v", t.queue, ErrNotDeclared, e)
	}
	return true, e
}

// JobPublishing is the message for a job as arqhost publishes it: persistent, JSON, message id =
// job id, timestamped now, with headers (copied, not modified) plus x-retry-count = Try-1.
func JobPublishing(job *wire.Job, headers amqp.Table) amqp.Publishing {
	h := make(amqp.Table, len(headers)+1)
	for k, v := range headers {
		h[k] = v
	}
	h[wire.HeaderRetryCount] = int32(max(job.Try, 1) - 1)
	return amqp.Publishing{
		Headers:      h,
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    job.ID,
		Timestamp:    time.Now(),
		Body:         job.Body(),
	}
}

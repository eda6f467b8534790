// Package broker is arqhost's RabbitMQ layer: a connection that reconnects by itself (Conn), the
// topology a job queue needs, declared idempotently and without any plugin (Declare, Inspect,
// DeleteAll, and the delay levels described in delay.go), and publishing that returns only once
// the broker has confirmed each message (Publisher).
//
// Passwords never appear in an error or a log record: URLs are shown through Redact.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DialOptions configure a Conn. The zero value is usable.
type DialOptions struct {
	// Timeout bounds one connection attempt: TCP connect, TLS and AMQP handshakes. Default 10 s.
	Timeout time.Duration
	// Heartbeat is the AMQP heartbeat interval; a dead peer is noticed after about twice as long.
	// Default 10 s. A "heartbeat" query parameter in the URL takes precedence.
	Heartbeat time.Duration
	// Name is the connection's name in the management UI and in rabbitmqctl list_connections.
	Name string
	// Logger receives connection losses, reconnections and flow-control blocks. Default: discard.
	Logger *slog.Logger
	// TLS configures amqps:// connections; nil uses the system roots and the URL's host name.
	TLS *tls.Config
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts, which doubles
	// from MinBackoff up to MaxBackoff, each wait randomised by ±25 %. Defaults 100 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
}

func (o *DialOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
}

// Errors of Conn.
var (
	ErrClosed       = errors.New("broker: connection closed")
	ErrNotConnected = errors.New("broker: not connected (reconnecting)")
)

// Conn owns one AMQP connection and replaces it, with capped exponential backoff and jitter,
// whenever it drops. Channels of a lost connection are dead: owners learn about a new connection
// from NotifyReconnect and open new channels, re-declare topology and re-create consumers.
// Safe for concurrent use.
type Conn struct {
	url      string // with the password: never log or return it
	redacted string
	opt      DialOptions
	log      *slog.Logger

	mu        sync.Mutex
	conn      *amqp.Connection // nil while reconnecting
	netConn   net.Conn         // the socket under conn (for the tests' hard drop)
	gen       uint64           // incremented for every new connection
	up        chan struct{}    // closed while connected; a fresh open one while reconnecting
	listeners []chan struct{}
	closed    bool

	stop chan struct{} // closed by Close
	done chan struct{} // closed when the supervisor goroutine ended
}

// Dial connects to url (amqp:// or amqps://). A first attempt that fails for a reason that may
// pass (broker not up yet, network) is retried with backoff until ctx ends; a bad URL, bad
// credentials or a missing vhost fail at once. Once connected, the Conn reconnects by itself
// until Close.
func Dial(ctx context.Context, url string, opt DialOptions) (*Conn, error) {
	opt.defaults()
	c := &Conn{
		url: url, redacted: Redact(url), opt: opt,
		log:  opt.Logger.With("component", "rabbitmq", "url", Redact(url)),
		up:   make(chan struct{}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if AtAfterHost(url) {
		return nil, fmt.Errorf("broker: invalid RabbitMQ URL %s: it has an @ after the host; percent-encode @ "+
			"as %%40 in the password or the vhost (a password holding an unencoded / ? or # is cut there, and "+
			"the rest is taken for the host)", c.redacted)
	}
	if _, err := amqp.ParseURI(url); err != nil {
		// The parser's message can quote parts of the URL, password included: not shown.
		return nil, fmt.Errorf("broker: invalid RabbitMQ URL %s: want amqp://user:password@host:port/vhost "+
			"or amqps://…, with reserved characters in the user name and password percent-encoded", c.redacted)
	}
	backoff := opt.MinBackoff
	for attempt := 1; ; attempt++ {
		ac, nc, err := c.connect(ctx)
		if err == nil {
			c.install(ac, nc)
			go c.supervise(ac)
			return c, nil
		}
		if permanent(err) {
			return nil, fmt.Errorf("broker: connect to %s: %w", c.redacted, c.scrub(err))
		}
		c.log.Warn("cannot connect to RabbitMQ, retrying", "attempt", attempt, "err", c.scrub(err), "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("broker: connect to %s: %w (gave up after %d attempts: %v)", c.redacted, c.scrub(err), attempt, context.Cause(ctx))
		case <-time.After(jitter(backoff)):
		}
		backoff = min(backoff*2, opt.MaxBackoff)
	}
}

// AtAfterHost reports whether url (any scheme://...) has an "@" after its authority, which ends
// at the first "/", "?" or "#": anywhere in the path, or in the query or fragment of a URL that
// has a user name or password. Such a URL is ambiguous, and net/url reads it the unlikely way:
// "amqp://u:p@ss/word@host/" is user u with password p at host "ss" (vhost "word@host/"), where
// the writer meant the password "p@ss/word"; dialling it would put a piece of that password into
// DNS errors and logs. An "@" meant for a path (a vhost) or a query value is written %40.
func AtAfterHost(url string) bool {
	_, rest := splitScheme(url)
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return false
	}
	authority, tail := rest[:end], rest[end:]
	path := tail
	if j := strings.IndexAny(tail, "?#"); j >= 0 {
		path = tail[:j]
	}
	return strings.Contains(path, "@") || strings.Contains(authority, "@") && strings.Contains(tail, "@")
}

// connect makes one connection attempt.
func (c *Conn) connect(ctx context.Context) (*amqp.Connection, net.Conn, error) {
	props := amqp.NewConnectionProperties()
	if c.opt.Name != "" {
		props.SetClientConnectionName(c.opt.Name)
	}
	var nc net.Conn
	cfg := amqp.Config{
		Heartbeat:  c.opt.Heartbeat,
		Properties: props,
		Locale:     "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: c.opt.Timeout, KeepAlive: 30 * time.Second}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bounds the TLS and AMQP handshakes; amqp091 clears it once connected.
			if err := conn.SetDeadline(time.Now().Add(c.opt.Timeout)); err != nil {
				conn.Close()
				return nil, err
			}
			nc = conn
			return conn, nil
		},
	}
	if c.opt.TLS != nil {
		cfg.TLSClientConfig = c.opt.TLS.Clone()
	}
	ac, err := amqp.DialConfig(c.url, cfg)
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		return nil, nil, err
	}
	return ac, nc, nil
}

// permanent reports whether retrying a failed connection attempt is pointless.
func permanent(err error) bool {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		return ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed || ae.Code == amqp.InvalidPath
	}
	return false
}

func (c *Conn) install(ac *amqp.Connection, nc net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn, c.netConn = ac, nc
	c.gen++
	close(c.up)
}

// supervise waits for the connection to drop and replaces it, until Close.
func (c *Conn) supervise(ac *amqp.Connection) {
	defer close(c.done)
	for {
		closes := ac.NotifyClose(make(chan *amqp.Error, 1))
		blocks := ac.NotifyBlocked(make(chan amqp.Blocking, 4))
		var cause error = errors.New("connection closed")
	wait:
		for {
			select {
			case <-c.stop:
				_ = ac.Close()
				return
			case b, ok := <-blocks:
				if !ok {
					blocks = nil
				} else if b.Active {
					c.log.Warn("RabbitMQ blocked publishing on this connection", "reason", b.Reason)
				} else {
					c.log.Info("RabbitMQ unblocked publishing on this connection")
				}
			case e := <-closes:
				if e != nil {
					cause = e
				}
				break wait
			}
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.conn, c.netConn = nil, nil
		c.up = make(chan struct{})
		c.mu.Unlock()
		c.log.Warn("lost the RabbitMQ connection, reconnecting", "err", c.scrub(cause))

		var nc net.Conn
		if ac, nc = c.reconnect(); ac == nil {
			return
		}
		c.install(ac, nc)
		c.log.Info("reconnected to RabbitMQ")
		c.mu.Lock()
		for _, l := range c.listeners {
			select {
			case l <- struct{}{}:
			default: // a signal is already pending: one is enough
			}
		}
		c.mu.Unlock()
	}
}

// reconnect retries until a connection is made (nil after Close).
func (c *Conn) reconnect() (*amqp.Connection, net.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := c.opt.MinBackoff
	for attempt := 1; ; attempt++ {
		select {
		case <-c.stop:
			return nil, nil
		case <-time.After(jitter(backoff)):
		}
		ac, nc, err := c.connect(ctx)
		if err == nil {
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				_ = ac.Close()
				return nil, nil
			}
			return ac, nc
		}
		backoff = min(backoff*2, c.opt.MaxBackoff)
		c.log.Warn("cannot reconnect to RabbitMQ, retrying", "attempt", attempt, "err", c.scrub(err), "retry_in", backoff)
	}
}

// jitter spreads d by ±25 % so that many clients do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

// Channel opens a channel on the current connection, or returns ErrNotConnected while the
// connection is being replaced (ErrClosed after Close).
func (c *Conn) Channel() (*amqp.Channel, error) {
	c.mu.Lock()
	ac, closed := c.conn, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if ac == nil {
		return nil, ErrNotConnected
	}
	ch, err := ac.Channel()
	if err != nil {
		return nil, fmt.Errorf("broker: open channel: %w", c.scrub(err))
	}
	return ch, nil
}

// channel waits until connected (or ctx ends) and opens a channel; it also returns the
// connection's generation.
func (c *Conn) channel(ctx context.Context) (*amqp.Channel, uint64, error) {
	for {
		c.mu.Lock()
		ac, gen, up, closed := c.conn, c.gen, c.up, c.closed
		c.mu.Unlock()
		if closed {
			return nil, 0, ErrClosed
		}
		if ac != nil {
			ch, err := ac.Channel()
			if err == nil {
				return ch, gen, nil
			}
			if errors.Is(err, amqp.ErrChannelMax) {
				return nil, 0, fmt.Errorf("broker: open channel: %w", err)
			}
			// The connection is dropping (an I/O error may come before amqp091 marks it
			// closed): wait for the supervisor to notice and replace it.
			select {
			case <-ctx.Done():
				return nil, 0, context.Cause(ctx)
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("%w: %v", ErrNotConnected, context.Cause(ctx))
		case <-c.stop:
			return nil, 0, ErrClosed
		case <-up:
		}
	}
}

// generation is the number of the current connection (0 while none).
func (c *Conn) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return 0
	}
	return c.gen
}

// Connected reports whether a connection is up right now.
func (c *Conn) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil && !c.conn.IsClosed()
}

// NotifyReconnect returns a new channel that receives a value after every reconnection that
// happens from now on (coalesced: one pending value at most) and is closed when the Conn is
// closed. Call it once per owner and keep the channel: every call registers one more listener
// for the life of the Conn, and a reconnection between two calls reaches only the older channel.
func (c *Conn) NotifyReconnect() <-chan struct{} {
	l := make(chan struct{}, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		close(l)
		return l
	}
	c.listeners = append(c.listeners, l)
	return l
}

// Close closes the connection and stops reconnecting. Channels of the Conn are closed with it.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, l := range c.listeners {
		close(l)
	}
	c.listeners = nil
	close(c.stop)
	c.mu.Unlock()
	<-c.done
	c.mu.Lock()
	c.conn, c.netConn = nil, nil
	c.mu.Unlock()
	return nil
}

// dropForTest breaks the current connection as a network failure (hard: the socket is closed
// under the AMQP connection) or a client-side close (soft), so that tests can watch Conn
// reconnect. It returns false when there was no connection.
func (c *Conn) dropForTest(hard bool) bool {
	c.mu.Lock()
	ac, nc := c.conn, c.netConn
	c.mu.Unlock()
	if ac == nil {
		return false
	}
	if hard && nc != nil {
		_ = nc.Close()
	} else {
		_ = ac.Close()
	}
	return true
}

// Redact returns url with its password replaced by "xxxxx", for logs and errors. It works on
// malformed URLs too: everything between "user:" and the last "@" of the authority is hidden.
func Redact(url string) string {
	scheme, rest := splitScheme(url)
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	userinfo := rest[:at]
	colon := strings.IndexByte(userinfo, ':')
	if colon < 0 {
		return url // a user name alone
	}
	return scheme + userinfo[:colon] + ":xxxxx" + rest[at:]
}

// scrub makes sure an error's text cannot carry the password: the URL (in any quoting) and the
// password itself are replaced. errors.Is and errors.As still see the original.
func (c *Conn) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := strings.ReplaceAll(msg, c.url, c.redacted)
	clean = strings.ReplaceAll(clean, strconv.Quote(c.url), strconv.Quote(c.redacted))
	if pw := password(c.url); len(pw) >= 3 {
		clean = strings.ReplaceAll(clean, pw, "xxxxx")
	}
	if clean == msg {
		return err
	}
	return scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s scrubbed) Error() string { return s.msg }
func (s scrubbed) Unwrap() error { return s.err }

// password extracts the raw password part of url ("" when there is none).
func password(url string) string {
	_, rest := splitScheme(url)
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	userinfo := rest[:at]
	if colon := strings.IndexByte(userinfo, ':'); colon >= 0 {
		return userinfo[colon+1:]
	}
	return ""
}

// splitScheme splits url after its "scheme://" (scheme "" when there is none).
func splitScheme(url string) (scheme, rest string) {
	if i := strings.Index(url, "://"); i >= 0 {
		return url[:i+3], url[i+3:]
	}
	return "", url
}

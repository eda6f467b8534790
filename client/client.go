// Package client enqueues arqhost jobs and reads their results.
//
//	c, err := client.New(ctx, client.Config{
//		RabbitMQURL: "amqp://guest:guest@127.0.0.1:5672/",
//		RedisURL:    "redis://127.0.0.1:6379/0",
//	})
//	job, err := c.Enqueue(ctx, "send_email",
//		client.Args{"ann@example.com"},
//		client.Kwargs{"subject": "Welcome", "body": "Hello"},
//		client.Delay(10*time.Second))
//	res, err := job.Wait(ctx) // blocks until the job finished, without polling
//
// Messages are the original rabbitmq-arq library's (JSON body, x-retry-count header), published
// persistent with message_id = job id and content_type application/json, and Enqueue returns only
// once the broker has confirmed the message. Results live in Redis in the original library's
// layout. A Client is safe for concurrent use; it holds one broker connection with a pool of
// channels and one Redis client.
package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/store"
	"github.com/arqhost/arqhost/internal/wire"
)

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	// RabbitMQURL is the broker (amqp:// or amqps://). Default amqp://guest:guest@127.0.0.1:5672/.
	RabbitMQURL string
	// RedisURL is the result store: redis://, rediss://, redis-sentinel:// or redis-cluster://.
	// Empty means no result store: jobs can be enqueued, but not deduplicated, waited for,
	// queried or aborted.
	RedisURL string
	// KeyPrefix of the records in Redis. Default "rabbitmq_arq", the original library's.
	KeyPrefix string
	// ResultTTL is how long records live. Default 24h.
	ResultTTL time.Duration
	// Queue is the default queue. Default "default".
	Queue string
	// Quorum declares quorum queues (it must match the workers' setting).
	Quorum bool
	// Expiry is how long after it becomes due a job may still start. Default 24h, the original
	// library's; negative means never.
	Expiry time.Duration
	// Logger for connection events. Default slog.Default().
	Logger *slog.Logger
}

// Client enqueues jobs and reads results. Safe for concurrent use.
type Client struct {
	cfg   Config
	conn  *broker.Conn
	pub   *broker.Publisher
	store *store.Store

	mu       sync.Mutex
	declared map[string]bool // queues whose topology this client declared
}

// ErrNoResultStore is returned by calls that need Redis when the client has none.
var ErrNoResultStore = errors.New("no result store: set Config.RedisURL")

// New connects to RabbitMQ and, when configured, Redis. A service that cannot be reached is tried
// again, with backoff, until ctx ends (a refusal, such as wrong credentials, fails at once): give
// ctx a deadline.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.RabbitMQURL == "" {
		cfg.RabbitMQURL = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "rabbitmq_arq"
	}
	if cfg.ResultTTL == 0 {
		cfg.ResultTTL = 24 * time.Hour
	}
	if cfg.Queue == "" {
		cfg.Queue = "default"
	}
	if cfg.Expiry == 0 {
		cfg.Expiry = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, declared: make(map[string]bool)}
	if cfg.RedisURL != "" {
		s, err := store.Open(ctx, cfg.RedisURL, store.Options{Prefix: cfg.KeyPrefix, TTL: cfg.ResultTTL, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("result store: %w", err)
		}
		c.store = s
	}
	conn, err := broker.Dial(ctx, cfg.RabbitMQURL, broker.DialOptions{Name: "arqhost client", Logger: cfg.Logger})
	if err != nil {
		if c.store != nil {
			_ = c.store.Close()
		}
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	c.conn = conn
	c.pub = broker.NewPublisher(conn)
	c.pub.Lead = broker.DefaultLead // workers hold early jobs until their defer_until (host/job.go)
	return c, nil
}

// Close releases the connections. Jobs already enqueued are not affected.
func (c *Client) Close() error {
	c.pub.Close()
	err := c.conn.Close()
	if c.store != nil {
		err = errors.Join(err, c.store.Close())
	}
	return err
}

// An Option shapes one enqueued job: Args, Kwargs, Queue, Delay, At, ID, Expires, NoExpiry.
type Option interface{ apply(*request) error }

// Args are a job's positional arguments, encoded as JSON.
type Args []any

// Kwargs are a job's keyword arguments, encoded as JSON.
type Kwargs map[string]any

// ArgsJSON gives the positional arguments as an encoded JSON array.
type ArgsJSON json.RawMessage

// KwargsJSON gives the keyword arguments as an encoded JSON object.
type KwargsJSON json.RawMessage

type optionFunc func(*request) error

func (f optionFunc) apply(r *request) error { return f(r) }

// Queue sends the job to the named queue instead of the client's default.
func Queue(name string) Option {
	return optionFunc(func(r *request) error { r.queue = name; return nil })
}

// Delay makes the job due after d.
func Delay(d time.Duration) Option {
	return optionFunc(func(r *request) error { r.at = r.now.Add(d); return nil })
}

// At makes the job due at t.
func At(t time.Time) Option {
	return optionFunc(func(r *request) error { r.at = t; return nil })
}

// ID gives the job a caller-chosen id. Enqueuing an id whose job is queued, running, retrying, or
// finished and not yet expired returns that job (Job.Existing is true) instead of running it
// twice. Needs a result store.
func ID(id string) Option {
	return optionFunc(func(r *request) error {
		if id == "" {
			return errors.New("empty job id")
		}
		r.id, r.customID = id, true
		return nil
	})
}

// Expires sets how long after it becomes due the job may still start; a job not started by then
// is not run (and is recorded as expired).
func Expires(d time.Duration) Option {
	return optionFunc(func(r *request) error { r.expiry = d; return nil })
}

// NoExpiry lets the job start however late.
func NoExpiry() Option {
	return optionFunc(func(r *request) error { r.expiry = -1; return nil })
}

func (a Args) apply(r *request) error {
	if a == nil {
		a = Args{} // no arguments: [], not null
	}
	b, err := json.Marshal([]any(a))
	if err != nil {
		return fmt.Errorf("args: %w", err)
	}
	r.args = b
	return nil
}

func (k Kwargs) apply(r *request) error {
	if k == nil {
		k = Kwargs{} // no keyword arguments: {}, not null
	}
	b, err := json.Marshal(map[string]any(k))
	if err != nil {
		return fmt.Errorf("kwargs: %w", err)
	}
	r.kwargs = b
	return nil
}

func (a ArgsJSON) apply(r *request) error {
	var v []json.RawMessage
	if err := json.Unmarshal(a, &v); err != nil {
		return fmt.Errorf("args must be a JSON array: %w", err)
	}
	r.args = json.RawMessage(a)
	return nil
}

func (k KwargsJSON) apply(r *request) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(k, &v); err != nil || v == nil {
		return fmt.Errorf("kwargs must be a JSON object: %v", err)
	}
	r.kwargs = json.RawMessage(k)
	return nil
}

// request is one job being built from options.
type request struct {
	now      time.Time
	task     string
	queue    string
	id       string
	customID bool
	args     json.RawMessage
	kwargs   json.RawMessage
	at       time.Time
	expiry   time.Duration
}

func (c *Client) newRequest(task string, opts []Option) (*request, error) {
	if task == "" {
		return nil, errors.New("empty task name")
	}
	r := &request{now: time.Now(), task: task, queue: c.cfg.Queue, expiry: c.cfg.Expiry}
	for _, o := range opts {
		if err := o.apply(r); err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", task, err)
		}
	}
	if r.customID && c.store == nil {
		return nil, fmt.Errorf("enqueue %s: a caller-chosen job id needs a result store to be deduplicated: %w", task, ErrNoResultStore)
	}
	if r.id == "" {
		r.id = newID()
	}
	return r, nil
}

func (r *request) job() *wire.Job {
	j := &wire.Job{ID: r.id, Function: r.task, Args: r.args, Kwargs: r.kwargs, Try: 1, EnqueueTime: r.now, Queue: r.queue}
	due := r.now
	if r.at.After(r.now) {
		j.DeferUntil, due = r.at, r.at
	}
	if r.expiry > 0 {
		j.Expires = due.Add(r.expiry)
	}
	return j
}

func (r *request) delay() time.Duration {
	if d := r.at.Sub(time.Now()); d > 0 {
		return d
	}
	return 0
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // a version-4 UUID, written as 32 hex digits like uuid4().hex
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// queued is the record of a job just enqueued.
func queued(j *wire.Job) *store.Record {
	rec := &store.Record{JobID: j.ID, Status: store.StatusQueued, QueueName: j.Queue, FunctionName: j.Function,
		Args: j.Args, Kwargs: j.Kwargs, CreatedAt: j.EnqueueTime, JobTry: 1}
	if !j.Expires.IsZero() {
		e := j.Expires
		rec.ExpiresAt = &e
	}
	return rec
}

// declare makes sure the queue's topology (main queue, DLQ, delay levels) exists.
func (c *Client) declare(queue string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.declared[queue] {
		return nil
	}
	ch, err := c.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if _, err := broker.Declare(ch, queue, broker.QueueOptions{Quorum: c.cfg.Quorum}); err != nil {
		return fmt.Errorf("declare queue %q: %w", queue, err)
	}
	c.declared[queue] = true
	return nil
}

// Enqueue sends one job and returns once the broker confirmed it. With a result store, the job's
// record reads "queued" before the message is published, so a fast worker's result can never be
// overwritten by it.
func (c *Client) Enqueue(ctx context.Context, task string, opts ...Option) (*Job, error) {
	r, err := c.newRequest(task, opts)
	if err != nil {
		return nil, err
	}
	if err := c.declare(r.queue); err != nil {
		return nil, err
	}
	j := r.job()
	if c.store != nil {
		rec := queued(j)
		if r.customID {
			existing, reserved, err := c.store.Reserve(ctx, rec)
			if err != nil {
				return nil, fmt.Errorf("enqueue %s: %w", task, err)
			}
			if !reserved {
				return c.existing(existing), nil
			}
		} else if _, err := c.store.Write(ctx, rec); err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", task, err)
		}
	}
	if err := c.pub.Publish(ctx, r.queue, r.delay(), broker.JobPublishing(j, nil)); err != nil {
		if c.store != nil && refused(err) {
			// The broker surely does not have the message: free the id for another attempt.
			_ = c.store.Delete(context.WithoutCancel(ctx), j.ID)
		}
		return nil, fmt.Errorf("enqueue %s: %w", task, err)
	}
	return c.handle(j), nil
}

// Request is one job of a batch.
type Request struct {
	Task    string
	Options []Option
}

// EnqueueBatch sends many jobs, pipelining the broker's confirmations and the records' writes
// (records are written 250 at a time, ahead of the publishing; a job is never published before its
// queued record is stored). It returns the jobs in the order of reqs,
// and they reach the queue in that order; a job whose id was already known is returned with
// Existing set and not sent again. On error, some jobs may have been sent: the error says which
// failed, and their places in the returned slice are nil.
func (c *Client) EnqueueBatch(ctx context.Context, reqs []Request) ([]*Job, error) {
	jobs := make([]*Job, len(reqs))
	var fresh []*wire.Job
	var delays []time.Duration
	var idx []int
	var recs []*store.Record
	for i, q := range reqs {
		r, err := c.newRequest(q.Task, q.Options)
		if err != nil {
			return nil, fmt.Errorf("batch item %d: %w", i, err)
		}
		if err := c.declare(r.queue); err != nil {
			return nil, err
		}
		j := r.job()
		if r.customID {
			existing, reserved, err := c.store.Reserve(ctx, queued(j))
			if err != nil {
				return nil, fmt.Errorf("batch item %d: %w", i, err)
			}
			if !reserved {
				jobs[i] = c.existing(existing)
				continue
			}
			recs = append(recs, nil)
		} else if c.store != nil {
			recs = append(recs, queued(j))
		} else {
			recs = append(recs, nil)
		}
		fresh, delays, idx = append(fresh, j), append(delays, r.delay()), append(idx, i)
	}
	return c.sendBatch(ctx, reqs, jobs, fresh, delays, idx, recs)
}

// batchChunk is how many queued records of a batch are written at a time: the records of the
// next chunk are written while the jobs of the previous ones are being published.
const batchChunk = 250

// errNoRecord marks the jobs of a batch that were not published because their queued records
// could not be stored.
var errNoRecord = errors.New("cannot store its queued record")

// sendBatch writes the queued records (recs[k] for fresh[k], nil when already reserved) and
// publishes the fresh jobs in one pipelined PublishBatch. No job is published before its record
// is stored: each item waits (Item.Ready) for its chunk's records, which a goroutine writes a
// chunk at a time ahead of the publishing. It fills jobs[idx[k]] for each job sent and returns an
// error naming the ones that were not.
func (c *Client) sendBatch(ctx context.Context, reqs []Request, jobs []*Job, fresh []*wire.Job, delays []time.Duration, idx []int, recs []*store.Record) ([]*Job, error) {
	type chunk struct {
		err  error // writing the records
		done chan struct{}
	}
	var chunks []*chunk
	if c.store != nil {
		for lo := 0; lo < len(fresh); lo += batchChunk {
			chunks = append(chunks, &chunk{done: make(chan struct{})})
		}
		go func() {
			var failed error
			for n, ch := range chunks {
				if failed == nil && ctx.Err() == nil {
					var rs []*store.Record
					for _, r := range recs[n*batchChunk : min((n+1)*batchChunk, len(fresh))] {
						if r != nil {
							rs = append(rs, r)
						}
					}
					if len(rs) > 0 {
						if _, err := c.store.WriteMany(ctx, rs); err != nil {
							failed = err
						}
					}
				}
				if failed == nil && ctx.Err() != nil {
					failed = ctx.Err()
				}
				if failed != nil { // this chunk and the later ones are not published
					ch.err = fmt.Errorf("%w: %w", errNoRecord, failed)
				}
				close(ch.done)
			}
		}()
	}
	items := make([]broker.Item, len(fresh))
	for k, j := range fresh {
		items[k] = broker.Item{Queue: j.Queue, Delay: delays[k], Msg: broker.JobPublishing(j, nil)}
		if chunks != nil {
			ch := chunks[k/batchChunk]
			items[k].Ready = func() error {
				<-ch.done
				return ch.err
			}
		}
		jobs[idx[k]] = c.handle(j)
	}
	err := c.pub.PublishBatch(ctx, items)
	for _, ch := range chunks { // the writer is done before the ids are freed below
		<-ch.done
	}
	if err == nil {
		return jobs, nil
	}
	var be *broker.BatchError
	if !errors.As(err, &be) {
		return jobs, fmt.Errorf("enqueue batch: %w", err)
	}
	// Report the failed items by their place in reqs, and free the ids of those surely not sent.
	failed := make([]string, 0, 3)
	for _, f := range be.Failed {
		i := idx[f.Index]
		if len(failed) < 3 {
			failed = append(failed, fmt.Sprintf("item %d (%s): %v", i, reqs[i].Task, f.Err))
		}
		if c.store != nil && (refused(f.Err) || errors.Is(f.Err, errNoRecord)) {
			_ = c.store.Delete(context.WithoutCancel(ctx), fresh[f.Index].ID)
		}
		jobs[i] = nil
	}
	return jobs, fmt.Errorf("enqueue batch: %d of %d jobs not enqueued: %s", len(be.Failed), len(reqs), strings.Join(failed, "; "))
}

// refused reports whether a publish error means the broker certainly did not take the message
// (as opposed to a timeout, after which it may have).
func refused(err error) bool {
	return errors.Is(err, broker.ErrNacked) || errors.Is(err, broker.ErrUnroutable) || errors.Is(err, broker.ErrNotDeclared)
}

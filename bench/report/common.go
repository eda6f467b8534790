package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/wire"
)

// resultTTL is the TTL of every result the benchmark writes, arqhost's or the ceiling's.
const resultTTL = 60 * time.Second

// env is what every scenario shares: the options, a broker connection for set-up and clean-up,
// a Redis client, and a scratch directory (module copies, the compilation cache, worker logs).
type env struct {
	opts     options
	conn     *amqp.Connection
	rdb      *redis.Client
	tmp      string
	cacheDir string // wazero's compilation cache, shared by the runs so that only the first compiles
	quiet    *slog.Logger
	profiles int        // drains profiled so far (profile.go)
	lastCPU  [3]float64 // CPU us per job of the last timed ceiling or drain (cpu.go)
}

func newEnv(ctx context.Context, o options) (*env, error) {
	conn, err := amqp.Dial(o.amqpURL)
	if err != nil {
		return nil, fmt.Errorf("RabbitMQ at %s: %w (is it running? `make services`)", broker.Redact(o.amqpURL), err)
	}
	ropt, err := redis.ParseURL(o.redisURL)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	rdb := redis.NewClient(ropt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("redis at %s: %w (is it running? `make services`)", broker.Redact(o.redisURL), err)
	}
	for _, p := range []string{filepath.Join(o.examples, "email.wasm"), filepath.Join(o.examples, "rust_email.wasm")} {
		if _, err := os.Stat(p); err != nil {
			conn.Close()
			rdb.Close()
			return nil, fmt.Errorf("%w: run `make modules` first (or set -examples)", err)
		}
	}
	tmp, err := os.MkdirTemp("", "arqbench-report-")
	if err != nil {
		conn.Close()
		rdb.Close()
		return nil, err
	}
	return &env{
		opts: o, conn: conn, rdb: rdb, tmp: tmp, cacheDir: filepath.Join(tmp, "cache"),
		quiet: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, nil
}

func (e *env) close() {
	_ = e.conn.Close()
	_ = e.rdb.Close()
	_ = os.RemoveAll(e.tmp)
}

// names returns a queue name and a Redis key prefix no other run uses.
func names(scenario string) (queue, prefix string) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return "arqbench." + scenario + "." + id, "arqbench:" + scenario + ":" + id
}

// cleanup removes an arqhost queue's whole topology (main queue, DLQ, delay levels) and every
// Redis key under prefix. A queue that was never declared is skipped.
func (e *env) cleanup(queue, prefix string) {
	if queue != "" {
		if ch, err := e.conn.Channel(); err == nil {
			_ = broker.DeleteAll(ch, queue, broker.QueueOptions{})
			_ = ch.Close()
		}
	}
	if prefix != "" {
		e.deleteKeys(prefix)
	}
}

// deletePlainQueue removes a queue declared with plain amqp091.
func (e *env) deletePlainQueue(queue string) {
	if ch, err := e.conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(queue, false, false, false)
		_ = ch.Close()
	}
}

// deleteKeys unlinks every key under prefix (SCAN, never KEYS).
func (e *env) deleteKeys(prefix string) {
	ctx := context.Background()
	iter := e.rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			_ = e.rdb.Unlink(ctx, batch...).Err()
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		_ = e.rdb.Unlink(ctx, batch...).Err()
	}
}

// moduleDir returns a new directory holding a copy of the given module files, so that a worker
// loads exactly those.
func (e *env) moduleDir(paths ...string) (string, error) {
	dir, err := os.MkdirTemp(e.tmp, "modules-")
	if err != nil {
		return "", err
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("%w: run `make modules` first", err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// newClient is an arqhost client on queue with results under prefix (no result store when
// withStore is false).
func (e *env) newClient(ctx context.Context, queue, prefix string, withStore bool) (*client.Client, error) {
	cfg := client.Config{RabbitMQURL: e.opts.amqpURL, KeyPrefix: prefix, ResultTTL: resultTTL, Queue: queue, Logger: e.quiet}
	if withStore {
		cfg.RedisURL = e.opts.redisURL
	}
	return client.New(ctx, cfg)
}

// enqueueAll enqueues n jobs of task with the given options, in batches of 1000, and returns
// their ids.
func enqueueAll(ctx context.Context, c *client.Client, n int, task string, opts ...client.Option) ([]string, error) {
	ids := make([]string, 0, n)
	for len(ids) < n {
		reqs := make([]client.Request, min(1000, n-len(ids)))
		for i := range reqs {
			reqs[i] = client.Request{Task: task, Options: opts}
		}
		jobs, err := c.EnqueueBatch(ctx, reqs)
		if err != nil {
			return ids, err
		}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
	}
	return ids, nil
}

// verifyCompleted checks that every job's record reads "completed", waiting up to a few seconds
// for the last records to be written.
func verifyCompleted(ctx context.Context, c *client.Client, ids []string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		var notDone, failed int
		var example string
		for i := 0; i < len(ids); i += 1000 {
			recs, err := c.Results(ctx, ids[i:min(i+1000, len(ids))])
			if err != nil {
				return err
			}
			for k, r := range recs {
				switch {
				case r == nil:
					notDone++
					example = ids[i+k] + ": no record"
				case r.Status == client.StatusCompleted:
				case r.Status.Terminal():
					failed++
					example = fmt.Sprintf("%s: %s %s %s", r.JobID, r.Status, r.ErrorType, r.ErrorMessage)
				default:
					notDone++
					example = fmt.Sprintf("%s: %s", r.JobID, r.Status)
				}
			}
		}
		switch {
		case failed > 0:
			return fmt.Errorf("%d of %d jobs did not complete (%s)", failed, len(ids), example)
		case notDone == 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%d of %d jobs unfinished (%s)", notDone, len(ids), example)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// jobBody is the body arqhost's client publishes for a job of task with no arguments: the
// ceiling and the plain publisher send these same bytes.
func jobBody(queue, task string) []byte {
	now := time.Now()
	j := &wire.Job{ID: wire.NewID(), Function: task, Try: 1, EnqueueTime: now, Queue: queue, Expires: now.Add(wire.DefaultExpiry)}
	return j.Body()
}

// declarePlain declares a classic durable queue without arguments, as arqhost's main queue is.
func (e *env) declarePlain(queue string) error {
	ch, err := e.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	_, err = ch.QueueDeclare(queue, true, false, false, false, nil)
	return err
}

// publishConfirmed publishes bodies persistent to queue on a new channel in confirm mode, keeping
// at most window messages unconfirmed (window 1: each publish waits for its confirmation). With
// arqMsg, each message also carries what arqhost's client sends besides the body (message id,
// timestamp, the x-retry-count header, the mandatory flag; broker.JobPublishing), so that the
// difference to the client is the client's own work.
func (e *env) publishConfirmed(ctx context.Context, queue string, bodies [][]byte, window int, arqMsg bool) error {
	ch, err := e.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return err
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, window+1))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	outstanding, nacked := 0, 0
	wait := func() error {
		select {
		case c, ok := <-confirms:
			if !ok {
				return errors.New("channel closed while waiting for confirmations")
			}
			if !c.Ack {
				nacked++
			}
			outstanding--
			return nil
		case err := <-closed:
			return fmt.Errorf("channel closed: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, b := range bodies {
		for outstanding >= window {
			if err := wait(); err != nil {
				return err
			}
		}
		msg := amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: b}
		if arqMsg {
			msg.MessageId, msg.Timestamp = wire.NewID(), time.Now()
			msg.Headers = amqp.Table{wire.HeaderRetryCount: int64(0)}
		}
		if err := ch.PublishWithContext(ctx, "", queue, arqMsg, false, msg); err != nil {
			return err
		}
		outstanding++
	}
	for outstanding > 0 {
		if err := wait(); err != nil {
			return err
		}
	}
	if nacked > 0 {
		return fmt.Errorf("%d messages nacked by the broker", nacked)
	}
	return nil
}

// median of xs (0 for none); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile returns the p-th percentile (0-100, nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// medianDuration of ds; ds is not modified.
func medianDuration(ds []time.Duration) time.Duration {
	f := make([]float64, len(ds))
	for i, d := range ds {
		f[i] = float64(d)
	}
	return time.Duration(median(f))
}

// drainTimeout is how long a drain of n jobs may take before the benchmark gives up on it.
func drainTimeout(n int) time.Duration {
	return time.Minute + time.Duration(n)*5*time.Millisecond
}

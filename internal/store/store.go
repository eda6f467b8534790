package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults applied to zero Options fields; both are the Python library's.
const (
	DefaultPrefix = "rabbitmq_arq"
	DefaultTTL    = 86400 * time.Second
)

// Errors returned by the Store.
var (
	// ErrNotFound is returned (wrapped) by Get when no record exists for the id.
	ErrNotFound = errors.New("store: job record not found")
	// ErrClosed is returned by calls made after Close, and by Wait when Close interrupts it.
	ErrClosed = errors.New("store: closed")
)

// Options configures a Store. The zero value gives the Python library's layout: prefix
// "rabbitmq_arq" and a TTL of 86400 s.
type Options struct {
	// Prefix starts every key and channel name: {prefix}:result:{id}, {prefix}:status:{id},
	// {prefix}:abort:{id}, {prefix}:events:done, {prefix}:events:abort. Default DefaultPrefix.
	Prefix string
	// TTL is how long records and abort flags live; every applied write restarts it. Default
	// DefaultTTL.
	// It must be at least a millisecond.
	TTL time.Duration
	// TLSConfig, if set, replaces the default TLS configuration of a rediss:// URL (for a private
	// CA or client certificates). It is an error to set it with a non-TLS URL.
	TLSConfig *tls.Config
	// Logger receives Open's "cannot reach Redis, retrying" warnings. Default slog.Default().
	Logger *slog.Logger
}

// Store is the job result store: records in Redis under the Python library's key layout, with
// forward-only status updates, deduplicating reservations, waiting for completion through one
// shared Pub/Sub subscription, and abort flags. A Store is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	mode   Mode
	db     int
	url    string // redacted
	prefix string
	ttl    time.Duration

	// key and channel names that do not depend on a job id
	doneChannel  string
	abortChannel string

	hub   *waitHub
	batch *batcher // group commit of Write and Begin (batch.go)
	split bool     // write a job's two keys with single-key scripts (Redis Cluster)

	mu        sync.Mutex
	closed    bool
	abortSubs map[*abortSub]struct{}
}

// Open connects to the Redis named by url (see ParseURL for the accepted forms: redis://,
// rediss://, redis-sentinel://, redis-cluster://), PINGs it and loads the store's Lua scripts.
// A Redis that cannot be reached (or is still loading its data) is tried again, with backoff,
// until ctx ends, so that a worker started before Redis waits for it; a refusal (a wrong
// password, say) fails at once. Errors name the server through Redact, so they never contain a
// password.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	uopt, mode, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	redacted := Redact(url)
	prefix := opt.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	ttl := opt.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < time.Millisecond:
		return nil, fmt.Errorf("store: TTL %v is below one millisecond", ttl)
	}
	if opt.TLSConfig != nil {
		if uopt.TLSConfig == nil {
			return nil, fmt.Errorf("store: a TLS configuration was given but %s does not use TLS (rediss://)", redacted)
		}
		uopt.TLSConfig = opt.TLSConfig.Clone()
	}
	secrets := []string{uopt.Password, uopt.SentinelPassword}
	// Let contexts' deadlines bound network reads and writes, not only the wait for a connection.
	uopt.ContextTimeoutEnabled = true

	client := redis.NewUniversalClient(uopt)
	if err := waitForRedis(ctx, client, redacted, secrets, opt.Logger); err != nil {
		_ = client.Close()
		return nil, err
	}
	for _, sc := range allScripts {
		if err := sc.Load(ctx, client).Err(); err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("store: loading scripts into Redis at %s: %w", redacted, scrub(err, secrets))
		}
	}
	s := &Store{
		client:       client,
		mode:         mode,
		db:           uopt.DB,
		url:          redacted,
		prefix:       prefix,
		ttl:          ttl,
		doneChannel:  prefix + ":events:done",
		abortChannel: prefix + ":events:abort",
		abortSubs:    make(map[*abortSub]struct{}),
	}
	s.split = mode == ModeCluster
	s.hub = newWaitHub(s)
	s.batch = newBatcher(s)
	return s, nil
}

// scrubbedError hides secrets in the text of an error while keeping it unwrappable.
type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, redactedSecret)
		}
	}
	return msg
}

func (e *scrubbedError) Unwrap() error { return e.err }

// scrub wraps err so that its message cannot reveal any of secrets (defence in depth: go-redis
// does not put passwords in its errors today).
func scrub(err error, secrets []string) error {
	return &scrubbedError{err: err, secrets: secrets}
}

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// TTL returns the lifetime given to records, status keys and abort flags.
func (s *Store) TTL() time.Duration { return s.ttl }

// Mode returns the kind of deployment the Store is connected to.
func (s *Store) Mode() Mode { return s.mode }

// URL returns the URL the Store was opened with, password hidden (see Redact).
func (s *Store) URL() string { return s.url }

// Client returns the underlying go-redis client (for tests and diagnostics). Writing the store's
// keys through it bypasses the forward-only rule.
func (s *Store) Client() redis.UniversalClient { return s.client }

// ResultKey returns the key of a job's JSON record: {prefix}:result:{id}.
func (s *Store) ResultKey(id string) string { return s.prefix + ":result:" + id }

// StatusKey returns the key of a job's bare status string: {prefix}:status:{id}.
func (s *Store) StatusKey(id string) string { return s.prefix + ":status:" + id }

// AbortKey returns the key of a job's abort flag: {prefix}:abort:{id}.
func (s *Store) AbortKey(id string) string { return s.prefix + ":abort:" + id }

// DoneChannel returns the Pub/Sub channel on which the ids of jobs reaching a terminal status
// are published: {prefix}:events:done.
func (s *Store) DoneChannel() string { return s.doneChannel }

// AbortChannel returns the Pub/Sub channel on which Abort publishes job ids:
// {prefix}:events:abort.
func (s *Store) AbortChannel() string { return s.abortChannel }

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the shared completion subscription (Wait calls in progress return ErrClosed), stops
// the abort subscriptions, and closes the Redis client. Calling it again returns ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	subs := make([]*abortSub, 0, len(s.abortSubs))
	for a := range s.abortSubs {
		subs = append(subs, a)
	}
	s.mu.Unlock()

	s.batch.close()
	s.hub.close()
	for _, a := range subs {
		a.stop()
	}
	return s.client.Close()
}

// prepared is a record ready for writeResultScript.
type prepared struct {
	id     string
	status Status
	data   []byte
	try    int
}

// prepare validates rec and encodes a normalised copy of it (rec itself is not modified):
// JobTry 0 is derived from RetryCount, RetryCount is set to JobTry-1, a zero CreatedAt becomes
// now, and a nil ExpiresAt becomes now+TTL.
func (s *Store) prepare(rec *Record, now time.Time) (prepared, error) {
	if rec == nil {
		return prepared{}, errors.New("store: nil record")
	}
	if rec.JobID == "" {
		return prepared{}, errors.New("store: record without a job id")
	}
	if !rec.Status.Valid() {
		return prepared{}, fmt.Errorf("store: job %q: unknown status %q", rec.JobID, rec.Status)
	}
	r := *rec
	if r.JobTry <= 0 {
		r.JobTry = r.RetryCount + 1
	}
	if r.JobTry < 1 {
		r.JobTry = 1
	}
	r.RetryCount = r.JobTry - 1
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.ExpiresAt == nil {
		e := now.Add(s.ttl)
		r.ExpiresAt = &e
	}
	data, err := r.MarshalJSON()
	if err != nil {
		return prepared{}, fmt.Errorf("store: job %q: %w", r.JobID, err)
	}
	return prepared{id: r.JobID, status: r.Status, data: data, try: r.JobTry}, nil
}

func (s *Store) ttlMillis() int64 { return max(s.ttl.Milliseconds(), 1) }

// Write stores rec if it moves the job forward and reports whether it did.
//
// The record is applied iff nothing is stored for the job or rec's (job_try, rank(status)) is
// greater than the stored one's, rank being queued < in_progress < retrying < terminal (completed,
// failed, aborted); a terminal record is never replaced (only Delete removes it). So a late
// "queued" never overwrites "completed", a late "retrying" of try 1 never overwrites
// "in_progress" of try 2, and writing the same status for the same try twice applies only the
// first.
//
// When rec is applied, the status key is set too (never replacing a terminal status by a
// non-terminal one) and, if rec's status is terminal, the job id is published on DoneChannel. On
// one server this is one Lua script over both keys. On Redis Cluster, where the two keys live in
// different hash slots, two single-key scripts run in turn; the result record is the source of
// truth, and once it is stored the status step runs even if ctx ends (for at most 5 s), so that
// waiters are not left without the announcement; if that step fails, Write returns true and the
// error.
//
// Concurrent calls share round trips: Write and Begin queue their scripts and one of a few
// goroutines sends whatever is queued as one pipeline (batch.go), so many jobs' records cost one
// round trip, not one each.
//
// Both keys get the store's TTL. rec is not modified; what is stored is a normalised copy: a zero
// JobTry becomes RetryCount+1 (at least 1), RetryCount becomes JobTry-1, a zero CreatedAt becomes
// now and a nil ExpiresAt now+TTL.
func (s *Store) Write(ctx context.Context, rec *Record) (applied bool, err error) {
	if s.isClosed() {
		return false, ErrClosed
	}
	p, err := s.prepare(rec, time.Now())
	if err != nil {
		return false, err
	}
	op := &batchOp{kind: opWrite, prep: p}
	if err := s.batch.do(ctx, op); err != nil {
		return false, err
	}
	return op.applied, op.err
}

// WriteMany is Write for many records, sent as one pipeline (two on Redis Cluster, where the
// status step must wait for the result step's answers), however many records there are. A
// NOSCRIPT reply (script cache flushed) makes it load the scripts and retry those calls once.
//
// The i-th result tells whether recs[i] was applied. Records are applied in order, so when the
// same job appears twice the later record is compared with the earlier one. If any record is
// invalid nothing is written; on a Redis error, the results still report what is known to have
// been applied, with the first error.
func (s *Store) WriteMany(ctx context.Context, recs []*Record) ([]bool, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	if len(recs) == 0 {
		return []bool{}, nil
	}
	now := time.Now()
	ops := make([]*batchOp, len(recs))
	for i, rec := range recs {
		p, err := s.prepare(rec, now)
		if err != nil {
			return nil, err
		}
		ops[i] = &batchOp{kind: opWrite, prep: p}
	}
	s.exec(ctx, ops)
	applied := make([]bool, len(recs))
	var firstErr error
	for i, op := range ops {
		applied[i] = op.applied
		if op.err != nil && firstErr == nil {
			firstErr = op.err
		}
	}
	return applied, firstErr
}

// writeCall is the writeScript call of a prepared record (one server).
func (s *Store) writeCall(p prepared) scriptCall {
	channel := ""
	if p.status.Terminal() {
		channel = s.doneChannel
	}
	return scriptCall{
		sc:   writeScript,
		keys: []string{s.ResultKey(p.id), s.StatusKey(p.id)},
		args: []any{p.data, p.try, p.status.rank(), s.ttlMillis(), string(p.status), channel, p.id},
	}
}

// writeSplit writes prepared records the Redis Cluster way: one pipeline of writeResultScript
// calls, then one of writeStatusScript calls for the records applied. It sets each op's applied
// and err.
func (s *Store) writeSplit(ctx context.Context, ops []*batchOp) {
	ttl := s.ttlMillis()
	calls := make([]scriptCall, len(ops))
	for i, op := range ops {
		calls[i] = scriptCall{
			keys: []string{s.ResultKey(op.prep.id)},
			args: []any{op.prep.data, op.prep.try, op.prep.status.rank(), ttl},
		}
	}
	cmds := s.evalBatch(ctx, writeResultScript, calls)
	var statusCalls []scriptCall
	var statusOps []*batchOp
	for i, cmd := range cmds {
		op := ops[i]
		n, err := cmd.Int()
		if err != nil {
			op.err = fmt.Errorf("store: writing job %q: %w", op.prep.id, err)
			continue
		}
		if n != 1 {
			continue
		}
		op.applied = true
		channel := ""
		if op.prep.status.Terminal() {
			channel = s.doneChannel
		}
		statusOps = append(statusOps, op)
		statusCalls = append(statusCalls, scriptCall{
			keys: []string{s.StatusKey(op.prep.id)},
			args: []any{string(op.prep.status), ttl, channel, op.prep.id},
		})
	}
	if len(statusCalls) > 0 {
		// The records are stored: finish the status step (and the announcements waiters rely on)
		// even if ctx was cancelled meanwhile, within a bounded time.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusStepTimeout)
		defer cancel()
		for i, cmd := range s.evalBatch(sctx, writeStatusScript, statusCalls) {
			if err := cmd.Err(); err != nil {
				statusOps[i].err = fmt.Errorf("store: writing status of job %q: %w", statusOps[i].prep.id, err)
			}
		}
	}
}

// statusStepTimeout bounds the status step of Write, WriteMany and Reserve, which runs even when
// the caller's context ends after the result record was stored.
const statusStepTimeout = 5 * time.Second

// scriptCall is one EVALSHA of a pipeline.
type scriptCall struct {
	sc   *redis.Script // nil: the script given to evalBatch
	keys []string
	args []any
}

// evalBatch runs the calls (each with its own script, or sc) in one pipeline. Calls answered
// NOSCRIPT (the server's script cache was flushed, or a node was added) are retried once in a
// second pipeline after loading their scripts. Each returned command carries its own result or
// error.
func (s *Store) evalBatch(ctx context.Context, sc *redis.Script, calls []scriptCall) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	script := func(i int) *redis.Script {
		if calls[i].sc != nil {
			return calls[i].sc
		}
		return sc
	}
	run := func(idx []int) {
		pipe := s.client.Pipeline()
		for _, i := range idx {
			cmds[i] = script(i).EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // errors are read from each command
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	run(all)
	var retry []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		loaded := map[*redis.Script]bool{}
		for _, i := range retry {
			if sc := script(i); !loaded[sc] {
				if err := sc.Load(ctx, s.client).Err(); err != nil {
					return cmds // the NOSCRIPT errors stand
				}
				loaded[sc] = true
			}
		}
		run(retry)
	}
	return cmds
}

// Reserve stores rec (which must have status queued, or none: it is then set to queued) only if
// no record exists for its job id, atomically, and sets the status key. It is how caller-chosen
// job ids are deduplicated: if a record exists (queued, in progress, retrying, or finished and not
// yet expired) Reserve stores nothing and returns that record with reserved false, and the caller
// must not enqueue the job again. rec is normalised like in Write and not modified. The record
// lives for the store's TTL: a job deferred for longer than that loses its reservation.
func (s *Store) Reserve(ctx context.Context, rec *Record) (existing *Record, reserved bool, err error) {
	if s.isClosed() {
		return nil, false, ErrClosed
	}
	if rec == nil {
		return nil, false, errors.New("store: nil record")
	}
	r := *rec
	if r.Status == "" {
		r.Status = StatusQueued
	}
	if r.Status != StatusQueued {
		return nil, false, fmt.Errorf("store: job %q: Reserve needs status queued, not %q", r.JobID, r.Status)
	}
	p, err := s.prepare(&r, time.Now())
	if err != nil {
		return nil, false, err
	}
	ttl := s.ttlMillis()
	cmds := s.evalBatch(ctx, reserveScript, []scriptCall{{
		keys: []string{s.ResultKey(p.id)},
		args: []any{p.data, ttl},
	}})
	reply, err := cmds[0].Slice()
	if err != nil {
		return nil, false, fmt.Errorf("store: reserving job %q: %w", p.id, err)
	}
	if len(reply) == 0 {
		return nil, false, fmt.Errorf("store: reserving job %q: empty script reply", p.id)
	}
	if flag, _ := reply[0].(int64); flag == 1 {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusStepTimeout)
		defer cancel()
		sc := s.evalBatch(sctx, writeStatusScript, []scriptCall{{
			keys: []string{s.StatusKey(p.id)},
			args: []any{string(StatusQueued), ttl, "", p.id},
		}})
		if err := sc[0].Err(); err != nil {
			return nil, true, fmt.Errorf("store: writing status of job %q: %w", p.id, err)
		}
		return nil, true, nil
	}
	if len(reply) < 2 {
		return nil, false, fmt.Errorf("store: reserving job %q: malformed script reply", p.id)
	}
	data, _ := reply[1].(string)
	var cur Record
	if err := cur.UnmarshalJSON([]byte(data)); err != nil {
		return nil, false, fmt.Errorf("store: job %q: stored record: %w", p.id, err)
	}
	return &cur, false, nil
}

// Get returns the record of a job, or an error wrapping ErrNotFound if there is none (never
// written, deleted, or expired).
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	data, err := s.client.Get(ctx, s.ResultKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: job %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading job %q: %w", id, err)
	}
	var rec Record
	if err := rec.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("store: job %q: %w", id, err)
	}
	return &rec, nil
}

// Lookup returns a job's record (nil when it has none) and whether the job was aborted, in one
// round trip: what a worker needs to know before it runs a job.
func (s *Store) Lookup(ctx context.Context, id string) (rec *Record, aborted bool, err error) {
	if s.isClosed() {
		return nil, false, ErrClosed
	}
	pipe := s.client.Pipeline()
	get := pipe.Get(ctx, s.ResultKey(id))
	ab := pipe.Exists(ctx, s.AbortKey(id))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, fmt.Errorf("store: reading job %q: %w", id, err)
	}
	if data, err := get.Bytes(); err == nil {
		rec = new(Record)
		if err := rec.UnmarshalJSON(data); err != nil {
			return nil, false, fmt.Errorf("store: job %q: %w", id, err)
		}
	}
	return rec, ab.Val() > 0, nil
}

// GetMany returns the records of ids, in the same order, with nil for the ids that have none. It
// takes one round trip: a pipeline of GETs (not MGET, whose keys would have to share a hash slot
// on Redis Cluster).
func (s *Store) GetMany(ctx context.Context, ids []string) ([]*Record, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	recs, decodeErrs, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, err := range decodeErrs {
		if err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// Delete removes everything the store holds for a job: its record, its status key and its abort
// flag (so that a reused id does not inherit an old abort). Deleting a missing job is not an
// error. The keys are deleted by separate DELs in one pipeline (they are in different hash slots
// on Redis Cluster).
func (s *Store) Delete(ctx context.Context, id string) error {
	if s.isClosed() {
		return ErrClosed
	}
	pipe := s.client.Pipeline()
	pipe.Del(ctx, s.ResultKey(id))
	pipe.Del(ctx, s.StatusKey(id))
	pipe.Del(ctx, s.AbortKey(id))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: deleting job %q: %w", id, err)
	}
	return nil
}

// Abort asks for a job to be aborted: it sets the flag {prefix}:abort:{id} (with the store's TTL)
// and publishes the id on AbortChannel, where workers running the job hear it
// (SubscribeAborts). A worker about to start a job checks IsAborted. Aborting records nothing in
// the job's record: the worker that honours the abort writes status aborted.
func (s *Store) Abort(ctx context.Context, id string) error {
	if s.isClosed() {
		return ErrClosed
	}
	if id == "" {
		return errors.New("store: abort without a job id")
	}
	pipe := s.client.Pipeline()
	pipe.Set(ctx, s.AbortKey(id), "1", s.ttl)
	pipe.Publish(ctx, s.abortChannel, id)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: aborting job %q: %w", id, err)
	}
	return nil
}

// IsAborted reports whether Abort was called for the job (and the flag has not expired or been
// deleted).
func (s *Store) IsAborted(ctx context.Context, id string) (bool, error) {
	if s.isClosed() {
		return false, ErrClosed
	}
	n, err := s.client.Exists(ctx, s.AbortKey(id)).Result()
	if err != nil {
		return false, fmt.Errorf("store: reading abort flag of job %q: %w", id, err)
	}
	return n > 0, nil
}

// subscribeTimeout bounds the wait for a subscription's confirmation in SubscribeAborts.
const subscribeTimeout = 30 * time.Second

// abortSub is one SubscribeAborts subscription.
type abortSub struct {
	ps   *redis.PubSub
	once sync.Once
	done chan struct{} // closed when the delivery goroutine has returned
}

func (a *abortSub) stop() {
	a.once.Do(func() { _ = a.ps.Close() })
	<-a.done
}

// SubscribeAborts calls fn with the id of every job aborted from now on, until stop is called or
// ctx ends. It returns once the subscription is confirmed by Redis, so an Abort made after it
// returns is delivered. fn runs on one goroutine, one call at a time; it must not block for long
// and must not call stop. The subscription reconnects by itself (go-redis health-checks it); ids
// published while it was disconnected are lost, which is why a worker also checks IsAborted before
// starting a job. stop waits for a running fn to return.
func (s *Store) SubscribeAborts(ctx context.Context, fn func(id string)) (stop func(), err error) {
	if fn == nil {
		return nil, errors.New("store: SubscribeAborts needs a function")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.mu.Unlock()

	ps := s.client.Subscribe(ctx, s.abortChannel)
	timeout := subscribeTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	if _, err := ps.ReceiveTimeout(ctx, timeout); err != nil { // the subscription confirmation
		_ = ps.Close()
		return nil, fmt.Errorf("store: subscribing to %s: %w", s.abortChannel, err)
	}
	a := &abortSub{ps: ps, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ps.Close()
		return nil, ErrClosed
	}
	s.abortSubs[a] = struct{}{}
	s.mu.Unlock()

	msgs := ps.ChannelWithSubscriptions(redis.WithChannelSize(256))
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.abortSubs, a)
			s.mu.Unlock()
			close(a.done)
		}()
		for m := range msgs {
			if msg, ok := m.(*redis.Message); ok {
				fn(msg.Payload)
			}
		}
	}()
	stopCtx := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			a.once.Do(func() { _ = a.ps.Close() })
		case <-stopCtx:
		case <-a.done:
		}
	}()
	var stopOnce sync.Once
	return func() {
		stopOnce.Do(func() {
			close(stopCtx)
			a.stop()
		})
	}, nil
}

// Stats describes the Redis behind a Store. It holds no secrets: the URL is redacted.
type Stats struct {
	URL              string        `json:"url"`               // redacted (see Redact)
	Mode             Mode          `json:"mode"`              // standalone, sentinel or cluster
	RedisVersion     string        `json:"redis_version"`     // server version (lowest of a cluster)
	UsedMemory       int64         `json:"used_memory"`       // bytes (summed over cluster masters)
	UsedMemoryHuman  string        `json:"used_memory_human"` // as Redis prints it (standalone/sentinel)
	ConnectedClients int64         `json:"connected_clients"` // summed over cluster masters
	Keys             int64         `json:"keys"`              // DBSIZE of the store's database (summed over masters)
	DB               int           `json:"db"`                // database number
	Prefix           string        `json:"prefix"`            // key prefix
	TTL              time.Duration `json:"-"`                 // record lifetime
	TTLSeconds       float64       `json:"ttl_seconds"`       // TTL in seconds
}

// Stats reports on the Redis server: version, deployment mode, used memory, connected clients and
// the number of keys in the database (DBSIZE), with the store's prefix, TTL and redacted URL. It
// never lists or scans keys (no KEYS, no SCAN), and contains no password.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	if s.isClosed() {
		return Stats{}, ErrClosed
	}
	st := Stats{
		URL:        s.url,
		Mode:       s.mode,
		DB:         s.db,
		Prefix:     s.prefix,
		TTL:        s.ttl,
		TTLSeconds: s.ttl.Seconds(),
	}
	var infos []map[string]string
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			txt, err := c.Info(ctx).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			infos = append(infos, parseInfo(txt))
			mu.Unlock()
			return nil
		})
		if err != nil {
			return Stats{}, fmt.Errorf("store: INFO: %w", err)
		}
	} else {
		txt, err := s.client.Info(ctx).Result()
		if err != nil {
			return Stats{}, fmt.Errorf("store: INFO: %w", err)
		}
		infos = append(infos, parseInfo(txt))
	}
	for _, info := range infos {
		if v := info["redis_version"]; v != "" && (st.RedisVersion == "" || versionLess(v, st.RedisVersion)) {
			st.RedisVersion = v
		}
		n, _ := strconv.ParseInt(info["used_memory"], 10, 64)
		st.UsedMemory += n
		c, _ := strconv.ParseInt(info["connected_clients"], 10, 64)
		st.ConnectedClients += c
	}
	if len(infos) == 1 {
		st.UsedMemoryHuman = infos[0]["used_memory_human"]
	}
	keys, err := s.client.DBSize(ctx).Result()
	if err != nil {
		return Stats{}, fmt.Errorf("store: DBSIZE: %w", err)
	}
	st.Keys = keys
	return st, nil
}

// parseInfo reads the "name:value" lines of an INFO reply.
func parseInfo(txt string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(txt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// versionLess compares dotted version numbers ("7.0.15" < "7.2.4").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// waitForRedis PINGs until Redis answers, ctx ends, or Redis refuses for good.
func waitForRedis(ctx context.Context, client redis.UniversalClient, redacted string, secrets []string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	backoff := 100 * time.Millisecond
	var last error // the last failure that was not the context ending
	for attempt := 1; ; attempt++ {
		err := client.Ping(ctx).Err()
		if err == nil {
			if attempt > 1 {
				log.Info("reached Redis", "url", redacted, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = scrub(err, secrets)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("store: cannot reach Redis at %s: %w (gave up after %d attempts: %v)", redacted, last, attempt, context.Cause(ctx))
		}
		if !transient(last) {
			return fmt.Errorf("store: cannot reach Redis at %s: %w", redacted, last)
		}
		log.Warn("cannot reach Redis, retrying", "url", redacted, "attempt", attempt, "err", last, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: cannot reach Redis at %s: %w (gave up after %d attempts: %v)", redacted, last, attempt, context.Cause(ctx))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// transient reports whether a failed PING is worth trying again: no answer at all, or a server
// that is starting (LOADING), busy, without a master yet, or out of client slots. Any other
// answer (NOAUTH, WRONGPASS, ...) is final, and so is a TLS handshake that fails on a
// certificate or on a server that does not speak TLS: those are configuration errors.
func transient(err error) bool {
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "ERR max number of clients"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	var (
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return !errors.As(err, &verify) && !errors.As(err, &header) && !errors.As(err, &alert) &&
		!errors.As(err, &unknown) && !errors.As(err, &hostname) && !errors.As(err, &invalid)
}

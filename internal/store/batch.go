package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Group commit. A worker runs many jobs at once and each needs two writes (Begin before it runs,
// Write after); sent one by one, every write costs a round trip and Redis answers far fewer jobs
// than the broker delivers. So Write and Begin queue their operation, and each of a few lanes
// takes whatever is queued (up to maxBatch), sends it as one pipeline and hands every caller its
// own answer. A lone call goes out at once: batching costs nothing when there is nothing to batch,
// and under load a batch forms from the calls that arrive while the previous round trip is out.

const (
	// lanes is how many pipelines may be out at once.
	lanes = 2
	// maxBatch is the most operations in one pipeline.
	maxBatch = 256
	// batchTimeout bounds one pipeline's round trip.
	batchTimeout = 10 * time.Second
)

type opKind int

const (
	opWrite opKind = iota
	opBegin
	opCheck // Begin without the write
)

// batchOp is one queued Write or Begin and, once done is closed, its answer.
type batchOp struct {
	kind opKind
	prep prepared

	applied bool  // opWrite
	begun   Begun // opBegin, opCheck
	err     error
	done    chan struct{}
}

// batcher queues operations for the lanes.
type batcher struct {
	s    *Store
	ops  chan *batchOp
	quit chan struct{}
	wg   sync.WaitGroup
}

func newBatcher(s *Store) *batcher {
	b := &batcher{s: s, ops: make(chan *batchOp, maxBatch*lanes), quit: make(chan struct{})}
	for range lanes {
		b.wg.Add(1)
		go b.lane()
	}
	return b
}

// do queues op and waits for its answer. If ctx ends first, ctx's error is returned and op may or
// may not still be applied.
func (b *batcher) do(ctx context.Context, op *batchOp) error {
	op.done = make(chan struct{})
	select {
	case b.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return ErrClosed
	}
	select {
	case <-op.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		select {
		case <-op.done: // answered while closing
			return nil
		default:
			return ErrClosed
		}
	}
}

func (b *batcher) lane() {
	defer b.wg.Done()
	batch := make([]*batchOp, 0, maxBatch)
	for {
		select {
		case op := <-b.ops:
			batch = append(batch[:0], op)
		case <-b.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case op := <-b.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		b.s.exec(ctx, batch)
		cancel()
		for _, op := range batch {
			close(op.done)
		}
		clear(batch)
	}
}

// close stops the lanes once their current pipelines are answered.
func (b *batcher) close() {
	close(b.quit)
	b.wg.Wait()
}

// exec runs a batch of operations and sets each one's answer: on one server as one pipeline of
// writeScript and beginScript calls, on Redis Cluster the single-key way (writeSplit, beginSplit).
func (s *Store) exec(ctx context.Context, ops []*batchOp) {
	if s.split {
		var writes, begins []*batchOp
		for _, op := range ops {
			if op.kind != opWrite {
				begins = append(begins, op)
			} else {
				writes = append(writes, op)
			}
		}
		if len(begins) > 0 {
			s.beginSplit(ctx, begins)
		}
		if len(writes) > 0 {
			s.writeSplit(ctx, writes)
		}
		return
	}
	calls := make([]scriptCall, len(ops))
	for i, op := range ops {
		if op.kind != opWrite {
			calls[i] = s.beginCall(op.prep, op.kind == opBegin)
		} else {
			calls[i] = s.writeCall(op.prep)
		}
	}
	for i, cmd := range s.evalBatch(ctx, nil, calls) {
		op := ops[i]
		if op.kind == opWrite {
			n, err := cmd.Int()
			if err != nil {
				op.err = fmt.Errorf("store: writing job %q: %w", op.prep.id, err)
			}
			op.applied = n == 1
			continue
		}
		reply, err := cmd.Slice()
		if err == nil {
			op.begun, err = parseBegun(reply)
		}
		if err != nil {
			op.err = fmt.Errorf("store: starting job %q: %w", op.prep.id, err)
		}
	}
}

// Verdict is Begin's answer: whether a delivered job may run.
type Verdict int

// The verdicts of Begin. Only VerdictRun means run the job; the others mean acknowledge the
// delivery without running it (for VerdictAborted, after recording that the job was aborted).
const (
	VerdictRun            Verdict = iota // run it; its in_progress record is stored
	VerdictDone                          // its record is terminal: a duplicate delivery
	VerdictStale                         // a later try of the job is recorded: a stale delivery
	VerdictRetryScheduled                // this try failed and its retry is already scheduled
	VerdictAborted                       // the job was aborted before it ran
)

// Begun is Begin's answer: the verdict, and the status and try of the record stored before Begin
// ("" and 0 when there was none).
type Begun struct {
	Verdict Verdict
	Status  Status
	Try     int
}

// Begin decides whether a delivered job may run and, if it may, stores rec, its in_progress
// record (status must be in_progress; it is stored if it moves the job forward, as in Write).
// The job must not run when its stored record is terminal (completed, failed, aborted: delivery is
// at least once, completion once), is of a later try, says this try's retry is already scheduled,
// or when the job was aborted (Abort); Begun says which. On one server the decision and the write
// are one atomic script; on Redis Cluster the record and the abort flag are read, and the record
// written after. Concurrent calls share round trips, as Write's do.
func (s *Store) Begin(ctx context.Context, rec *Record) (Begun, error) {
	if s.isClosed() {
		return Begun{}, ErrClosed
	}
	if rec == nil || rec.Status != StatusInProgress {
		return Begun{}, errors.New("store: Begin needs a record with status in_progress")
	}
	p, err := s.prepare(rec, time.Now())
	if err != nil {
		return Begun{}, err
	}
	op := &batchOp{kind: opBegin, prep: p}
	if err := s.batch.do(ctx, op); err != nil {
		return Begun{}, err
	}
	return op.begun, op.err
}

func (s *Store) beginCall(p prepared, write bool) scriptCall {
	flag := "0"
	if write {
		flag = "1"
	}
	return scriptCall{
		sc:   beginScript,
		keys: []string{s.ResultKey(p.id), s.StatusKey(p.id), s.AbortKey(p.id)},
		args: []any{p.data, p.try, s.ttlMillis(), flag},
	}
}

// parseBegun reads beginScript's reply {verdict, status, try}.
func parseBegun(reply []any) (Begun, error) {
	if len(reply) != 3 {
		return Begun{}, fmt.Errorf("malformed script reply %v", reply)
	}
	v, ok1 := reply[0].(int64)
	st, ok2 := reply[1].(string)
	try, ok3 := reply[2].(int64)
	if !ok1 || !ok2 || !ok3 || v < int64(VerdictRun) || v > int64(VerdictAborted) {
		return Begun{}, fmt.Errorf("malformed script reply %v", reply)
	}
	return Begun{Verdict: Verdict(v), Status: Status(st), Try: int(try)}, nil
}

// decide is beginScript's decision in Go, for Redis Cluster: stored is the job's record (nil for
// none), aborted its abort flag, try the delivered try.
func decide(stored *Record, aborted bool, try int) Begun {
	var b Begun
	if stored != nil && stored.Status.Valid() {
		b.Status, b.Try = stored.Status, max(stored.JobTry, 1)
		switch {
		case stored.Status.Terminal():
			b.Verdict = VerdictDone
			return b
		case b.Try > try:
			b.Verdict = VerdictStale
			return b
		case stored.Status == StatusRetrying && b.Try == try:
			b.Verdict = VerdictRetryScheduled
			return b
		}
	}
	if aborted {
		b.Verdict = VerdictAborted
	}
	return b
}

// beginSplit is Begin on Redis Cluster: one pipeline reads every job's record and abort flag, and
// the in_progress records of the jobs that may run are written like WriteMany's. A stored record
// that cannot be decoded fails that job's Begin.
func (s *Store) beginSplit(ctx context.Context, ops []*batchOp) {
	pipe := s.client.Pipeline()
	gets := make([]*redis.StringCmd, len(ops))
	aborts := make([]*redis.IntCmd, len(ops))
	for i, op := range ops {
		gets[i] = pipe.Get(ctx, s.ResultKey(op.prep.id))
		aborts[i] = pipe.Exists(ctx, s.AbortKey(op.prep.id))
	}
	_, _ = pipe.Exec(ctx) // errors are read from each command
	var run []*batchOp
	for i, op := range ops {
		var stored *Record
		data, err := gets[i].Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			op.err = fmt.Errorf("store: reading job %q: %w", op.prep.id, err)
			continue
		default:
			stored = new(Record)
			if err := stored.UnmarshalJSON(data); err != nil {
				op.err = fmt.Errorf("store: job %q: stored record: %w", op.prep.id, err)
				continue
			}
		}
		n, err := aborts[i].Result()
		if err != nil {
			op.err = fmt.Errorf("store: reading job %q: %w", op.prep.id, err)
			continue
		}
		op.begun = decide(stored, n > 0, op.prep.try)
		if op.begun.Verdict == VerdictRun && op.kind == opBegin {
			run = append(run, op)
		}
	}
	if len(run) > 0 {
		s.writeSplit(ctx, run) // sets op.err on failure; applied is not part of Begin's answer
	}
}

// Check is Begin without the write: it says whether the delivered try of a job may run, from its
// record and abort flag, and stores nothing. It serves jobs that will not run now anyway (they
// arrived early, expired, or no module serves their task) and workers that record in_progress
// only once a job has run for a while. Concurrent calls share round trips, as Begin's do.
func (s *Store) Check(ctx context.Context, id string, try int) (Begun, error) {
	if s.isClosed() {
		return Begun{}, ErrClosed
	}
	if id == "" {
		return Begun{}, errors.New("store: record without a job id")
	}
	op := &batchOp{kind: opCheck, prep: prepared{id: id, try: max(try, 1)}}
	if err := s.batch.do(ctx, op); err != nil {
		return Begun{}, err
	}
	return op.begun, op.err
}

package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Wait returns the job's record once its status is terminal (completed, failed or aborted), or
// ctx's error when ctx ends first (ErrClosed if the Store is closed meanwhile). A job with no
// record yet is waited for too: its record may not be written yet.
//
// Wait does not poll. The Store keeps one subscription to DoneChannel, shared by all waiters and
// started by the first Wait, and a map of waiters by job id. Wait registers itself, then reads the
// record once, which catches a completion that happened before it registered; a later completion
// is announced on the channel, and the subscription goroutine reads the records of the announced
// jobs that have waiters (one pipelined round trip per batch of announcements) and hands each
// terminal record to its waiters. When the subscription (re)connects, the records of all current
// waiters are read again, so announcements lost while disconnected do not strand anyone. A waiter
// costs one GET, a map entry and a blocked goroutine: thousands are cheap.
func (s *Store) Wait(ctx context.Context, id string) (*Record, error) {
	w, err := s.hub.register(id)
	if err != nil {
		return nil, err
	}
	defer s.hub.unregister(id, w)

	rec, err := s.Get(ctx, id)
	switch {
	case err == nil && rec.Status.Terminal():
		return rec, nil
	case err == nil, errors.Is(err, ErrNotFound):
		// not finished: wait for the announcement
	default:
		return nil, err
	}
	select {
	case r := <-w.ch:
		return r.rec, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.hub.closedCh:
		return nil, ErrClosed
	}
}

// waitResult is what a waiter receives: a terminal record, or the error reading it.
type waitResult struct {
	rec *Record
	err error
}

type waiter struct {
	ch chan waitResult // buffered (1): the hub sends at most once, never blocking
}

// waitHub is the shared completion subscription and the waiters it serves.
type waitHub struct {
	s *Store

	mu       sync.Mutex
	waiters  map[string]map[*waiter]struct{}
	started  bool
	closed   bool
	closedCh chan struct{}
	ps       *redis.PubSub
	cancel   context.CancelFunc
	loopDone chan struct{}
}

// Delivery tuning.
const (
	waitBatch      = 512                   // ids read per pipelined GET batch
	waitChanSize   = 4096                  // go-redis buffer of received announcements
	waitMinBackoff = 50 * time.Millisecond // first retry delay after a failed read
	waitMaxBackoff = 5 * time.Second
)

func newWaitHub(s *Store) *waitHub {
	return &waitHub{
		s:        s,
		waiters:  make(map[string]map[*waiter]struct{}),
		closedCh: make(chan struct{}),
	}
}

// register adds a waiter for id, starting the subscription if it is the first one ever.
func (h *waitHub) register(id string) (*waiter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if !h.started {
		h.start()
	}
	w := &waiter{ch: make(chan waitResult, 1)}
	set := h.waiters[id]
	if set == nil {
		set = make(map[*waiter]struct{})
		h.waiters[id] = set
	}
	set[w] = struct{}{}
	return w, nil
}

func (h *waitHub) unregister(id string, w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.waiters[id]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(h.waiters, id)
		}
	}
}

// start creates the PubSub (no I/O here: it connects in the loop goroutine, so that register never
// blocks on the network) and starts the loop. Called with h.mu held.
func (h *waitHub) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.ps = h.s.client.Subscribe(ctx) // no channel yet: subscribes in loop
	h.loopDone = make(chan struct{})
	h.started = true
	go h.loop(ctx, h.ps)
}

// close stops the subscription and wakes every waiter with ErrClosed.
func (h *waitHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.closedCh)
	ps, cancel, done := h.ps, h.cancel, h.loopDone
	h.mu.Unlock()
	if ps == nil {
		return
	}
	cancel()
	_ = ps.Close()
	<-done
}

// loop receives announcements and subscription confirmations and delivers records. Announcements
// that arrive together are handled as one batch; a failed read is retried with backoff, while new
// announcements keep accumulating.
func (h *waitHub) loop(ctx context.Context, ps *redis.PubSub) {
	defer close(h.loopDone)
	// If this fails (Redis down), the channel is still recorded: go-redis subscribes when its
	// receive loop connects, and the confirmation makes us re-read every waiter's record.
	_ = ps.Subscribe(ctx, h.s.doneChannel)
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelSize(waitChanSize))

	pending := make(map[string]struct{})
	all := false // re-read every waiter (after a (re)subscription)
	note := func(m any) {
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				all = true
			}
		case *redis.Message:
			h.mu.Lock()
			_, waited := h.waiters[m.Payload]
			h.mu.Unlock()
			if waited {
				pending[m.Payload] = struct{}{}
			}
		}
	}
	backoff := waitMinBackoff
	var retry <-chan time.Time
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return
			}
			note(m)
		drain:
			for range waitChanSize {
				select {
				case m, ok := <-msgs:
					if !ok {
						return
					}
					note(m)
				default:
					break drain
				}
			}
		case <-retry:
			retry = nil
		case <-ctx.Done():
			return
		}
		if retry != nil || (len(pending) == 0 && !all) {
			continue
		}
		if h.deliver(ctx, pending, all) {
			clear(pending)
			all = false
			backoff = waitMinBackoff
		} else {
			retry = time.After(backoff)
			backoff = min(2*backoff, waitMaxBackoff)
		}
	}
}

// deliver reads the records of the pending ids that have waiters (of all waiters if all) and hands
// terminal ones over. It reports false if Redis could not be read; the caller retries.
func (h *waitHub) deliver(ctx context.Context, pending map[string]struct{}, all bool) bool {
	h.mu.Lock()
	var ids []string
	if all {
		ids = make([]string, 0, len(h.waiters))
		for id := range h.waiters {
			ids = append(ids, id)
		}
	} else {
		ids = make([]string, 0, len(pending))
		for id := range pending {
			if _, ok := h.waiters[id]; ok {
				ids = append(ids, id)
			}
		}
	}
	h.mu.Unlock()

	for len(ids) > 0 {
		chunk := ids[:min(len(ids), waitBatch)]
		ids = ids[len(chunk):]
		recs, decodeErrs, err := h.s.getMany(ctx, chunk)
		if err != nil {
			return false
		}
		for i, id := range chunk {
			switch {
			case decodeErrs[i] != nil:
				h.complete(id, waitResult{err: decodeErrs[i]})
			case recs[i] != nil && recs[i].Status.Terminal():
				h.complete(id, waitResult{rec: recs[i]})
			}
		}
	}
	return true
}

// complete hands r to every waiter of id and forgets them.
func (h *waitHub) complete(id string, r waitResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.waiters[id] {
		select {
		case w.ch <- r:
		default:
		}
	}
	delete(h.waiters, id)
}

// getMany reads the records of ids in one pipeline. recs[i] is nil when ids[i] has no record;
// decodeErrs[i] is set when its record cannot be decoded; err reports a failure to read at all.
func (s *Store) getMany(ctx context.Context, ids []string) (recs []*Record, decodeErrs []error, err error) {
	recs = make([]*Record, len(ids))
	decodeErrs = make([]error, len(ids))
	if len(ids) == 0 {
		return recs, decodeErrs, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, s.ResultKey(id))
	}
	_, _ = pipe.Exec(ctx) // errors are read from each command
	for i, cmd := range cmds {
		data, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("store: reading job %q: %w", ids[i], err)
		}
		var rec Record
		if err := rec.UnmarshalJSON(data); err != nil {
			decodeErrs[i] = fmt.Errorf("store: job %q: %w", ids[i], err)
			continue
		}
		recs[i] = &rec
	}
	return recs, decodeErrs, nil
}

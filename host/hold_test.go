package host_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
)

// Delayed jobs arrive broker.DefaultLead early and are held until due. With room to hold only one
// (prefetch 2), the others go back into the delay levels for exactly the rest of their wait: every
// job runs, none before it is due.
func TestEarlyJobsRunWhenDueEvenBeyondTheHoldLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	started := map[string]time.Time{}
	cfg := e.config()
	cfg.Prefetch, cfg.Concurrency = 2, 1
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) {
		mu.Lock()
		started[job.ID] = time.Now()
		mu.Unlock()
	}
	e.worker(cfg)
	c := e.client()
	due := map[string]time.Time{}
	var jobs []*client.Job
	for i := range 6 {
		at := time.Now().Add(1200*time.Millisecond + time.Duration(i)*30*time.Millisecond)
		j, err := c.Enqueue(context.Background(), "noop", client.At(at))
		if err != nil {
			t.Fatal(err)
		}
		due[j.ID] = at
		jobs = append(jobs, j)
	}
	waitAll(t, jobs, 20*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for id, at := range due {
		if s, ok := started[id]; !ok || s.Before(at.Truncate(time.Microsecond)) {
			t.Fatalf("job %s due %s started %s", id, at.Format(time.StampMicro), s.Format(time.StampMicro))
		}
	}
	if !strings.Contains(e.logs.String(), "job arrived before its defer_until; delaying it again") {
		t.Error("no job was sent back to the delay levels, so the hold limit was not exercised")
	}
}

// A worker that stops while it holds an early job returns it to the queue at once (without waiting
// for it to be due); the next worker runs it when due.
func TestStopWhileHoldingReturnsTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	runs := countRuns(&cfg)
	w := e.worker(cfg)
	c := e.client()
	at := time.Now().Add(2 * time.Second) // arrives about a second early
	j, err := c.Enqueue(context.Background(), "noop", client.At(at))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // held by now
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Had Stop waited for the hold to end, the job would have run.
	if runs.Load() != 0 {
		t.Fatalf("the stopping worker ran the job")
	}
	if st, err := j.Status(context.Background()); err != nil || st != client.StatusQueued {
		t.Fatalf("status after stop: %s %v", st, err)
	}
	var startedAt atomic.Int64
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) { startedAt.Store(time.Now().UnixNano()) }
	e.worker(cfg)
	if res, err := wait(t, j, 10*time.Second); err != nil || res.Status != client.StatusCompleted {
		t.Fatalf("after restart: %v", err)
	}
	if s := time.Unix(0, startedAt.Load()); s.Before(at.Truncate(time.Microsecond)) {
		t.Fatalf("ran %s early", at.Sub(s))
	}
}

package wasm

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEveryRunawayGuestIsStopped runs each misbehaving fixture under a short timeout: a tight
// loop without calls, an exponential recursion without loops, and (with an abort instead of a
// timeout) the same. Each must end as a timeout (or canceled) soon after its deadline, and its
// instance must be closed and replaced, not abandoned.
func TestEveryRunawayGuestIsStopped(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	const limit = 200 * time.Millisecond
	for _, f := range []string{"loop", "fib"} {
		m := load(t, e, fixture(t, f), Limits{Timeout: limit, MaxInstances: 1, MinInstances: 1})
		start := time.Now()
		o := m.Invoke(context.Background(), job("wat_"+f, "[]", "{}"))
		took := time.Since(start)
		if o.Kind != Timeout || strings.Contains(o.Detail, "abandoned") {
			t.Fatalf("%s: outcome %s (%q, %q), want a timeout that stopped the guest", f, o.Kind, o.Reason, o.Detail)
		}
		// Correctness, not speed: never early, and not the abandon path (250ms after the deadline).
		if took < limit || took >= limit+abandonGrace {
			t.Fatalf("%s: stopped after %s, want %s plus a little", f, took, limit)
		}
		// The one instance was discarded and replaced: the module still serves.
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		if o := m.Invoke(ctx, job("wat_"+f, "[]", "{}")); o.Kind != Canceled {
			t.Fatalf("%s after a timeout: %s (%s)", f, o.Kind, o.Reason)
		}
		cancel()
	}
}

// TestBusyGuestsDoNotStarveTheScheduler runs more spinning guests than there are threads for Go
// code (GOMAXPROCS 1) and checks that an ordinary goroutine (a worker's heartbeat, a metrics
// scrape) still gets to run many times while they spin. Without the check points' yield, the
// spinning guest would hold the only thread until its deadline. Not parallel: it changes
// GOMAXPROCS.
func TestBusyGuestsDoNotStarveTheScheduler(t *testing.T) {
	e, _ := newEngine(t, Config{Concurrency: 4})
	m := load(t, e, fixture(t, "loop"), Limits{Timeout: time.Second, MaxInstances: 4, MinInstances: 4})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var ticks, maxGap atomic.Int64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				ticks.Add(1)
				if gap := now.Sub(last); int64(gap) > maxGap.Load() {
					maxGap.Store(int64(gap))
				}
				last = now
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o := m.Invoke(context.Background(), job("wat_loop", "[]", "{}")); o.Kind != Timeout {
				t.Errorf("outcome %s", o.Kind)
			}
		}()
	}
	wg.Wait()
	close(stop)
	// One second of spinning guests; a free scheduler ticks about 100 times. Starved, it would
	// tick about once (after the guests end). Ask for a fifth, so that a loaded machine passes.
	t.Logf("ticks: %d, longest gap %v", ticks.Load(), time.Duration(maxGap.Load()))
	if n := ticks.Load(); n < 20 {
		t.Fatalf("a goroutine ran %d times in one second beside 4 spinning guests on one thread", n)
	}
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// waiterCount returns how many waiters are registered.
func (h *waitHub) waiterCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.waiters {
		n += len(set)
	}
	return n
}

// eventually polls cond (test helper only) until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func completed(id string, n int) *Record {
	r := rec(id, StatusCompleted, 1)
	r.Result = json.RawMessage(strconv.Itoa(n))
	return r
}

// 200 waiters on 200 jobs completed in random order all get their own record.
func TestWaitMany(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 30*time.Second)
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID()
		mustWrite(t, s, rec(ids[i], StatusQueued, 1), true)
	}
	type result struct {
		i   int
		rec *Record
		err error
	}
	results := make(chan result, n)
	for i, id := range ids {
		go func() {
			r, err := s.Wait(ctx, id)
			results <- result{i, r, err}
		}()
	}
	eventually(t, 10*time.Second, "200 registered waiters", func() bool { return s.hub.waiterCount() == n })

	start := time.Now()
	order := rand.Perm(n)
	var wg sync.WaitGroup
	for k, i := range order {
		if k%2 == 0 {
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		}
		// Some in_progress writes in between, which must not wake anyone for good.
		if k%3 == 0 {
			mustWrite(t, s, rec(ids[i], StatusInProgress, 1), true)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Write(ctx, completed(ids[i], i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := make(map[int]bool)
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("waiter %d: %v", r.i, r.err)
		}
		if r.rec.JobID != ids[r.i] || r.rec.Status != StatusCompleted || string(r.rec.Result) != strconv.Itoa(r.i) {
			t.Fatalf("waiter %d got %+v", r.i, r.rec)
		}
		seen[r.i] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct waiters returned", len(seen))
	}
	t.Logf("%d waiters released %v after the first completion", n, time.Since(start).Round(time.Millisecond))
	eventually(t, 5*time.Second, "waiters unregistered", func() bool { return s.hub.waiterCount() == 0 })
}

func TestWaitAlreadyComplete(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	for _, st := range []Status{StatusCompleted, StatusFailed, StatusAborted} {
		id := newID()
		mustWrite(t, s, rec(id, st, 1), true)
		start := time.Now()
		r, err := s.Wait(ctx, id)
		if err != nil || r.Status != st || r.JobID != id {
			t.Fatalf("Wait: %+v %v", r, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Wait of a finished job took %v", d)
		}
	}
}

func TestWaitTimeout(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	id := newID()
	mustWrite(t, s, rec(id, StatusInProgress, 1), true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := s.Wait(ctx, id)
	if !errors.Is(err, context.DeadlineExceeded) || r != nil {
		t.Fatalf("Wait: %v %v", r, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("Wait returned after %v", d)
	}
	// Non-terminal writes do not release a waiter; a cancelled context does.
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.Wait(ctx2, id); errc <- err }()
	eventually(t, 5*time.Second, "waiter", func() bool { return s.hub.waiterCount() == 1 })
	mustWrite(t, s, rec(id, StatusRetrying, 1), true)
	select {
	case err := <-errc:
		t.Fatalf("Wait returned on a retrying write: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel2()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel: %v", err)
	}
}

// A job that has no record yet when Wait starts (it is being enqueued) is waited for.
func TestWaitBeforeRecordExists(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	id := newID()
	got := make(chan *Record, 2)
	for range 2 { // two waiters on one job
		go func() {
			r, err := s.Wait(ctx, id)
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
	}
	eventually(t, 5*time.Second, "waiters", func() bool { return s.hub.waiterCount() == 2 })
	if _, ok, err := s.Reserve(ctx, rec(id, StatusQueued, 1)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	mustWrite(t, s, rec(id, StatusFailed, 1), true)
	for range 2 {
		if r := <-got; r == nil || r.Status != StatusFailed {
			t.Fatalf("Wait: %+v", r)
		}
	}
}

func TestWaitClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	errc := make(chan error, 1)
	go func() { _, err := s.Wait(context.Background(), newID()); errc <- err }()
	eventually(t, 5*time.Second, "waiter", func() bool { return s.hub.waiterCount() == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the waiter")
	}
}

// namedURL returns the test URL with a client name, so that a test can find its connections.
func namedURL(name string) string {
	url := testURL()
	if strings.Contains(url, "?") {
		return url + "&client_name=" + name
	}
	return url + "?client_name=" + name
}

// subscriptionConn returns the id of the connection named name that is subscribed to one
// channel, or "".
func subscriptionConn(t *testing.T, s *Store, name string) string {
	t.Helper()
	list, err := s.Client().ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+name+" ") && strings.Contains(line, " sub=1 ") {
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "id="); ok {
					return v
				}
			}
		}
	}
	return ""
}

// A completion whose announcement is lost (the record is written without PUBLISH) is still
// delivered when the subscription reconnects: the subscription's connection is killed, go-redis
// reconnects and resubscribes, and the hub re-reads every waiter's record.
func TestWaitRecoversAfterReconnect(t *testing.T) {
	t.Parallel()
	name := "arqtest-" + newID()
	s := openStoreURL(t, namedURL(name), Options{})
	ctx := testCtx(t, 30*time.Second)
	id := newID()
	mustWrite(t, s, rec(id, StatusInProgress, 1), true)

	got := make(chan *Record, 1)
	go func() {
		r, err := s.Wait(ctx, id)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	var subID string
	eventually(t, 10*time.Second, "the subscription connection", func() bool {
		subID = subscriptionConn(t, s, name)
		return subID != ""
	})
	eventually(t, 5*time.Second, "waiter", func() bool { return s.hub.waiterCount() == 1 })
	time.Sleep(300 * time.Millisecond) // let the waiter's first read see in_progress

	// Complete the job behind the store's back: no announcement.
	done := completed(id, 7)
	data, err := done.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client().Set(ctx, s.ResultKey(id), data, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		t.Fatalf("Wait returned without an announcement or reconnection (polling?): %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	if err := s.Client().Do(ctx, "CLIENT", "KILL", "ID", subID).Err(); err != nil {
		t.Fatalf("CLIENT KILL ID %s: %v", subID, err)
	}
	start := time.Now()
	select {
	case r := <-got:
		if r == nil || r.Status != StatusCompleted || string(r.Result) != "7" {
			t.Fatalf("Wait: %+v", r)
		}
		t.Logf("waiter released %v after the subscription was killed", time.Since(start).Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatal("waiter not released after reconnection")
	}

	// The reconnected subscription still delivers announcements.
	id2 := newID()
	mustWrite(t, s, rec(id2, StatusQueued, 1), true)
	go func() {
		r, err := s.Wait(ctx, id2)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	eventually(t, 5*time.Second, "waiter", func() bool { return s.hub.waiterCount() == 1 })
	mustWrite(t, s, rec(id2, StatusAborted, 1), true)
	select {
	case r := <-got:
		if r == nil || r.JobID != id2 || r.Status != StatusAborted {
			t.Fatalf("Wait: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("announcement after reconnection not delivered")
	}
}

// A record that cannot be decoded is reported to its waiter rather than waited on forever.
func TestWaitUndecodableRecord(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	id := newID()
	errc := make(chan error, 1)
	go func() { _, err := s.Wait(ctx, id); errc <- err }()
	eventually(t, 5*time.Second, "waiter", func() bool { return s.hub.waiterCount() == 1 })
	time.Sleep(50 * time.Millisecond) // let the initial Get see "not found"
	s.Client().Set(ctx, s.ResultKey(id), "{broken", time.Minute)
	s.Client().Publish(ctx, s.DoneChannel(), id)
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), id) {
			t.Fatalf("Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("waiter on %s not released", id)
	}
}

// SubscribeAborts survives the loss of its connection: go-redis reconnects and resubscribes, and
// aborts published afterwards are delivered.
func TestSubscribeAbortsReconnects(t *testing.T) {
	t.Parallel()
	name := "arqtest-" + newID()
	s := openStoreURL(t, namedURL(name), Options{})
	ctx := testCtx(t, 30*time.Second)
	got := make(chan string, 64)
	stop, err := s.SubscribeAborts(ctx, func(id string) { got <- id })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	subID := subscriptionConn(t, s, name)
	if subID == "" {
		t.Fatal("no subscribed connection after SubscribeAborts returned")
	}
	if err := s.Client().Do(ctx, "CLIENT", "KILL", "ID", subID).Err(); err != nil {
		t.Fatal(err)
	}
	// Announcements made while it reconnects are lost (documented), so abort until one arrives.
	id := newID()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Abort(ctx, id); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != id {
				t.Fatalf("received %q", g)
			}
			if newSub := subscriptionConn(t, s, name); newSub == "" || newSub == subID {
				t.Fatalf("subscription connection %q after reconnection (killed %s)", newSub, subID)
			}
			return
		case <-deadline:
			t.Fatal("no abort received after the connection was killed")
		case <-tick.C:
		}
	}
}

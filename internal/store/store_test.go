package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/internal/syncbuf"
)

func TestOpenDefaultsAndKeyLayout(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 15*time.Second)
	// The default prefix, with a job id no one else uses; the keys are deleted by name.
	s, err := Open(ctx, testURL(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	id := "arqtest-" + newID()
	c := s.Client()
	keys := []string{"rabbitmq_arq:result:" + id, "rabbitmq_arq:status:" + id, "rabbitmq_arq:abort:" + id}
	t.Cleanup(func() { // runs before the Close above (cleanups run last-in first-out)
		for _, k := range keys {
			if err := c.Del(context.Background(), k).Err(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})

	if s.Prefix() != "rabbitmq_arq" || s.TTL() != 86400*time.Second || s.Mode() != ModeStandalone {
		t.Fatalf("defaults: prefix %q ttl %v mode %s", s.Prefix(), s.TTL(), s.Mode())
	}
	if s.ResultKey(id) != keys[0] || s.StatusKey(id) != keys[1] || s.AbortKey(id) != keys[2] ||
		s.DoneChannel() != "rabbitmq_arq:events:done" || s.AbortChannel() != "rabbitmq_arq:events:abort" {
		t.Fatal("key names")
	}
	mustWrite(t, s, rec(id, StatusCompleted, 1), true)
	raw, err := c.Get(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, `{"job_id":"`+id+`","status":"completed","result":null,`) {
		t.Fatalf("raw record %s", raw)
	}
	if st, _ := c.Get(ctx, keys[1]).Result(); st != "completed" {
		t.Fatalf("status key %q", st)
	}
	for _, k := range keys[:2] {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil || ttl < 86000*time.Second || ttl > 86400*time.Second {
			t.Fatalf("TTL of %s = %v (%v)", k, ttl, err)
		}
	}
}

func TestOpenOptionErrors(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 10*time.Second)
	if _, err := Open(ctx, testURL(), Options{TTL: -time.Second}); err == nil {
		t.Error("negative TTL accepted")
	}
	if _, err := Open(ctx, testURL(), Options{TTL: time.Microsecond}); err == nil {
		t.Error("sub-millisecond TTL accepted")
	}
	if _, err := Open(ctx, testURL(), Options{TLSConfig: &tls.Config{}}); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("TLS config with redis:// accepted: %v", err)
	}
	if _, err := Open(ctx, "redis://u:hunter2@h?bogus=1", Options{}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL: %v", err)
	}
}

func TestOpenUnreachableIsRedacted(t *testing.T) {
	t.Parallel()
	var log syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	_, err := Open(testCtx(t, 5*time.Second), "redis://user:secret@127.0.0.1:1/0", Options{Logger: logger})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "secret") || !strings.Contains(msg, "redis://user:xxxxx@127.0.0.1:1/0") || !strings.Contains(msg, "gave up after") {
		t.Fatalf("error %q", msg)
	}
	if l := log.String(); !strings.Contains(l, "cannot reach Redis, retrying") || strings.Contains(l, "secret") {
		t.Fatalf("log:\n%s", l)
	}

	// A wrong password: refused at once (not tried again until the context ends), and the
	// server's answer must not echo it either.
	_, err = Open(testCtx(t, time.Minute), "redis://arqtest-nobody-"+newID()+":secret-pw@127.0.0.1:6379/0", Options{})
	if err == nil || strings.Contains(err.Error(), "secret-pw") || strings.Contains(err.Error(), "gave up") {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestOpenWaitsForRedis: a store opened before Redis listens connects once it does.
func TestOpenWaitsForRedis(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there until the proxy below starts
	var log syncbuf.Buffer
	opened := make(chan error, 1)
	go func() {
		s, err := Open(testCtx(t, 30*time.Second), "redis://"+addr+"/0", Options{Prefix: uniquePrefix(t), Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err == nil {
			_ = s.Close()
		}
		opened <- err
	}()
	for !strings.Contains(log.String(), "cannot reach Redis, retrying") {
		select {
		case err := <-opened:
			t.Fatalf("Open returned before Redis listened: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Redis "starts": a proxy to the real one.
	p, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	go func() {
		for {
			c, err := p.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r, err := net.Dial("tcp", "127.0.0.1:6379")
				if err != nil {
					return
				}
				defer r.Close()
				go func() { _, _ = io.Copy(r, c) }()
				_, _ = io.Copy(c, r)
			}()
		}
	}()
	if err := <-opened; err != nil {
		t.Fatalf("Open after Redis came up: %v", err)
	}
	if !strings.Contains(log.String(), "reached Redis") {
		t.Fatalf("log:\n%s", log.String())
	}
}

func TestWriteGetRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{TTL: time.Hour})
	ctx := testCtx(t, 10*time.Second)
	id := newID()
	start := time.Now().UTC().Truncate(time.Microsecond)
	end := start.Add(2 * time.Second)
	r := &Record{
		JobID: id, Status: StatusCompleted, Result: json.RawMessage(`{"ok":true,"html":"<b>"}`),
		StartTime: &start, EndTime: &end, Duration: ptr(2.0), WorkerID: "w1", QueueName: "q",
		FunctionName: "f", Args: json.RawMessage(`[1,"a"]`), Kwargs: json.RawMessage(`{"k":1}`),
		CreatedAt: start.Add(-time.Second), JobTry: 2, Module: "m", ModuleVersion: "v1", Outcome: "success",
	}
	mustWrite(t, s, r, true)
	if r.RetryCount != 0 || r.ExpiresAt != nil {
		t.Fatal("Write modified its argument")
	}
	got := mustGet(t, s, id)
	if got.ExpiresAt == nil || got.ExpiresAt.Before(start.Add(59*time.Minute)) || got.ExpiresAt.After(time.Now().Add(time.Hour)) {
		t.Fatalf("expires_at %v", got.ExpiresAt)
	}
	want := *r
	want.RetryCount = 1 // derived from JobTry
	want.ExpiresAt = got.ExpiresAt
	wj, _ := want.MarshalJSON()
	gj, _ := got.MarshalJSON()
	if string(wj) != string(gj) {
		t.Fatalf("round trip:\n got %s\nwant %s", gj, wj)
	}
	raw, err := s.Client().Get(ctx, s.ResultKey(id)).Result()
	if err != nil || !strings.Contains(raw, `"html":"<b>"`) || !strings.Contains(raw, `"retry_count":1,`) {
		t.Fatalf("raw %s %v", raw, err)
	}
	if st := rawStatus(t, s, id); st != "completed" {
		t.Fatalf("status key %q", st)
	}
	for _, k := range []string{s.ResultKey(id), s.StatusKey(id)} {
		if ttl := s.Client().PTTL(ctx, k).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("TTL of %s = %v", k, ttl)
		}
	}

	if _, err := s.Get(ctx, "missing-"+newID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	// A record that is not JSON is an error, not ErrNotFound.
	bad := newID()
	s.Client().Set(ctx, s.ResultKey(bad), "not json", time.Minute)
	if _, err := s.Get(ctx, bad); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get garbage: %v", err)
	}
}

func TestWriteRejectsInvalid(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	for _, r := range []*Record{
		nil,
		{Status: StatusQueued},
		{JobID: "x", Status: "done"},
		{JobID: "x", Status: StatusQueued, Args: json.RawMessage(`{}`)},
	} {
		if _, err := s.Write(ctx, r); err == nil {
			t.Errorf("Write(%+v) accepted", r)
		}
	}
	// One invalid record fails the whole batch before anything is written.
	id := newID()
	if _, err := s.WriteMany(ctx, []*Record{rec(id, StatusQueued, 1), {JobID: "y"}}); err == nil {
		t.Fatal("WriteMany with an invalid record accepted")
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a record of a rejected batch was written: %v", err)
	}
}

type step struct {
	st      Status
	try     int
	applied bool
}

func TestWriteStatusForward(t *testing.T) { bothLayouts(t, testWriteStatusForward) }

func testWriteStatusForward(t *testing.T, s *Store) {
	cases := []struct {
		name       string
		steps      []step
		wantStatus Status
		wantTry    int
	}{
		{"late queued after completed (defect 4)", []step{
			{StatusQueued, 1, true}, {StatusInProgress, 1, true}, {StatusCompleted, 1, true}, {StatusQueued, 1, false},
		}, StatusCompleted, 1},
		{"queued arrives after completed, never written before", []step{
			{StatusCompleted, 1, true}, {StatusQueued, 1, false}, {StatusInProgress, 1, false},
		}, StatusCompleted, 1},
		{"late retrying try 1 after in_progress try 2", []step{
			{StatusInProgress, 1, true}, {StatusInProgress, 2, true}, {StatusRetrying, 1, false},
		}, StatusInProgress, 2},
		{"retrying try 1 then in_progress try 2", []step{
			{StatusInProgress, 1, true}, {StatusRetrying, 1, true}, {StatusInProgress, 2, true},
		}, StatusInProgress, 2},
		{"full retry cycle", []step{
			{StatusQueued, 1, true}, {StatusInProgress, 1, true}, {StatusRetrying, 1, true},
			{StatusQueued, 2, true}, {StatusInProgress, 2, true}, {StatusFailed, 2, true},
		}, StatusFailed, 2},
		{"terminal never replaced", []step{
			{StatusFailed, 1, true}, {StatusInProgress, 2, false}, {StatusCompleted, 2, false},
			{StatusQueued, 3, false}, {StatusAborted, 1, false}, {StatusFailed, 1, false},
		}, StatusFailed, 1},
		{"aborted is terminal", []step{
			{StatusQueued, 1, true}, {StatusAborted, 1, true}, {StatusCompleted, 1, false}, {StatusRetrying, 5, false},
		}, StatusAborted, 1},
		{"same status same try applied once", []step{
			{StatusQueued, 1, true}, {StatusQueued, 1, false}, {StatusInProgress, 1, true}, {StatusInProgress, 1, false},
			{StatusRetrying, 1, true}, {StatusRetrying, 1, false},
		}, StatusRetrying, 1},
		{"older status of the same try refused", []step{
			{StatusRetrying, 1, true}, {StatusInProgress, 1, false}, {StatusQueued, 1, false},
		}, StatusRetrying, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := newID()
			for i, st := range tc.steps {
				r := rec(id, st.st, st.try)
				r.WorkerID = fmt.Sprintf("step%d", i)
				mustWrite(t, s, r, st.applied)
			}
			got := mustGet(t, s, id)
			if got.Status != tc.wantStatus || got.JobTry != tc.wantTry || got.RetryCount != tc.wantTry-1 {
				t.Fatalf("stored %s try %d (retry_count %d), want %s try %d", got.Status, got.JobTry, got.RetryCount, tc.wantStatus, tc.wantTry)
			}
			if st := rawStatus(t, s, id); st != string(tc.wantStatus) {
				t.Fatalf("status key %q, want %q", st, tc.wantStatus)
			}
		})
	}
}

// Records written by the Python library carry retry_count but no job_try, and are ordered too.
func TestWriteOverPythonRecord(t *testing.T) { bothLayouts(t, testWriteOverPythonRecord) }

func testWriteOverPythonRecord(t *testing.T, s *Store) {
	ctx := testCtx(t, 10*time.Second)
	py := func(id, status string, retryCount int) {
		doc := fmt.Sprintf(`{"job_id": "%s", "status": "%s", "result": null, "error": null, "retry_count": %d, "args": [], "kwargs": {}}`,
			id, status, retryCount)
		if err := s.Client().Set(ctx, s.ResultKey(id), doc, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	a := newID()
	py(a, "retrying", 1) // try 2
	mustWrite(t, s, rec(a, StatusInProgress, 1), false)
	mustWrite(t, s, rec(a, StatusInProgress, 2), false) // rank 1 < retrying's 2
	mustWrite(t, s, rec(a, StatusQueued, 3), true)

	b := newID()
	py(b, "completed", 0)
	mustWrite(t, s, rec(b, StatusQueued, 1), false)
	mustWrite(t, s, rec(b, StatusInProgress, 9), false)

	// An unreadable or unknown stored record is replaced.
	c := newID()
	s.Client().Set(ctx, s.ResultKey(c), "garbage", time.Minute)
	mustWrite(t, s, rec(c, StatusQueued, 1), true)
	d := newID()
	py(d, "mystery", 0)
	mustWrite(t, s, rec(d, StatusQueued, 1), true)

	// A record too deeply nested for cjson still keeps its terminal status.
	e := newID()
	deep := strings.Repeat("[", 1500) + strings.Repeat("]", 1500)
	s.Client().Set(ctx, s.ResultKey(e), `{"job_id":"`+e+`","status":"completed","result":`+deep+`}`, time.Minute)
	mustWrite(t, s, rec(e, StatusInProgress, 2), false)
}

func TestWriteMany(t *testing.T) { bothLayouts(t, testWriteMany) }

func testWriteMany(t *testing.T, s *Store) {
	ctx := testCtx(t, 10*time.Second)
	done, fresh := newID(), newID()
	mustWrite(t, s, rec(done, StatusCompleted, 1), true)

	batch := []*Record{
		rec(fresh, StatusQueued, 1),
		rec(done, StatusQueued, 1),      // late queued: refused
		rec(fresh, StatusInProgress, 1), // same job later in the batch: applied after the first
		rec(fresh, StatusQueued, 1),     // and this one refused
	}
	var many []string
	for range 50 {
		id := newID()
		many = append(many, id)
		batch = append(batch, rec(id, StatusCompleted, 1))
	}
	applied, err := s.WriteMany(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false}
	for range 50 {
		want = append(want, true)
	}
	if fmt.Sprint(applied) != fmt.Sprint(want) {
		t.Fatalf("applied %v\nwant    %v", applied, want)
	}
	recs, err := s.GetMany(ctx, append([]string{done, fresh}, many...))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Status != StatusCompleted || recs[1].Status != StatusInProgress {
		t.Fatalf("statuses %s %s", recs[0].Status, recs[1].Status)
	}
	for i, r := range recs[2:] {
		if r == nil || r.JobID != many[i] || r.Status != StatusCompleted || rawStatus(t, s, many[i]) != "completed" {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if st := rawStatus(t, s, fresh); st != "in_progress" {
		t.Fatalf("status key of fresh %q", st)
	}
	if got, err := s.WriteMany(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty batch: %v %v", got, err)
	}
}

// evalBatch loads a script the server does not know (NOSCRIPT) and retries once. A script of its
// own is used, so flushing the shared server's script cache is not needed.
func TestEvalBatchNoScript(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	sc := redis.NewScript(fmt.Sprintf("-- %s\nreturn redis.call('INCR', KEYS[1])", newID()))
	key := s.Prefix() + ":counter"
	calls := []scriptCall{{keys: []string{key}}, {keys: []string{key}}, {keys: []string{key}}}
	for i, cmd := range s.evalBatch(ctx, sc, calls) {
		if n, err := cmd.Int(); err != nil || n != i+1 {
			t.Fatalf("call %d: %d %v", i, n, err)
		}
	}
}

func TestReserve(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	id := newID()
	r := rec(id, "", 1)

	existing, ok, err := s.Reserve(ctx, r)
	if err != nil || !ok || existing != nil {
		t.Fatalf("first Reserve: %v %v %v", existing, ok, err)
	}
	if r.Status != "" {
		t.Fatal("Reserve modified its argument")
	}
	if got := mustGet(t, s, id); got.Status != StatusQueued {
		t.Fatalf("reserved status %s", got.Status)
	}
	if st := rawStatus(t, s, id); st != "queued" {
		t.Fatalf("status key %q", st)
	}

	// Existing queued.
	other := rec(id, StatusQueued, 1)
	other.FunctionName = "other"
	existing, ok, err = s.Reserve(ctx, other)
	if err != nil || ok || existing == nil || existing.Status != StatusQueued || existing.FunctionName != "task" {
		t.Fatalf("Reserve of a queued id: %+v %v %v", existing, ok, err)
	}
	// Existing in progress, then completed.
	mustWrite(t, s, rec(id, StatusInProgress, 1), true)
	if existing, ok, _ = s.Reserve(ctx, other); ok || existing.Status != StatusInProgress {
		t.Fatalf("Reserve of a running id: %+v %v", existing, ok)
	}
	mustWrite(t, s, rec(id, StatusCompleted, 1), true)
	if existing, ok, _ = s.Reserve(ctx, other); ok || existing.Status != StatusCompleted {
		t.Fatalf("Reserve of a completed id: %+v %v", existing, ok)
	}
	if st := rawStatus(t, s, id); st != "completed" {
		t.Fatalf("status key %q after refused Reserve", st)
	}
	// After Delete the id is free again.
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok, err = s.Reserve(ctx, other); !ok || err != nil {
		t.Fatalf("Reserve after Delete: %v %v", ok, err)
	}

	if _, _, err := s.Reserve(ctx, rec(newID(), StatusInProgress, 1)); err == nil {
		t.Fatal("Reserve of an in_progress record accepted")
	}
	if _, _, err := s.Reserve(ctx, nil); err == nil {
		t.Fatal("Reserve(nil) accepted")
	}
}

// Concurrent Reserves of one id: exactly one wins.
func TestReserveRace(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 20*time.Second)
	for range 20 {
		id := newID()
		var wins sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wins.Add(1)
			go func() {
				defer wins.Done()
				_, ok, err := s.Reserve(ctx, rec(id, StatusQueued, 1))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wins.Wait()
		if won != 1 {
			t.Fatalf("%d Reserves won", won)
		}
	}
}

func TestGetMany(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	a, b, missing := newID(), newID(), newID()
	mustWrite(t, s, rec(a, StatusQueued, 1), true)
	mustWrite(t, s, rec(b, StatusCompleted, 1), true)
	recs, err := s.GetMany(ctx, []string{a, missing, b, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].JobID != a || recs[1] != nil || recs[2].JobID != b || recs[2].Status != StatusCompleted || recs[3].JobID != a {
		t.Fatalf("GetMany: %+v", recs)
	}
	if recs, err := s.GetMany(ctx, nil); err != nil || len(recs) != 0 {
		t.Fatalf("GetMany(nil): %v %v", recs, err)
	}
	s.Client().Set(ctx, s.ResultKey(missing), "{", time.Minute)
	if _, err := s.GetMany(ctx, []string{a, missing}); err == nil {
		t.Fatal("GetMany with an undecodable record succeeded")
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	id := newID()
	mustWrite(t, s, rec(id, StatusCompleted, 1), true)
	if err := s.Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if n := s.Client().Exists(ctx, s.ResultKey(id), s.StatusKey(id), s.AbortKey(id)).Val(); n != 0 {
		t.Fatalf("%d keys left", n)
	}
	if aborted, err := s.IsAborted(ctx, id); aborted || err != nil {
		t.Fatalf("IsAborted after Delete: %v %v", aborted, err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	// A terminal record can be replaced only after Delete.
	mustWrite(t, s, rec(id, StatusQueued, 1), true)
}

func TestAbort(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{TTL: time.Hour})
	ctx := testCtx(t, 15*time.Second)
	got := make(chan string, 16)
	stop, err := s.SubscribeAborts(ctx, func(id string) { got <- id })
	if err != nil {
		t.Fatal(err)
	}
	id, other := newID(), newID()
	if err := s.Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != id {
			t.Fatalf("received %q, want %q", g, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("abort not received")
	}
	if ok, err := s.IsAborted(ctx, id); !ok || err != nil {
		t.Fatalf("IsAborted(aborted) = %v %v", ok, err)
	}
	if ok, err := s.IsAborted(ctx, other); ok || err != nil {
		t.Fatalf("IsAborted(other) = %v %v", ok, err)
	}
	if ttl := s.Client().PTTL(ctx, s.AbortKey(id)).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("abort flag TTL %v", ttl)
	}
	if err := s.Abort(ctx, ""); err == nil {
		t.Fatal("Abort(\"\") accepted")
	}

	// After stop, nothing more is delivered; stop is idempotent.
	stop()
	stop()
	if err := s.Abort(ctx, other); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		t.Fatalf("received %q after stop", g)
	case <-time.After(200 * time.Millisecond):
	}

	// Ending the context stops a subscription too; two subscribers both hear an abort.
	subCtx, cancel := context.WithCancel(ctx)
	got2 := make(chan string, 16)
	stop2, err := s.SubscribeAborts(subCtx, func(id string) { got2 <- id })
	if err != nil {
		t.Fatal(err)
	}
	got3 := make(chan string, 16)
	stop3, err := s.SubscribeAborts(ctx, func(id string) { got3 <- id })
	if err != nil {
		t.Fatal(err)
	}
	defer stop3()
	third := newID()
	if err := s.Abort(ctx, third); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan string{got2, got3} {
		select {
		case g := <-ch:
			if g != third {
				t.Fatalf("received %q", g)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("abort not received by both subscribers")
		}
	}
	cancel()
	stop2() // returns although the context already stopped it
	if _, err := s.SubscribeAborts(ctx, nil); err == nil {
		t.Fatal("SubscribeAborts(nil) accepted")
	}
}

func TestStatsHasNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 15*time.Second)
	admin := openStore(t, Options{})
	user := "arqtest-" + newID()
	pass := "password-" + newID()
	if err := admin.Client().Do(ctx, "ACL", "SETUSER", user, "on", ">"+pass, "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { admin.Client().Do(context.Background(), "ACL", "DELUSER", user) })

	url := strings.Replace(testURL(), "redis://", "redis://"+user+":"+pass+"@", 1)
	s := openStoreURL(t, url, Options{TTL: 90 * time.Second})
	mustWrite(t, s, rec(newID(), StatusCompleted, 1), true)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(st)
	for _, text := range []string{fmt.Sprintf("%+v", st), fmt.Sprintf("%#v", st), string(js), s.URL()} {
		if strings.Contains(text, "password") || strings.Contains(text, pass) {
			t.Fatalf("stats reveal the password: %s", text)
		}
	}
	if !strings.Contains(st.URL, user+":xxxxx@") {
		t.Fatalf("URL %q", st.URL)
	}
	if st.Mode != ModeStandalone || st.RedisVersion == "" || st.UsedMemory <= 0 || st.UsedMemoryHuman == "" ||
		st.ConnectedClients < 1 || st.Keys < 2 || st.Prefix != s.Prefix() || st.TTL != 90*time.Second || st.TTLSeconds != 90 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("stats: %s", js)
}

func TestVersionLess(t *testing.T) {
	t.Parallel()
	if !versionLess("7.0.15", "7.2.4") || versionLess("7.2.4", "7.0.15") || !versionLess("6.2", "6.2.1") || versionLess("7.0.0", "7.0.0") {
		t.Fatal("versionLess")
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 10*time.Second)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Write(ctx, rec(newID(), StatusQueued, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if _, err := s.Wait(ctx, newID()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	if _, err := s.SubscribeAborts(ctx, func(string) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SubscribeAborts after Close: %v", err)
	}
	if _, err := s.Stats(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
}

// 500 jobs, each written by three racing goroutines as queued, in_progress and completed (try 1),
// in random order: the record and the status key always end completed.
func TestConcurrentWritesEndCompleted(t *testing.T) { bothLayouts(t, testConcurrentWritesEndCompleted) }

func testConcurrentWritesEndCompleted(t *testing.T, s *Store) {
	ctx := testCtx(t, 60*time.Second)
	const jobs = 500
	ids := make([]string, jobs)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	var mu sync.Mutex
	var errs []error
	for i := range ids {
		ids[i] = newID()
		order := []Status{StatusQueued, StatusInProgress, StatusCompleted}
		rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, st := range order {
			wg.Add(1)
			go func(id string, st Status) {
				defer wg.Done()
				<-startGun
				if _, err := s.Write(ctx, rec(id, st, 1)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}(ids[i], st)
		}
	}
	close(startGun)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d write errors, first: %v", len(errs), errs[0])
	}
	recs, err := s.GetMany(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	pipe := s.Client().Pipeline()
	stCmds := make([]*redis.StringCmd, jobs)
	for i, id := range ids {
		stCmds[i] = pipe.Get(ctx, s.StatusKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		if recs[i] == nil || recs[i].Status != StatusCompleted {
			t.Fatalf("job %d: record %+v", i, recs[i])
		}
		if v := stCmds[i].Val(); v != "completed" {
			t.Fatalf("job %d: status key %q", i, v)
		}
	}
}

func TestTransient(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"), true},
		{context.DeadlineExceeded, true},
		{serverReply("LOADING Redis is loading the dataset in memory"), true},
		{serverReply("ERR max number of clients reached"), true},
		{serverReply("WRONGPASS invalid username-password pair or user is disabled."), false},
		{serverReply("NOAUTH Authentication required."), false},
		{fmt.Errorf("handshake: %w", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
		{scrub(x509.HostnameError{Host: "redis.example"}, nil), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v", c.err, got)
		}
	}
}

// serverReply is an error reply of a Redis server, as go-redis returns one.
type serverReply string

func (e serverReply) Error() string { return string(e) }
func (serverReply) RedisError()     {}

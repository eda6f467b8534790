package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/control"
	"github.com/arqhost/arqhost/internal/store"
)

// taggedModule is the wat_tagged fixture answering tag ("v001"...): each tag is a module version
// whose results show which code ran.
func taggedModule(t *testing.T, tag string) []byte {
	t.Helper()
	src := os.Getenv("ARQHOST_FIXTURES")
	if src == "" {
		src = filepath.Join("..", "build", "fixtures")
	}
	b, err := os.ReadFile(filepath.Join(src, "tagged.wasm"))
	if err != nil {
		t.Fatalf("%v: run `make modules` first", err)
	}
	return bytes.Replace(b, []byte("v000"), []byte(tag), 1)
}

// installFile replaces dir/name atomically, as operators should: a temporary file, renamed.
func installFile(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// swapEnv is a worker that loads and watches its own modules directory, with the events it saw.
type swapEnv struct {
	*env
	dir    string
	w      *host.Worker
	mu     sync.Mutex
	events []registry.Event
}

func newSwapEnv(t *testing.T, concurrency int) *swapEnv {
	e := &swapEnv{env: newEnv(t), dir: t.TempDir()}
	installFile(t, e.dir, "tagged.wasm", taggedModule(t, "v000"))
	noop, err := os.ReadFile(filepath.Join(filepath.Dir(fixturePath(t)), "noop.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	installFile(t, e.dir, "noop.wasm", noop)
	cfg := e.config()
	cfg.Registry, cfg.Modules = nil, e.dir
	cfg.CacheDir = filepath.Join(os.TempDir(), "arqhost-test-cache")
	cfg.WatchModules, cfg.WatchDebounce = true, 30*time.Millisecond
	cfg.Concurrency, cfg.Prefetch = concurrency, 200
	cfg.Hooks.OnModuleChange = func(_ context.Context, ev registry.Event) {
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.mu.Unlock()
	}
	e.w = e.worker(cfg)
	return e
}

func fixturePath(t *testing.T) string {
	src := os.Getenv("ARQHOST_FIXTURES")
	if src == "" {
		src = filepath.Join("..", "build", "fixtures")
	}
	return filepath.Join(src, "tagged.wasm")
}

func (e *swapEnv) count(kind registry.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *swapEnv) servingVersion() string {
	for _, m := range e.w.Modules() {
		if m.Module == "tagged" && m.State == "active" {
			return m.Version
		}
	}
	return ""
}

// TestHotSwapUnderLoad replaces a module again and again (with a broken version among the good
// ones) while a worker drains thousands of jobs: no job fails or is lost, every result is tagged
// with the version that ran it, the broken version never serves, and every replaced version is
// closed once its last job is over.
func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	e := newSwapEnv(t, 8)
	c := e.client()
	const n = 3000
	// The jobs keep coming while the module is swapped: a worker drains a queue of 3,000 WAT jobs
	// in well under the first swap's debounce, so enqueueing them all first would test nothing.
	var jobs []*client.Job
	enqueue := func(k int) {
		reqs := make([]client.Request, k)
		for i := range reqs {
			reqs[i] = client.Request{Task: "wat_tagged"}
		}
		js, err := c.EnqueueBatch(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	enqueue(n / 12)
	versionTag := map[string]string{wasm.VersionOf(taggedModule(t, "v000")): "v000"}
	good := 0
	for i := 1; i <= 12; i++ {
		if i < 12 {
			enqueue(n / 12)
		}
		if i == 4 { // a broken replacement: refused, the serving version stays
			before := e.count(registry.Refused)
			installFile(t, e.dir, "tagged.wasm", taggedModule(t, "v003")[:200])
			waitFor(t, 10*time.Second, "the broken module to be refused", func() bool { return e.count(registry.Refused) > before })
			if got := versionTag[e.servingVersion()]; got != fmt.Sprintf("v%03d", good) {
				t.Fatalf("after a refused swap, %q serves; want v%03d", got, good)
			}
			continue
		}
		tag := fmt.Sprintf("v%03d", i)
		b := taggedModule(t, tag)
		versionTag[wasm.VersionOf(b)] = tag
		installFile(t, e.dir, "tagged.wasm", b)
		waitFor(t, 10*time.Second, tag+" to serve", func() bool { return e.servingVersion() == wasm.VersionOf(b) })
		good = i
		time.Sleep(time.Duration(10+i*5) * time.Millisecond) // rapid swaps first, then slower
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	var recs []*client.Result
	waitFor(t, 60*time.Second, "every job to finish", func() bool {
		var err error
		recs, err = c.Results(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r == nil || !r.Status.Terminal() {
				return false
			}
		}
		return true
	})
	byVersion := map[string]int{}
	for _, r := range recs {
		var tag string
		_ = json.Unmarshal(r.Result, &tag)
		if r.Status != store.StatusCompleted || r.JobTry != 1 {
			t.Fatalf("job %s: %s try %d: %v", r.JobID, r.Status, r.JobTry, r.Error)
		}
		if want, ok := versionTag[r.ModuleVersion]; !ok || want != tag {
			t.Fatalf("job %s ran %q but is tagged with version %.12s (%q)", r.JobID, tag, r.ModuleVersion, want)
		}
		byVersion[tag]++
	}
	if len(byVersion) < 2 {
		t.Fatalf("all %d jobs ran on one version (%v): the swaps came too late to test anything", n, byVersion)
	}
	// Every replaced version drains and closes: 11 good swaps.
	waitFor(t, 10*time.Second, "every replaced version to close", func() bool {
		return e.count(registry.Closed) == 11 && len(e.w.Registry().Draining()) == 0
	})
	if got := e.count(registry.Replaced); got != 11 {
		t.Fatalf("%d replaced events, want 11", got)
	}
	if mods := e.w.Modules(); len(mods) != 2 {
		t.Fatalf("modules after the swaps: %+v", mods)
	}
	if d := e.dlqDepth(); d != 0 {
		t.Fatalf("%d jobs dead-lettered", d)
	}
	if !strings.Contains(e.logs.String(), "module refused; the loaded version keeps serving") {
		t.Error("the refusal was not logged")
	}
	t.Logf("jobs by version: %v", byVersion)
}

func (e *env) dlqDepth() int {
	conn, err := broker.Dial(context.Background(), amqpURL, broker.DialOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	d, err := conn.Inspect(e.queue, broker.QueueOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d.DeadLettered
}

// TestRemovedModuleStopsServing removes a module file: jobs for its tasks then go where unknown
// tasks go (the DLQ), and adding it back serves them again.
func TestRemovedModuleStopsServing(t *testing.T) {
	t.Parallel()
	e := newSwapEnv(t, 4)
	c := e.client()
	j := enqueueMany(t, c, 1, "wat_tagged")[0]
	if res, err := wait(t, j, 10*time.Second); err != nil || res.Status != store.StatusCompleted {
		t.Fatalf("before removal: %v %v", res, err)
	}
	if err := os.Remove(filepath.Join(e.dir, "tagged.wasm")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the removal", func() bool { return e.count(registry.Removed) == 1 && e.count(registry.Closed) == 1 })
	j = enqueueMany(t, c, 1, "wat_tagged")[0]
	res, _ := wait(t, j, 10*time.Second)
	if res.Status != store.StatusFailed || res.ErrorType != "UnknownTask" {
		t.Fatalf("after removal: %s %s", res.Status, res.ErrorType)
	}
	d := e.dlqGet(5 * time.Second)
	if d.Headers["x-arqhost-outcome"] != "unknown_task" {
		t.Fatalf("DLQ headers: %v", d.Headers)
	}
	installFile(t, e.dir, "tagged.wasm", taggedModule(t, "v007"))
	waitFor(t, 10*time.Second, "the module to come back", func() bool { return e.count(registry.Added) == 1 })
	j = enqueueMany(t, c, 1, "wat_tagged")[0]
	if res, err := wait(t, j, 10*time.Second); err != nil || string(res.Result) != `"v007"` {
		t.Fatalf("after adding back: %v %v", res, err)
	}
}

// TestReloadOnRequest: a worker that does not watch its directory reloads when asked through its
// admin endpoint or the fleet control channel, and both list what it runs.
func TestReloadOnRequest(t *testing.T) {
	t.Parallel()
	e := &swapEnv{env: newEnv(t), dir: t.TempDir()}
	installFile(t, e.dir, "tagged.wasm", taggedModule(t, "v001"))
	cfg := e.config()
	cfg.Registry, cfg.Modules = nil, e.dir
	cfg.CacheDir = filepath.Join(os.TempDir(), "arqhost-test-cache")
	e.w = e.worker(cfg)
	v1, v2 := wasm.VersionOf(taggedModule(t, "v001")), wasm.VersionOf(taggedModule(t, "v002"))

	srv := httptest.NewServer(e.w.AdminHandler())
	defer srv.Close()
	var mods []host.ModuleInfo
	getJSON(t, srv.URL+"/modules", &mods)
	if len(mods) != 1 || mods[0].Version != v1 || mods[0].State != "active" || mods[0].Tasks[0] != "wat_tagged" {
		t.Fatalf("GET /modules: %+v", mods)
	}
	installFile(t, e.dir, "tagged.wasm", taggedModule(t, "v002"))
	time.Sleep(100 * time.Millisecond)
	if e.servingVersion() != v1 {
		t.Fatal("a worker that does not watch swapped by itself")
	}
	// A web page cannot trigger a reload (cross-site form post).
	resp, err := http.Post(srv.URL+"/modules/reload", "application/x-www-form-urlencoded", strings.NewReader("a=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || e.servingVersion() != v1 {
		t.Fatalf("form post: %d", resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+"/modules/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var res host.ReloadResult
	_ = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(res.Changes) != 1 || res.Changes[0].Event != "replaced" || res.Changes[0].Version != v2 || res.Changes[0].OldVersion != v1 {
		t.Fatalf("POST /modules/reload: %d %+v", resp.StatusCode, res)
	}
	// A broken file: 409 with the reason, and the old version keeps serving.
	installFile(t, e.dir, "tagged.wasm", []byte("not wasm"))
	resp, err = http.Post(srv.URL+"/modules/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || res.Changes[0].Event != "refused" || !strings.Contains(res.Changes[0].Error, "tagged.wasm") || e.servingVersion() != v2 {
		t.Fatalf("broken reload: %d %+v", resp.StatusCode, res)
	}

	// The control channel: only this worker consumes e.queue, so only it answers.
	conn, err := broker.Dial(context.Background(), amqpURL, broker.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	installFile(t, e.dir, "tagged.wasm", taggedModule(t, "v003"))
	replies, err := control.Call(context.Background(), conn, control.Request{Command: host.CommandReloadModules, Queues: []string{e.queue}},
		control.CallOptions{Wait: 5 * time.Second, Expect: 1})
	if err != nil || len(replies) != 1 || replies[0].WorkerID != e.w.ID() || replies[0].Error != "" {
		t.Fatalf("control reload: %v %+v", err, replies)
	}
	if err := json.Unmarshal(replies[0].Body, &res); err != nil || res.Changes[0].Event != "replaced" {
		t.Fatalf("control reload body: %v %s", err, replies[0].Body)
	}
	replies, err = control.Call(context.Background(), conn, control.Request{Command: host.CommandListModules, Queues: []string{e.queue}},
		control.CallOptions{Wait: 5 * time.Second, Expect: 1})
	if err != nil || len(replies) != 1 {
		t.Fatalf("control list: %v %+v", err, replies)
	}
	if err := json.Unmarshal(replies[0].Body, &mods); err != nil || mods[0].Version != wasm.VersionOf(taggedModule(t, "v003")) {
		t.Fatalf("control list body: %v %s", err, replies[0].Body)
	}
	replies, _ = control.Call(context.Background(), conn, control.Request{Command: "modules.explode", Queues: []string{e.queue}},
		control.CallOptions{Wait: 5 * time.Second, Expect: 1})
	if len(replies) != 1 || !strings.Contains(replies[0].Error, "unknown command") {
		t.Fatalf("unknown command: %+v", replies)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

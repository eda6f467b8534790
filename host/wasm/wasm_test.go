package wasm

import (
	"github.com/arqhost/arqhost/internal/syncbuf"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
)

// moduleDir returns the directory of built modules named by env (set by `make test`), or the
// repository's build directory.
func moduleDir(t testing.TB, env, sub string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join("..", "..", "build", sub)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("built modules not found in %s (%v): run `make modules` first", dir, err)
	}
	return dir
}

func fixture(t testing.TB, name string) string {
	return filepath.Join(moduleDir(t, "ARQHOST_FIXTURES", "fixtures"), name+".wasm")
}

func example(t testing.TB, name string) string {
	return filepath.Join(moduleDir(t, "ARQHOST_EXAMPLES", "examples"), name+".wasm")
}

// syncBuffer collects output from several goroutines (internal/syncbuf).
type syncBuffer = syncbuf.Buffer

func newEngine(t testing.TB, cfg Config) (*Engine, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.CacheDir == "" {
		cfg.CacheDir = "-"
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e, logs
}

func load(t testing.TB, e *Engine, path string, l Limits) *Module {
	t.Helper()
	m, err := e.LoadFile(context.Background(), path, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func job(task string, args string, kwargs string) *abi.Input {
	return &abi.Input{
		JobID: "job-" + task, Function: task, JobTry: 1,
		EnqueueTime: time.Now().UTC().Format(time.RFC3339Nano), QueueName: "q", WorkerID: "w1",
		Args: json.RawMessage(args), Kwargs: json.RawMessage(kwargs),
	}
}

func TestOutcomeClasses(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	cases := []struct {
		fixture string
		limits  Limits
		kind    Kind
		reason  string // substring of Outcome.Reason
	}{
		{"noop", Limits{}, Success, ""},
		{"retry", Limits{}, GuestError, ""},
		{"badjson", Limits{}, BadOutput, "not valid JSON"},
		{"badptr", Limits{}, BadOutput, "outside the"},
		{"trap", Limits{}, Trap, "unreachable"},
		{"recurse", Limits{}, Trap, "stack overflow"},
		{"memhog", Limits{MemoryPages: 32}, LimitExceeded, "memory"},
		{"loop", Limits{Timeout: 100 * time.Millisecond}, Timeout, "time limit"},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			t.Parallel()
			m := load(t, e, fixture(t, c.fixture), c.limits)
			o := m.Invoke(context.Background(), job("wat_"+c.fixture, "[]", "{}"))
			if o.Kind != c.kind || !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("outcome %s (%q, detail %q), want %s containing %q", o.Kind, o.Reason, o.Detail, c.kind, c.reason)
			}
			if o.Module != c.fixture || len(o.Version) != 64 {
				t.Fatalf("outcome not tagged with module and version: %q %q", o.Module, o.Version)
			}
			// The module keeps serving after any outcome: a broken instance is replaced.
			if again := m.Invoke(context.Background(), job("wat_"+c.fixture, "[]", "{}")); again.Kind != c.kind {
				t.Fatalf("second call: %s, want %s", again.Kind, c.kind)
			}
		})
	}
}

func TestGuestErrorFields(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	m := load(t, e, fixture(t, "retry"), Limits{})
	o := m.Invoke(context.Background(), job("wat_retry", "[]", "{}"))
	want := abi.Error{Kind: abi.KindRetry, Type: "Busy", Message: "try later", RetryAfterMs: 1500}
	if o.Kind != GuestError || *o.Error != want {
		t.Fatalf("got %s %+v, want guest error %+v", o.Kind, o.Error, want)
	}
	if o.Err().Error() != "Busy: try later" {
		t.Fatalf("Err() = %q", o.Err())
	}
}

func TestCanceledByCaller(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	m := load(t, e, fixture(t, "loop"), Limits{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	o := m.Invoke(ctx, job("wat_loop", "[]", "{}"))
	if o.Kind != Canceled {
		t.Fatalf("outcome %s (%s), want canceled", o.Kind, o.Reason)
	}
}

func TestTimeoutAccuracy(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	const limit = 300 * time.Millisecond
	for _, f := range []string{"loop"} {
		m := load(t, e, fixture(t, f), Limits{Timeout: limit})
		start := time.Now()
		o := m.Invoke(context.Background(), job("wat_"+f, "[]", "{}"))
		took := time.Since(start)
		if o.Kind != Timeout {
			t.Fatalf("%s: outcome %s, want timeout", f, o.Kind)
		}
		// Correctness, not speed: never stopped early, and stopped soon after the deadline (the
		// bound is loose because the test machine is shared).
		if took < limit || took > limit+time.Second {
			t.Fatalf("%s: stopped after %s, want %s plus a little", f, took, limit)
		}
	}
}

// TestRunawayRecursion covers a guest that recurses exponentially without loops (wazero's own
// interruption checked only loop back-edges, so it used to run on after its deadline): the check
// points at function entries stop it, it ends as a Timeout, and its instance is discarded.
func TestRunawayRecursion(t *testing.T) {
	e, _ := newEngine(t, Config{})
	m, err := e.LoadFile(context.Background(), fixture(t, "fib"), Limits{Timeout: 100 * time.Millisecond, MaxInstances: 2, MinInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := m.Invoke(context.Background(), job("wat_fib", "[]", "{}"))
	if o.Kind != Timeout {
		t.Fatalf("outcome %s (%q, %q), want timeout", o.Kind, o.Reason, o.Detail)
	}
	// Close waits for the guest to return and discards its instance.
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := m.Stats(); s.Live != 0 {
		t.Fatalf("instances left after Close: %+v", s)
	}
}

func TestPoolReusesHealthyAndReplacesBroken(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	m := load(t, e, fixture(t, "noop"), Limits{MaxInstances: 1, MinInstances: 1})
	first := m.pool.idle[0]
	for i := 0; i < 20; i++ {
		if o := m.Invoke(context.Background(), job("wat_noop", "[]", "{}")); o.Kind != Success {
			t.Fatal(o.Kind, o.Reason)
		}
	}
	if s := m.Stats(); s.Live != 1 || m.pool.idle[0] != first {
		t.Fatalf("healthy instance not reused: %+v", s)
	}

	tm := load(t, e, fixture(t, "trap"), Limits{MaxInstances: 2, MinInstances: 1})
	before := tm.pool.idle[0]
	if o := tm.Invoke(context.Background(), job("wat_trap", "[]", "{}")); o.Kind != Trap {
		t.Fatal(o.Kind)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tm.pool.mu.Lock()
		idle := append([]instance(nil), tm.pool.idle...)
		tm.pool.mu.Unlock()
		if len(idle) == 1 {
			if idle[0] == before {
				t.Fatal("trapped instance was put back")
			}
			if !before.(*nativeInstance).mod.IsClosed() {
				t.Fatal("trapped instance not closed")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("warm instance not replaced: %+v", tm.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{Concurrency: 4})
	noop := load(t, e, fixture(t, "noop"), Limits{MaxInstances: 8})
	retry := load(t, e, fixture(t, "retry"), Limits{})
	trap := load(t, e, fixture(t, "trap"), Limits{})
	if got := noop.Limits().MaxInstances; got != 4 {
		t.Fatalf("max instances %d, want the engine's concurrency 4", got)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				m, task, want := noop, "wat_noop", Success
				switch (g + i) % 3 {
				case 1:
					m, task, want = retry, "wat_retry", GuestError
				case 2:
					m, task, want = trap, "wat_trap", Trap
				}
				if o := m.Invoke(context.Background(), job(task, "[]", "{}")); o.Kind != want {
					errs <- task + ": " + o.Kind.String() + " " + o.Reason
				}
				if s := m.Stats(); s.Live > 4 {
					errs <- "more instances than allowed"
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestRefusedModules(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	notWasm := filepath.Join(t.TempDir(), "junk.wasm")
	if err := os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want string
	}{
		{fixture(t, "abi2"), "speaks ABI version 2; this host runs version 1"},
		{fixture(t, "command"), "is a WASI command"},
		{fixture(t, "badimport"), "imports env.read_secret"},
		{fixture(t, "reserved"), "imports from arqhost_rt, a namespace reserved for the host"},
		{notWasm, "not a valid WebAssembly module"},
		{filepath.Join(t.TempDir(), "missing.wasm"), "no such file"},
	}
	for _, c := range cases {
		_, err := e.LoadFile(context.Background(), c.path, Limits{})
		var le *LoadError
		if !errors.As(err, &le) || le.Path != c.path || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %v, want a LoadError naming the file and saying %q", c.path, err, c.want)
		}
	}
	if _, err := e.LoadFile(context.Background(), fixture(t, "abi2"), Limits{}); !errors.Is(err, ErrUnsupportedABI) {
		t.Errorf("abi2: %v does not wrap ErrUnsupportedABI", err)
	}
}

func TestExtismModule(t *testing.T) {
	t.Parallel()
	e, logs := newEngine(t, Config{})
	m := load(t, e, example(t, "extism_greet"), Limits{})
	if m.Flavor() != "extism" || len(m.Tasks()) != 1 || m.Tasks()[0] != "greet" {
		t.Fatalf("flavor %s tasks %v", m.Flavor(), m.Tasks())
	}
	o := m.Invoke(context.Background(), job("greet", `[]`, `{"name":"Ada"}`))
	if o.Kind != Success || !strings.Contains(string(o.Result), `"greeting":"Hello, Ada!"`) {
		t.Fatalf("%s %s %s", o.Kind, o.Reason, o.Result)
	}
	o = m.Invoke(context.Background(), job("greet", `[]`, `{}`))
	if o.Kind != GuestError || o.Error.Kind != abi.KindPermanent || o.Error.Type != "ValueError" {
		t.Fatalf("%s %+v", o.Kind, o.Error)
	}
	if !strings.Contains(logs.String(), `"msg":"greeting job-greet"`) || !strings.Contains(logs.String(), `"job_id":"job-greet"`) {
		t.Fatalf("guest log record missing or untagged:\n%s", logs.String())
	}
}

func TestExtismLimits(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	m := load(t, e, example(t, "extism_greet"), Limits{Timeout: 50 * time.Millisecond, MaxInstances: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if o := m.Invoke(ctx, job("greet", `[]`, `{"name":"x"}`)); o.Kind != Canceled {
		t.Fatalf("canceled context: %s", o.Kind)
	}
	if o := m.Invoke(context.Background(), job("greet", `[]`, `{"name":"x"}`)); o.Kind != Success {
		t.Fatalf("after cancel: %s %s", o.Kind, o.Reason)
	}
}

func TestDefaultMaxInstancesFollowsConcurrency(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{Concurrency: 50})
	if got := e.Defaults().MaxInstances; got != 50 {
		t.Fatalf("default max instances %d, want the concurrency 50", got)
	}
	e, _ = newEngine(t, Config{Concurrency: 50, Defaults: Limits{MaxInstances: 4}})
	if got := e.Defaults().MaxInstances; got != 4 {
		t.Fatalf("configured default max instances %d, want 4", got)
	}
}

func TestOutputLimit(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	for _, c := range []struct{ path, task, kwargs string }{
		{fixture(t, "noop"), "wat_noop", `{}`},
		{example(t, "extism_greet"), "greet", `{"name":"Ann"}`},
	} {
		m := load(t, e, c.path, Limits{MaxOutputBytes: 8})
		o := m.Invoke(context.Background(), job(c.task, "[]", c.kwargs))
		if o.Kind != LimitExceeded || o.Reason != "output" || !strings.Contains(o.Detail, "over the limit of 8 bytes") {
			t.Errorf("%s: %s %q %q, want limit_exceeded output", c.task, o.Kind, o.Reason, o.Detail)
		}
	}
}

func TestCompilationCacheOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 0; i < 2; i++ { // the second engine, like a restarted worker, reads what the first wrote
		e, _ := newEngine(t, Config{CacheDir: dir})
		m := load(t, e, fixture(t, "noop"), Limits{})
		if o := m.Invoke(context.Background(), job("wat_noop", "[]", "{}")); o.Kind != Success {
			t.Fatal(o.Kind)
		}
	}
	var files int
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatal("nothing was written to the compilation cache")
	}
}

func TestSetupIsBoundedByTheTimeout(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	start := time.Now()
	_, err := e.LoadFile(context.Background(), fixture(t, "initloop"), Limits{Timeout: 200 * time.Millisecond})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("loading a module that loops in _initialize: %v after %s", err, time.Since(start))
	}
}

func TestExtismMemoryBelowMinimumIsRefused(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	_, err := e.LoadFile(context.Background(), example(t, "extism_greet"), Limits{MemoryPages: 16})
	if err == nil || !strings.Contains(err.Error(), "needs at least") {
		t.Fatalf("got %v", err)
	}
}

func TestPoolNeverExceedsMax(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	m := load(t, e, fixture(t, "trap"), Limits{MinInstances: 2, MaxInstances: 2})
	var wg sync.WaitGroup
	var over atomic.Int32
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				m.Invoke(context.Background(), job("wat_trap", "[]", "{}")) // every call replaces its instance
				if m.Stats().Live > 2 {
					over.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if over.Load() > 0 {
		t.Fatalf("more than 2 instances seen %d times", over.Load())
	}
}

func TestCanceledAndClosedDoNotCostInstances(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	m, err := e.LoadFile(context.Background(), fixture(t, "noop"), Limits{MinInstances: 1, MaxInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := m.pool.idle[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 20; i++ {
		if o := m.Invoke(ctx, job("wat_noop", "[]", "{}")); o.Kind != Canceled {
			t.Fatalf("canceled context: %s", o.Kind)
		}
	}
	if m.pool.idle[0] != first {
		t.Fatal("a canceled call threw away the warm instance")
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := m.Invoke(context.Background(), job("wat_noop", "[]", "{}")); o.Kind != Canceled {
		t.Fatalf("after Close: %s %s", o.Kind, o.Reason)
	}
}

func TestExtismErrorSorting(t *testing.T) {
	for err, guest := range map[error]bool{
		errors.New("name is required"):                                          true,
		errors.New("failed to initialize runtime: wasm error: unreachable"):     false,
		errors.New("module is closed"):                                          false,
		errors.New("out of range (recovered by wazero)\nwasm stack trace: ..."): false,
		fmt.Errorf("wrapped: %w", errors.New("x")):                              false,
	} {
		if got := isExtismGuestError(err); got != guest {
			t.Errorf("%q: guest error %v, want %v", err, got, guest)
		}
	}
}

func TestTrapInStartFunctionIsRefused(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	_, err := e.LoadFile(context.Background(), fixture(t, "starttrap"), Limits{})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("loading a module that traps in its start function: %v", err)
	}
	t.Log(err)
}

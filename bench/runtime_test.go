package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/wasm"
)

func modulePath(b *testing.B, env, sub, name string) string {
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join("..", "build", sub)
	}
	p := filepath.Join(dir, name+".wasm")
	if _, err := os.Stat(p); err != nil {
		b.Fatalf("%v: run `make modules` first", err)
	}
	return p
}

// guests are the modules measured, each with a no-op (or nearly) task.
var guests = []struct {
	name, env, sub, file, task, kwargs string
}{
	{"wat", "ARQHOST_FIXTURES", "fixtures", "noop", "wat_noop", `{}`},
	{"go", "ARQHOST_EXAMPLES", "examples", "email", "noop", `{}`},
	{"rust", "ARQHOST_EXAMPLES", "examples", "rust_email", "rust_noop", `{}`},
	{"c", "ARQHOST_EXAMPLES", "examples", "c_example", "c_noop", `{}`},
	{"go_send_email", "ARQHOST_EXAMPLES", "examples", "email", "send_email", `{"to":"ann@example.com","subject":"hi","body":"hello"}`},
	{"rust_send_email", "ARQHOST_EXAMPLES", "examples", "rust_email", "rust_send_email", `{"to":"ann@example.com","subject":"hi","body":"hello"}`},
	{"extism_go", "ARQHOST_EXAMPLES", "examples", "extism_greet", "greet", `{"name":"Ann"}`},
}

func newModule(b *testing.B, path string, concurrency int) *wasm.Module {
	e, err := wasm.NewEngine(wasm.Config{CacheDir: b.TempDir(), Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	m, err := e.LoadFile(context.Background(), path, wasm.Limits{Timeout: 30 * time.Second, MinInstances: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = m.Close(context.Background())
		_ = e.Close(context.Background())
	})
	return m
}

func input(task, kwargs string) *abi.Input {
	return &abi.Input{JobID: "0123456789abcdef0123456789abcdef", Function: task, JobTry: 1,
		EnqueueTime: "2026-11-26T10:00:00.123456Z", QueueName: "default", WorkerID: "bench",
		Args: json.RawMessage(`[]`), Kwargs: json.RawMessage(kwargs)}
}

// BenchmarkInvoke measures one job's round trip through Module.Invoke on a warm instance: encode
// the input, copy it in, run the task, copy the output out and decode it, with the job's timeout
// enforced (as in production).
func BenchmarkInvoke(b *testing.B) {
	for _, g := range guests {
		b.Run(g.name, func(b *testing.B) {
			m := newModule(b, modulePath(b, g.env, g.sub, g.file), 1)
			in := input(g.task, g.kwargs)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if o := m.Invoke(context.Background(), in); o.Kind != wasm.Success {
					b.Fatal(o.Kind, o.Reason, o.Error)
				}
			}
		})
	}
}

// BenchmarkInvokeParallel is BenchmarkInvoke from GOMAXPROCS goroutines sharing one module's pool.
func BenchmarkInvokeParallel(b *testing.B) {
	for _, g := range guests[:2] {
		b.Run(g.name, func(b *testing.B) {
			m := newModule(b, modulePath(b, g.env, g.sub, g.file), 4)
			in := input(g.task, g.kwargs)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if o := m.Invoke(context.Background(), in); o.Kind != wasm.Success {
						b.Error(o.Kind, o.Reason)
						return
					}
				}
			})
		})
	}
}

// BenchmarkLoad measures loading a module from its bytes: compile, check, instantiate once, read
// the manifest. "warm" has the on-disk compilation cache filled (a worker restart), "cold" starts
// from an empty cache each time (a new module version).
func BenchmarkLoad(b *testing.B) {
	for _, g := range guests[:2] {
		path := modulePath(b, g.env, g.sub, g.file)
		code, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, warm := range []bool{true, false} {
			name := g.name + "/cold"
			if warm {
				name = g.name + "/warm"
			}
			b.Run(name, func(b *testing.B) {
				shared := b.TempDir()
				for b.Loop() {
					dir := shared
					if !warm {
						dir, _ = os.MkdirTemp(shared, "cache")
					}
					e, err := wasm.NewEngine(wasm.Config{CacheDir: dir})
					if err != nil {
						b.Fatal(err)
					}
					m, err := e.Load(context.Background(), path, code, wasm.Limits{})
					if err != nil {
						b.Fatal(err)
					}
					_ = m.Close(context.Background())
					_ = e.Close(context.Background())
				}
			})
		}
	}
}

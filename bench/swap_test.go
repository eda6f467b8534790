package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
)

// withVersion returns wasm with a custom section appended: the same code under another version
// (hash), as a rebuilt module would be. A new version is never in the compilation cache.
func withVersion(wasm []byte, n int) []byte {
	name := "arqhost.bench"
	payload := fmt.Appendf(nil, "%d-%x", n, time.Now().UnixNano())
	body := append(leb(uint32(len(name))), name...)
	body = append(body, payload...)
	out := append(append([]byte(nil), wasm...), 0) // custom section id
	out = append(out, leb(uint32(len(body)))...)
	return append(out, body...)
}

func leb(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		out = append(out, c)
		if v == 0 {
			return out
		}
	}
}

// moduleDir makes a modules directory holding one module; it returns the module's bytes, the
// directory and the module's path in it.
func moduleDir(b *testing.B, env, sub, file string) (code []byte, dir, path string) {
	code, err := os.ReadFile(modulePath(b, env, sub, file))
	if err != nil {
		b.Fatal(err)
	}
	dir = b.TempDir()
	path = filepath.Join(dir, file+".wasm")
	replace(b, path, code)
	return code, dir, path
}

func replace(b *testing.B, path string, code []byte) {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, code, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
}

var swapGuests = []struct{ name, env, sub, file, task string }{
	{"wat", "ARQHOST_FIXTURES", "fixtures", "noop", "wat_noop"},
	{"go", "ARQHOST_EXAMPLES", "examples", "email", "noop"},
}

// BenchmarkSwapLatency measures, per swap, the time from a module file being replaced (renamed
// into place) to the first job that runs on the new version, while jobs run without pause on
// every core. "watch" goes through the directory watcher with its default debounce (250ms, which
// is also the settle time that guards against half-written files); "reload" calls Reload at once,
// which leaves the cost of compiling, validating and warming the new version.
func BenchmarkSwapLatency(b *testing.B) {
	for _, g := range swapGuests {
		for _, mode := range []string{"watch", "reload"} {
			b.Run(g.name+"/"+mode, func(b *testing.B) {
				code, dir, path := moduleDir(b, g.env, g.sub, g.file)
				e, err := wasm.NewEngine(wasm.Config{CacheDir: b.TempDir(), Concurrency: 8})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close(context.Background())
				r, err := registry.Load(context.Background(), e, dir)
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close(context.Background())
				if mode == "watch" {
					stop, err := r.Watch(context.Background(), registry.WatchOptions{})
					if err != nil {
						b.Fatal(err)
					}
					defer stop()
				}
				// Jobs run all the time; each records the version it ran on.
				var firstOn firstRuns
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				for range 2 {
					go func() {
						in := &abi.Input{JobID: "j", Function: g.task, JobTry: 1, Args: []byte(`[]`), Kwargs: []byte(`{}`)}
						for ctx.Err() == nil {
							o := r.Invoke(ctx, in)
							firstOn.seen(o.Version, time.Now())
						}
					}()
				}
				var lat []time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					next := withVersion(code, i)
					v := wasm.VersionOf(next)
					start := time.Now()
					replace(b, path, next)
					if mode == "reload" {
						if _, err := r.Reload(context.Background(), registry.ReloadOptions{}); err != nil {
							b.Fatal(err)
						}
					}
					at := firstOn.wait(b, v, 60*time.Second)
					lat = append(lat, at.Sub(start))
				}
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
			})
		}
	}
}

// firstRuns records when each version first ran a job.
type firstRuns struct {
	m atomic.Pointer[map[string]time.Time]
}

func (s *firstRuns) seen(v string, at time.Time) {
	for {
		old := s.m.Load()
		if old != nil {
			if _, ok := (*old)[v]; ok {
				return
			}
		}
		next := map[string]time.Time{v: at}
		if old != nil {
			for k, t := range *old {
				next[k] = t
			}
		}
		if s.m.CompareAndSwap(old, &next) {
			return
		}
	}
}

func (s *firstRuns) wait(b *testing.B, v string, d time.Duration) time.Time {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m := s.m.Load(); m != nil {
			if at, ok := (*m)[v]; ok {
				return at
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.Fatalf("version %.12s never ran a job", v)
	return time.Time{}
}

// BenchmarkDrainDuringSwaps is BenchmarkDrain with the module's file replaced by a new version
// every 500ms while the worker drains ("swapping"), next to the same drain without swaps
// ("steady"), in one run. Every job must complete; the swaps are counted.
func BenchmarkDrainDuringSwaps(b *testing.B) {
	for _, g := range swapGuests {
		for _, mode := range []string{"steady", "swapping"} {
			b.Run(g.name+"/"+mode, func(b *testing.B) {
				code, dir, path := moduleDir(b, g.env, g.sub, g.file)
				queue, prefix := enqueueJobs(b, g.task, b.N)
				defer cleanup(queue)
				ctx := context.Background()
				var done, failed, swaps atomic.Int64
				finished := make(chan struct{})
				total := int64(b.N)
				w, err := host.New(ctx, host.Config{
					RedisURL: "redis://127.0.0.1:6379/0", KeyPrefix: prefix, ResultTTL: time.Minute, Queues: []string{queue},
					Modules: dir, Concurrency: 8, Prefetch: 200, CacheDir: b.TempDir(), WatchModules: mode == "swapping",
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
					Hooks: host.Hooks{
						OnJobEnd: func(ctx context.Context, j host.JobInfo, o *wasm.Outcome) {
							if o.Kind != wasm.Success {
								failed.Add(1)
							}
							if done.Add(1) == total {
								close(finished)
							}
						},
						OnModuleChange: func(ctx context.Context, ev registry.Event) {
							if ev.Kind == registry.Replaced {
								swaps.Add(1)
							}
						},
					},
				})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				start := time.Now()
				if err := w.Start(ctx); err != nil {
					b.Fatal(err)
				}
				if mode == "swapping" {
					go func() {
						for i := 0; ; i++ {
							select {
							case <-finished:
								return
							case <-time.After(500 * time.Millisecond):
								replace(b, path, withVersion(code, i))
							}
						}
					}()
				}
				<-finished
				elapsed := time.Since(start)
				b.StopTimer()
				_ = w.Stop(ctx)
				if failed.Load() > 0 {
					b.Fatalf("%d jobs failed", failed.Load())
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
				b.ReportMetric(float64(swaps.Load()), "swaps")
			})
		}
	}
}

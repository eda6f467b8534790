package wasm

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkInstantiate measures creating one more instance of a compiled module: what a pool pays
// to grow or to replace an instance discarded after a trap or timeout.
func BenchmarkInstantiate(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"wat", fixture(b, "noop")},
		{"go", example(b, "email")},
		{"extism_go", example(b, "extism_greet")},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, _ := newEngine(b, Config{})
			m := load(b, e, c.path, Limits{})
			newInstance := m.pool.newInstance
			b.ReportAllocs()
			for b.Loop() {
				in, err := newInstance(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				in.close(context.Background())
			}
		})
	}
}

// noInterrupt leaves guests uninterruptible: only for measuring what interruption costs.
type noInterrupt struct{}

func (noInterrupt) runtimeConfig(c wazero.RuntimeConfig) wazero.RuntimeConfig { return c }

// BenchmarkInterruptCost measures a no-op job with and without the interrupt mechanism, in one
// run, so that its cost can be read off directly.
func BenchmarkInterruptCost(b *testing.B) {
	for _, c := range []struct{ name, path, task string }{
		{"wat", fixture(b, "noop"), "wat_noop"},
		{"go", example(b, "email"), "noop"},
	} {
		for _, mode := range []struct {
			name string
			i    interrupter
		}{{"close_on_context_done", closeOnContextDone{}}, {"none", noInterrupt{}}} {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				e, _ := newEngine(b, Config{})
				e.interrupt = mode.i
				m := load(b, e, c.path, Limits{})
				in := job(c.task, "[]", "{}")
				b.ReportAllocs()
				for b.Loop() {
					if o := m.Invoke(context.Background(), in); o.Kind != Success {
						b.Fatal(o.Kind, o.Reason)
					}
				}
			})
		}
	}
}

package wasm

import (
	"context"
	"slices"
	"testing"
	"time"

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
type noInterrupt struct{ closeOnContextDone }

func (noInterrupt) runtimeConfig(c wazero.RuntimeConfig) wazero.RuntimeConfig { return c }

// BenchmarkInterruptCost measures a no-op job (and "wat_work", a CPU-bound one made of calls and
// loops, where every check point is paid) under each interrupt mechanism, in one run, so that
// their costs can be read off directly: "none" (no way to stop a guest: the floor), wazero's
// "close_on_context_done" (what arqhost used before) and "budget_checks" (the rewrite it uses now).
func BenchmarkInterruptCost(b *testing.B) {
	for _, c := range []struct{ name, path, task string }{
		{"wat", fixture(b, "noop"), "wat_noop"},
		{"wat_work", fixture(b, "work"), "wat_work"},
		{"c", example(b, "c_example"), "c_noop"},
		{"rust", example(b, "rust_email"), "rust_noop"},
		{"go", example(b, "email"), "noop"},
		{"extism_go", example(b, "extism_greet"), "greet"},
	} {
		for _, mode := range []struct {
			name string
			i    interrupter
		}{{"none", noInterrupt{}}, {"close_on_context_done", closeOnContextDone{}}, {"budget_checks", budgetChecks{budget: checkBudget}}} {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				e, _ := newEngine(b, Config{})
				e.interrupt = mode.i
				m := load(b, e, c.path, Limits{})
				kwargs := "{}"
				if c.task == "greet" {
					kwargs = `{"name":"Bo"}`
				}
				in := job(c.task, "[]", kwargs)
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

// BenchmarkInterruptLatency measures how late a runaway guest is stopped after its deadline: a
// tight loop without calls ("loop") and an exponential recursion without loops ("fib"), each with
// a 20ms timeout. ms-p50/ms-p99/ms-max are the time from the deadline to Invoke's return.
func BenchmarkInterruptLatency(b *testing.B) {
	const limit = 20 * time.Millisecond
	for _, f := range []string{"loop", "fib"} {
		b.Run(f, func(b *testing.B) {
			e, _ := newEngine(b, Config{})
			m := load(b, e, fixture(b, f), Limits{Timeout: limit, MaxInstances: 1, MinInstances: 1})
			in := job("wat_"+f, "[]", "{}")
			var late []time.Duration
			for b.Loop() {
				start := time.Now()
				if o := m.Invoke(context.Background(), in); o.Kind != Timeout {
					b.Fatal(o.Kind, o.Reason)
				}
				late = append(late, time.Since(start)-limit)
			}
			slices.Sort(late)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(late[len(late)/2]), "ms-p50")
			b.ReportMetric(ms(late[len(late)*99/100]), "ms-p99")
			b.ReportMetric(ms(late[len(late)-1]), "ms-max")
		})
	}
}

// BenchmarkInterruptCostPaired runs one no-op job under each mechanism in turn, in every iteration,
// and reports each one's mean time per job (us-none, us-close, us-budget) and the budget checks'
// overhead over none (pct-budget). Alternating cancels the drift of a shared, noisy machine that
// makes separate sub-benchmarks hard to compare.
func BenchmarkInterruptCostPaired(b *testing.B) {
	for _, c := range []struct{ name, path, task, kwargs string }{
		{"wat", fixture(b, "noop"), "wat_noop", "{}"},
		{"wat_work", fixture(b, "work"), "wat_work", "{}"},
		{"c", example(b, "c_example"), "c_noop", "{}"},
		{"rust", example(b, "rust_email"), "rust_noop", "{}"},
		{"go", example(b, "email"), "noop", "{}"},
		{"extism_go", example(b, "extism_greet"), "greet", `{"name":"Bo"}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			modes := []interrupter{noInterrupt{}, closeOnContextDone{}, budgetChecks{budget: checkBudget}}
			mods := make([]*Module, len(modes))
			for i, mode := range modes {
				e, _ := newEngine(b, Config{})
				e.interrupt = mode
				mods[i] = load(b, e, c.path, Limits{})
			}
			in := job(c.task, "[]", c.kwargs)
			spent := make([]time.Duration, len(modes))
			for b.Loop() {
				for i, m := range mods {
					start := time.Now()
					if o := m.Invoke(context.Background(), in); o.Kind != Success {
						b.Fatal(o.Kind, o.Reason)
					}
					spent[i] += time.Since(start)
				}
			}
			us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(us(spent[0]), "us-none")
			b.ReportMetric(us(spent[1]), "us-close")
			b.ReportMetric(us(spent[2]), "us-budget")
			b.ReportMetric(100*(float64(spent[2])/float64(spent[0])-1), "pct-budget")
		})
	}
}

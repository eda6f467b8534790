package instrument

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// errStopped is what the test's check function panics with to stop a guest.
var errStopped = errors.New("stopped by the check function")

// checker is the host side of the check import for tests: it counts calls, returns a fixed
// budget, and stops the guest (panics) after limit calls or once the call's context is done.
type checker struct {
	calls  atomic.Int64
	budget int32
	limit  int64 // 0: no limit
}

func (c *checker) check(ctx context.Context) int32 {
	n := c.calls.Add(1)
	if c.limit > 0 && n > c.limit {
		panic(errStopped)
	}
	if err := ctx.Err(); err != nil {
		panic(err)
	}
	return c.budget
}

// instantiate instantiates a module in a new runtime with the test's host modules: "env" (add,
// log, clock) and, if c is not nil, "arqhost_rt" with c's check.
func instantiate(t *testing.T, wasm []byte, c *checker) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := newTestRuntime(t)
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(a, b int32) int32 { return a + b }).Export("add").
		NewFunctionBuilder().WithFunc(func(int32) {}).Export("log").
		NewFunctionBuilder().WithFunc(func() int64 { return 42 }).Export("clock").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c != nil {
		if _, err := rt.NewHostModuleBuilder(defaultImportModule).
			NewFunctionBuilder().WithFunc(c.check).Export(defaultImportName).
			Instantiate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return mod
}

// call is one call of an exported function and what the instrumented module must do in it.
type call struct {
	fn        string
	args      []uint64
	minChecks int64 // the least number of times the instrumented module calls check
}

// f64 encodes a float64 argument.
func f64(f float64) uint64 { return api.EncodeF64(f) }

var behaviourCases = []struct {
	file  string
	calls []call
}{
	{"loops.wasm", []call{
		{"sum", []uint64{0}, 0},
		{"sum", []uint64{10}, 1},
		{"sum", []uint64{100000}, 100000},
		{"nested", []uint64{30, 40}, 1200},
		{"nested", []uint64{5, 0}, 5},
		{"doubling", []uint64{3, 5}, 5},
		{"swap_sum", []uint64{10, 3}, 0},
		{"dispatch", []uint64{1000}, 1000},
		{"straight", []uint64{4}, 0},
	}},
	{"recursion.wasm", []call{
		{"fib", []uint64{0}, 0},
		{"fib", []uint64{20}, 10000},
		{"even", []uint64{1000}, 1000},
		{"even", []uint64{1001}, 1000},
	}},
	{"tables.wasm", []call{
		{"started", nil, 0},
		{"apply", []uint64{0, 7, 5}, 0},
		{"apply", []uint64{1, 7, 5}, 0},
		{"apply", []uint64{2, 7, 5}, 0},
		{"apply", []uint64{3, 7, 5}, 0}, // null: traps in both
		{"apply", []uint64{4, 7, 5}, 0},
		{"apply", []uint64{9, 7, 5}, 0}, // out of bounds: traps in both
		{"apply_u", []uint64{0, 7, 5}, 0},
		{"apply_u", []uint64{1, 7, 5}, 0},
		{"apply_u", []uint64{2, 7, 5}, 0},
		{"apply_u", []uint64{3, 7, 5}, 0},
		{"is_null", []uint64{3}, 0},
		{"is_null", []uint64{2}, 0},
		{"refs", []uint64{3, 9}, 0},
		{"fold", []uint64{6, 2}, 5},
		{"late", []uint64{4, 3}, 0},
		{"mul", []uint64{6, 7}, 0},
		{"add", []uint64{2, 3}, 0},
	}},
	{"simd.wasm", []call{
		{"shuffle_sum", nil, 16},
		{"lanes", []uint64{5}, 0},
		{"lanes", []uint64{65536}, 0}, // out of bounds: traps in both
		{"fma", []uint64{f64(1.5), f64(2)}, 0},
	}},
	{"bulk.wasm", []call{
		{"mem", nil, 8},
		{"mem", nil, 0}, // the data segment was dropped: traps in both
		{"tables", []uint64{5}, 6},
		{"tables", []uint64{5}, 0}, // the element segment was dropped: traps in both
		{"grow", nil, 0},
	}},
	{"fixtures/fib.wasm", []call{
		{"arqhost_abi_version", nil, 0},
	}},
}

// TestBehaviour runs the test modules before and after instrumentation: every call returns the
// same results (or traps in both), and the instrumented module calls check where it loops or
// recurses. The check function returns a budget of 5, and so is called often.
func TestBehaviour(t *testing.T) {
	ctx := context.Background()
	for _, tc := range behaviourCases {
		t.Run(tc.file, func(t *testing.T) {
			in := readTestdata(t, tc.file)
			out, info, err := Instrument(in, Options{Budget: 5})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", info)
			c := &checker{budget: 5}
			orig := instantiate(t, in, nil)
			inst := instantiate(t, out, c)
			for _, cl := range tc.calls {
				name := fmt.Sprintf("%s%v", cl.fn, cl.args)
				before := c.calls.Load()
				want, werr := orig.ExportedFunction(cl.fn).Call(ctx, cl.args...)
				got, gerr := inst.ExportedFunction(cl.fn).Call(ctx, cl.args...)
				checks := c.calls.Load() - before
				switch {
				case (werr == nil) != (gerr == nil):
					t.Errorf("%s: error %v, want %v", name, gerr, werr)
				case werr != nil:
					if firstLine(werr) != firstLine(gerr) {
						t.Errorf("%s: error %q, want %q", name, firstLine(gerr), firstLine(werr))
					}
				case fmt.Sprint(got) != fmt.Sprint(want):
					t.Errorf("%s = %v, want %v", name, got, want)
				}
				if checks < cl.minChecks {
					t.Errorf("%s: check called %d times, want at least %d", name, checks, cl.minChecks)
				}
				t.Logf("%s = %v (err %v), %d checks", name, got, gerr, checks)
			}
		})
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// TestBudgetCounts checks that the budget global falls by the work done and that check is called
// when, and only when, it falls below zero: with a budget of a million, a short call never calls
// check; a long one calls it about (instructions / budget) times.
func TestBudgetCounts(t *testing.T) {
	ctx := context.Background()
	in := readTestdata(t, "loops.wasm")
	out, _, err := Instrument(in, Options{Budget: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{budget: 1_000_000}
	mod := instantiate(t, out, c)
	if _, err := mod.ExportedFunction("sum").Call(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 0 {
		t.Errorf("sum(1000) with a budget of 1e6: %d checks, want 0", n)
	}
	// sum's loop body costs 12 instructions (local.get, i32.eqz, br_if; local.get, local.get,
	// i32.add, local.set; local.get, i32.const, i32.sub, local.set; br; its end, after the br, is
	// never reached): 10 million iterations cost 120 million.
	if _, err := mod.ExportedFunction("sum").Call(ctx, 10_000_000); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 120 {
		t.Errorf("sum(1e7) with a budget of 1e6: %d checks, want 120", n)
	}
}

// TestEndlessLoopStops runs (loop br 0): the check function stops it after 1000 checks.
func TestEndlessLoopStops(t *testing.T) {
	out, _, err := Instrument(readTestdata(t, "loops.wasm"), Options{Budget: 5})
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{budget: 5, limit: 1000}
	mod := instantiate(t, out, c)
	_, err = mod.ExportedFunction("spin").Call(context.Background())
	if !errors.Is(err, errStopped) {
		t.Fatalf("spin: %v, want %v", err, errStopped)
	}
	if n := c.calls.Load(); n != 1001 {
		t.Errorf("check called %d times, want 1001", n)
	}
}

// TestEndlessLoopDeadline runs (loop br 0) with a deadline: the check function sees the context
// end and stops the guest, with no other help from wazero.
func TestEndlessLoopDeadline(t *testing.T) {
	out, _, err := Instrument(readTestdata(t, "loops.wasm"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{budget: defaultBudget}
	mod := instantiate(t, out, c)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = mod.ExportedFunction("spin").Call(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("spin: %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopped after %v", d)
	}
	t.Logf("stopped after %v and %d checks", time.Since(start), c.calls.Load())
}

// TestEndlessRecursionStops runs a function that calls itself without a loop. Uninstrumented it
// overflows the stack; instrumented, the check at its entry stops it first.
func TestEndlessRecursionStops(t *testing.T) {
	ctx := context.Background()
	in := readTestdata(t, "recursion.wasm")
	_, err := instantiate(t, in, nil).ExportedFunction("down").Call(ctx, 0)
	if err == nil || !strings.Contains(err.Error(), "stack overflow") {
		t.Fatalf("original: %v, want a stack overflow", err)
	}
	out, _, err := Instrument(in, Options{Budget: 5})
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{budget: 5, limit: 10000}
	_, err = instantiate(t, out, c).ExportedFunction("down").Call(ctx, 0)
	if !errors.Is(err, errStopped) {
		t.Fatalf("instrumented: %v, want %v", err, errStopped)
	}
}

// TestInfo checks the indices Instrument reports against a module with imported functions and
// defined globals, and the options for the import's names and the budget.
func TestInfo(t *testing.T) {
	in := readTestdata(t, "tables.wasm") // imports env.add; defines 2 globals and 13 functions
	out, info, err := Instrument(in, Options{ImportModule: "rt", ImportName: "tick", Budget: math.MaxInt32})
	if err != nil {
		t.Fatal(err)
	}
	want := Info{CheckFunc: 1, Global: 2, Functions: 13, Points: 13 + 1} // one loop, in fold
	if info != want {
		t.Errorf("info %+v, want %+v", info, want)
	}
	c, err := newTestRuntime(t).CompileModule(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	fns := c.ImportedFunctions()
	if m, n, _ := fns[len(fns)-1].Import(); m != "rt" || n != "tick" {
		t.Errorf("import %s.%s, want rt.tick", m, n)
	}
}

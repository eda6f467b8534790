package wasmgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// testSeed returns the i-th test seed: 1 to 16 bytes derived from i.
func testSeed(i int) []byte {
	h := sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(i)))
	return h[:1+i%16]
}

func numSeeds(t *testing.T) int {
	if testing.Short() {
		return 200
	}
	return 2000
}

// callArgs returns the argument sets a test calls a function with n params.
func callArgs(n int) [][]uint64 {
	vals := []uint64{0, 1, ^uint64(0), 7, 0x80000000, 0x123456789ABCDEF0}
	var sets [][]uint64
	for k := range vals {
		a := make([]uint64, n)
		for i := range a {
			a[i] = vals[(k+i)%len(vals)]
		}
		sets = append(sets, a)
		if n == 0 {
			break
		}
	}
	return sets
}

func newRuntime(ctx context.Context, t testing.TB, cfg wazero.RuntimeConfig) wazero.Runtime {
	rt := wazero.NewRuntimeWithConfig(ctx, cfg.WithCoreFeatures(api.CoreFeaturesV2).WithCloseOnContextDone(true))
	if _, err := rt.InstantiateWithConfig(ctx, EnvModule(), wazero.NewModuleConfig().WithName(EnvModuleName)); err != nil {
		t.Fatalf("env module: %v", err)
	}
	return rt
}

// runModule compiles and instantiates bin and calls every exported function with the argument
// sets of callArgs. It returns an error on a compile error or any trap.
func runModule(ctx context.Context, rt wazero.Runtime, bin []byte) (calls int, err error) {
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return 0, fmt.Errorf("compile: %w", err)
	}
	defer cm.Close(ctx)
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return 0, fmt.Errorf("instantiate: %w", err)
	}
	defer mod.Close(ctx)
	for name, def := range cm.ExportedFunctions() {
		fn := mod.ExportedFunction(name)
		for _, args := range callArgs(len(def.ParamTypes())) {
			if _, err := fn.Call(ctx, args...); err != nil {
				return calls, fmt.Errorf("call %s%v: %w", name, args, err)
			}
			calls++
		}
	}
	return calls, nil
}

// TestGeneratedModulesRun checks that generated modules compile under wazero's compiler and run
// every exported function without trapping and in bounded time.
func TestGeneratedModulesRun(t *testing.T) {
	testRun(t, wazero.NewRuntimeConfigCompiler(), numSeeds(t))
}

// TestGeneratedModulesRunInterpreter is TestGeneratedModulesRun with wazero's interpreter, for
// fewer seeds.
func TestGeneratedModulesRunInterpreter(t *testing.T) {
	testRun(t, wazero.NewRuntimeConfigInterpreter(), numSeeds(t)/4)
}

func testRun(t *testing.T, cfg wazero.RuntimeConfig, n int) {
	const perModule = 10 * time.Second
	var (
		mu       sync.Mutex
		failures int
		slowest  time.Duration
		slowSeed int
		calls    int
		funcs    int
		imports  int
		loops    int
		starts   int
	)
	workers := runtime.GOMAXPROCS(0)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			rt := newRuntime(ctx, t, cfg)
			defer rt.Close(ctx)
			for i := range next {
				m := GenerateModule(testSeed(i), DefaultConfig())
				cctx, cancel := context.WithTimeout(ctx, perModule)
				start := time.Now()
				c, err := runModule(cctx, rt, m.Binary)
				d := time.Since(start)
				cancel()
				mu.Lock()
				calls += c
				funcs += m.DefinedFuncs
				imports += m.ImportedFuncs
				loops += m.Loops
				starts += b2i(m.Start)
				if d > slowest {
					slowest, slowSeed = d, i
				}
				if err != nil {
					failures++
					if failures <= 5 {
						// Kept after the test, for wasm2wat.
						path := filepath.Join(os.TempDir(), fmt.Sprintf("wasmgen-seed%d.wasm", i))
						_ = os.WriteFile(path, m.Binary, 0o644)
						if errors.Is(err, context.DeadlineExceeded) || errors.Is(cctx.Err(), context.DeadlineExceeded) {
							err = fmt.Errorf("did not finish in %v: %w", perModule, err)
						}
						t.Errorf("seed %d (%x): %v (module written to %s)", i, testSeed(i), err, path)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d modules, %d defined functions, %d imported functions, %d loops, %d with a start function, %d calls; slowest module: seed %d, %v",
		n, funcs, imports, loops, starts, calls, slowSeed, slowest)
	if failures > 0 {
		t.Fatalf("%d of %d modules failed", failures, n)
	}
}

// TestGenerateDeterministic checks that a seed always gives the same module.
func TestGenerateDeterministic(t *testing.T) {
	for i := 0; i < 100; i++ {
		a := Generate(testSeed(i))
		b := Generate(testSeed(i))
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: two different modules", i)
		}
	}
	if bytes.Equal(Generate([]byte{1}), Generate([]byte{2})) {
		t.Fatal("seeds 1 and 2 give the same module")
	}
}

// TestGenerateEdgeSeeds checks empty, short, long and constant seeds and small configurations.
func TestGenerateEdgeSeeds(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(ctx, t, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	seeds := [][]byte{nil, {0}, {0xFF}, bytes.Repeat([]byte{0}, 1000), bytes.Repeat([]byte{0xFF}, 1000),
		bytes.Repeat([]byte{0x55, 0xAA}, 500)}
	cfgs := []Config{DefaultConfig(), {NoSIMD: true}, {MaxFuncs: 1, MaxDepth: 1, MaxStmts: 1},
		{MaxFuncs: 20, MaxDepth: 8, MaxLoopNest: 4, MaxCost: 200000}}
	for ci, cfg := range cfgs {
		for si, s := range seeds {
			for i := 0; i < 20; i++ {
				seed := append(append([]byte(nil), s...), testSeed(i)...)
				m := GenerateModule(seed, cfg)
				if _, err := runModule(ctx, rt, m.Binary); err != nil {
					t.Fatalf("config %d seed %d/%d: %v", ci, si, i, err)
				}
			}
		}
	}
}

// TestNoSIMD checks that NoSIMD modules compile without the SIMD feature.
func TestNoSIMD(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2&^api.CoreFeatureSIMD))
	defer rt.Close(ctx)
	for i := 0; i < 200; i++ {
		m := GenerateModule(testSeed(i), Config{NoSIMD: true})
		cm, err := rt.CompileModule(ctx, m.Binary)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		cm.Close(ctx)
	}
}

// TestWabtValidates checks generated modules with wabt's wasm-validate, an independent
// validator, when it is installed.
func TestWabtValidates(t *testing.T) {
	bin, err := exec.LookPath("wasm-validate")
	if err != nil {
		t.Fatal("wasm-validate is not installed: run `make deps` (it installs wabt)")
	}
	dir := t.TempDir()
	n := 200
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, fmt.Sprintf("seed%d.wasm", i))
			if err := os.WriteFile(path, Generate(testSeed(i)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, path).CombinedOutput()
			if err != nil {
				t.Fatalf("seed %d: wasm-validate: %v\n%s", i, err, out)
			}
		})
	}
}

// TestEnvModule checks the imports that generated modules use.
func TestEnvModule(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(ctx, t, wazero.NewRuntimeConfig())
	defer rt.Close(ctx)
	env := rt.Module(EnvModuleName)
	golden := uint32(0x9E3779B9)
	want := []uint64{8, uint64(7 * golden), uint64(uint32(7<<7) ^ 0x55), 7}
	for i := 0; i < EnvFuncs; i++ {
		res, err := env.ExportedFunction(fmt.Sprintf("imp%d", i)).Call(ctx, 7)
		if err != nil || res[0] != want[i] {
			t.Errorf("imp%d(7) = %v, %v; want %d", i, res, err, want[i])
		}
	}
	if g := env.ExportedGlobal("g0"); g == nil || g.Get() != 16 {
		t.Errorf("g0 = %v", g)
	}
}

// TestEndlessModules checks that Endless modules validate and that many of them run forever.
func TestEndlessModules(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(ctx, t, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	n, endless := 100, 0
	for i := 0; i < n; i++ {
		m := GenerateModule(testSeed(i), Config{Endless: true})
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := runModule(cctx, rt, m.Binary)
		cancel()
		switch {
		case err == nil:
		case cctx.Err() != nil:
			endless++
		default:
			t.Fatalf("seed %d: %v", i, err)
		}
	}
	t.Logf("%d of %d modules ran until the deadline", endless, n)
	if endless < n/4 {
		t.Errorf("only %d of %d modules ran until the deadline", endless, n)
	}
}

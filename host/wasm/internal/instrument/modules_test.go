package instrument

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// projectModuleDirs are the directories of the project's built modules: $ARQHOST_EXAMPLES and
// $ARQHOST_FIXTURES, or build/examples and build/fixtures at the repository's root.
func projectModuleDirs() []string {
	dirs := []string{"../../../../build/examples", "../../../../build/fixtures"}
	if d := os.Getenv("ARQHOST_EXAMPLES"); d != "" {
		dirs[0] = d
	}
	if d := os.Getenv("ARQHOST_FIXTURES"); d != "" {
		dirs[1] = d
	}
	return dirs
}

// projectModules returns the paths of the project's built modules, failing the test if there are
// none.
func projectModules(tb testing.TB) []string {
	tb.Helper()
	var paths []string
	for _, dir := range projectModuleDirs() {
		found, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
		if err != nil || len(found) == 0 {
			tb.Fatalf("no modules in %s: run make modules first", dir)
		}
		paths = append(paths, found...)
	}
	sort.Strings(paths)
	return paths
}

// readModule reads a module file.
func readModule(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newTestRuntime returns a wazero runtime with WebAssembly 2.0 features, closed with the test.
func newTestRuntime(tb testing.TB) wazero.Runtime {
	tb.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
	tb.Cleanup(func() { rt.Close(ctx) })
	return rt
}

// importDesc and exportDesc identify an import or export for comparisons.
type importDesc struct{ module, name, kind string }
type exportDesc struct{ name, kind string }

func describeImports(c wazero.CompiledModule) []importDesc {
	var out []importDesc
	for _, f := range c.ImportedFunctions() {
		m, n, _ := f.Import()
		out = append(out, importDesc{m, n, "func"})
	}
	for _, mem := range c.ImportedMemories() {
		m, n, _ := mem.Import()
		out = append(out, importDesc{m, n, "memory"})
	}
	return out
}

func describeExports(c wazero.CompiledModule) map[exportDesc]bool {
	out := map[exportDesc]bool{}
	for name := range c.ExportedFunctions() {
		out[exportDesc{name, "func"}] = true
	}
	for name := range c.ExportedMemories() {
		out[exportDesc{name, "memory"}] = true
	}
	return out
}

// TestProjectModules instruments every module the project builds: the result compiles, gains
// exactly the check import, keeps its exports, and has a check point in every function.
func TestProjectModules(t *testing.T) {
	ctx := context.Background()
	rt := newTestRuntime(t)
	for _, path := range projectModules(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in := readModule(t, path)
			orig, err := rt.CompileModule(ctx, in)
			if err != nil {
				t.Fatalf("the original does not compile: %v", err)
			}
			defer orig.Close(ctx)
			out, info, err := Instrument(in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			inst, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("instrumented module does not compile: %v", err)
			}
			defer inst.Close(ctx)

			want := append(describeImports(orig), importDesc{defaultImportModule, defaultImportName, "func"})
			got := describeImports(inst)
			sortImports(want)
			sortImports(got)
			if len(got) != len(want) {
				t.Fatalf("imports: got %v, want %v", got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("imports: got %v, want %v", got, want)
				}
			}
			checkFn := inst.ImportedFunctions()[info.CheckFunc]
			if m, n, _ := checkFn.Import(); m != defaultImportModule || n != defaultImportName ||
				len(checkFn.ParamTypes()) != 0 || len(checkFn.ResultTypes()) != 1 || checkFn.ResultTypes()[0] != api.ValueTypeI32 {
				t.Errorf("function %d is %s.%s %v -> %v, want the check import () -> i32", info.CheckFunc, m, n, checkFn.ParamTypes(), checkFn.ResultTypes())
			}

			we, ge := describeExports(orig), describeExports(inst)
			if len(we) != len(ge) {
				t.Errorf("exports: got %v, want %v", ge, we)
			}
			for e := range we {
				if !ge[e] {
					t.Errorf("export %v lost", e)
				}
			}
			for name, f := range orig.ExportedFunctions() {
				g := inst.ExportedFunctions()[name]
				if g == nil || !equalTypes(f.ParamTypes(), g.ParamTypes()) || !equalTypes(f.ResultTypes(), g.ResultTypes()) {
					t.Errorf("export %q changed type", name)
				}
			}

			if info.Points < info.Functions || info.Functions == 0 {
				t.Errorf("info %+v: want a check point in each of at least one function", info)
			}
			t.Logf("%d bytes -> %d bytes, %+v", len(in), len(out), info)
		})
	}
}

func sortImports(s []importDesc) {
	sort.Slice(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.module != b.module {
			return a.module < b.module
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.kind < b.kind
	})
}

func equalTypes(a, b []api.ValueType) bool { return bytes.Equal(a, b) }

// TestRoundTripProjectModules decodes and encodes every project module without change: the output
// is the input, byte for byte.
func TestRoundTripProjectModules(t *testing.T) {
	for _, path := range projectModules(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in := readModule(t, path)
			out, err := roundTrip(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, out) {
				i := 0
				for i < len(in) && i < len(out) && in[i] == out[i] {
					i++
				}
				t.Fatalf("round trip differs at offset 0x%x (lengths %d, %d)", i, len(in), len(out))
			}
		})
	}
}

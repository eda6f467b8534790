package instrument

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test modules are committed twice: as WAT source (testdata/*.wat) and compiled with wat2wasm
// (testdata/*.wasm), so the tests do not need wabt. A first line ";; wat2wasm: FLAGS" gives extra
// flags. TestTestdataCurrent checks the two agree; -update-testdata rewrites the .wasm files.

var updateTestdata = flag.Bool("update-testdata", false, "rewrite testdata/*.wasm from testdata/*.wat with wat2wasm")

// readTestdata reads a module of testdata/, or with the prefix "fixtures/" one of the project's
// built fixtures.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	if rest, ok := strings.CutPrefix(name, "fixtures/"); ok {
		path := filepath.Join(projectModuleDirs()[1], rest)
		if _, err := os.Stat(path); err != nil {
			tb.Fatalf("%v: run make modules first", err)
		}
		return readModule(tb, path)
	}
	return readModule(tb, filepath.Join("testdata", name))
}

// wat2wasmFlags returns the flags a .wat file asks for.
func wat2wasmFlags(tb testing.TB, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), ";; wat2wasm:"); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

func TestTestdataCurrent(t *testing.T) {
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` (it installs wabt)")
	}
	wats, _ := filepath.Glob("testdata/*.wat")
	if len(wats) == 0 {
		t.Fatal("no testdata/*.wat")
	}
	for _, wat := range wats {
		committed := strings.TrimSuffix(wat, ".wat") + ".wasm"
		fresh := filepath.Join(t.TempDir(), filepath.Base(committed))
		args := append(wat2wasmFlags(t, wat), wat, "-o", fresh)
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", wat, err, out)
		}
		want := readModule(t, fresh)
		if *updateTestdata {
			if err := os.WriteFile(committed, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(committed)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not wat2wasm's output for %s: run go test -run TestTestdataCurrent -update-testdata", committed, wat)
		}
	}
}

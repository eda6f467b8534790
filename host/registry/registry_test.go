package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/wasm"
)

func built(t testing.TB, env, sub, name string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join("..", "..", "build", sub)
	}
	p := filepath.Join(dir, name+".wasm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%v: run `make modules` first", err)
	}
	return p
}

// dirWith makes a modules directory holding copies of the given files under the given names.
func dirWith(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func engine(t *testing.T) *wasm.Engine {
	e, err := wasm.NewEngine(wasm.Config{CacheDir: t.TempDir(), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func input(task, kwargs string) *abi.Input {
	return &abi.Input{JobID: "j1", Function: task, JobTry: 1, Args: []byte(`[]`), Kwargs: []byte(kwargs)}
}

func TestLoadDirectoryAndRoute(t *testing.T) {
	t.Parallel()
	dir := dirWith(t, map[string]string{
		"email.wasm": built(t, "ARQHOST_EXAMPLES", "examples", "email"),
		"greet.wasm": built(t, "ARQHOST_EXAMPLES", "examples", "extism_greet"),
		"noop.wasm":  built(t, "ARQHOST_FIXTURES", "fixtures", "noop"),
	})
	for name, content := range map[string]string{"README.txt": "not a module", "noop.yaml": "timeout: 2s\nmax_instances: 2\nmemory_limit: 1MiB\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Load(context.Background(), engine(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if got := strings.Join(r.Tasks(), ","); got != "echo,greet,noop,send_email,wat_noop" {
		t.Fatalf("tasks %s", got)
	}
	for task, want := range map[string]wasm.Kind{"noop": wasm.Success, "greet": wasm.Success, "wat_noop": wasm.Success, "nope": wasm.UnknownTask} {
		kwargs := `{}`
		if task == "greet" {
			kwargs = `{"name":"Bo"}`
		}
		if o := r.Invoke(context.Background(), input(task, kwargs)); o.Kind != want {
			t.Errorf("%s: %s %s", task, o.Kind, o.Reason)
		}
	}
	if o := r.Invoke(context.Background(), input("nope", `{}`)); !strings.Contains(o.Reason, `"nope"`) || !strings.Contains(o.Reason, "send_email") {
		t.Errorf("unknown task reason: %s", o.Reason)
	}
	m, _ := r.Lookup("wat_noop")
	if l := m.Limits(); l.Timeout != 2*time.Second || l.MaxInstances != 2 || l.MemoryPages != 16 {
		t.Errorf("sidecar not applied: %+v", l)
	}
	if len(r.Modules()) != 3 {
		t.Errorf("modules: %d", len(r.Modules()))
	}
}

func TestClashNamesBothFiles(t *testing.T) {
	t.Parallel()
	noop := built(t, "ARQHOST_FIXTURES", "fixtures", "noop")
	dir := dirWith(t, map[string]string{"a.wasm": noop, "b.wasm": noop})
	_, err := Load(context.Background(), engine(t), dir)
	var clash *ClashError
	if !errors.As(err, &clash) || clash.Task != "wat_noop" ||
		!strings.Contains(err.Error(), filepath.Join(dir, "a.wasm")) || !strings.Contains(err.Error(), filepath.Join(dir, "b.wasm")) {
		t.Fatalf("got %v", err)
	}
}

func TestBadModulesAreAllNamed(t *testing.T) {
	t.Parallel()
	dir := dirWith(t, map[string]string{
		"good.wasm": built(t, "ARQHOST_FIXTURES", "fixtures", "noop"),
		"v2.wasm":   built(t, "ARQHOST_FIXTURES", "fixtures", "abi2"),
		"cmd.wasm":  built(t, "ARQHOST_FIXTURES", "fixtures", "command"),
	})
	_, err := Load(context.Background(), engine(t), dir)
	if err == nil || !strings.Contains(err.Error(), "v2.wasm: unsupported ABI version") || !strings.Contains(err.Error(), "cmd.wasm: is a WASI command") {
		t.Fatalf("got %v", err)
	}
	if _, err := Load(context.Background(), engine(t), filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing directory loaded")
	}
}

func TestSidecarErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"memroy_limit: 1MiB\n":                 `unknown key "memroy_limit"`,
		"timeout: soon\n":                      `key "timeout" (line 1): "soon" is not a positive duration`,
		"memory_limit: 64MB\n":                 `key "memory_limit" (line 1): "64MB" is not a size`,
		"max_instances: 0\n":                   `key "max_instances" (line 1)`,
		"min_instances: 3\nmax_instances: 2\n": "min_instances 3 is more than max_instances 2",
		"timeout: [1, 2]\n":                    `key "timeout" (line 1): want a single value`,
		"- a list\n":                           "not a YAML mapping",
	}
	for doc, want := range cases {
		dir := dirWith(t, map[string]string{"m.wasm": built(t, "ARQHOST_FIXTURES", "fixtures", "noop")})
		if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSidecar(filepath.Join(dir, "m.wasm"))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "m.yaml") {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint64{"65536": 65536, "512KiB": 512 << 10, "64MiB": 64 << 20, "1.5GiB": 3 << 29, "10B": 10, " 2 MiB ": 2 << 20} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "64MB", "-1", "lots", "1e30GiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

func TestEmptyDirectoryIsRefused(t *testing.T) {
	t.Parallel()
	if _, err := Load(context.Background(), engine(t), t.TempDir()); err == nil || !strings.Contains(err.Error(), "no task modules") {
		t.Fatalf("got %v", err)
	}
}

// Package parity checks that the Go, Rust and C versions of the example tasks behave alike through
// the real host: every version must pass every vector of vectors.json, and give the same output as
// the Go version (the reference), timestamps aside.
package parity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
)

type vector struct {
	Name   string          `json:"name"`
	Task   string          `json:"task"`
	Args   json.RawMessage `json:"args"`
	Kwargs json.RawMessage `json:"kwargs"`
	Try    int             `json:"try"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Kind         abi.ErrorKind `json:"kind"`
		Type         string        `json:"type"`
		Message      string        `json:"message"`
		RetryAfterMs int64         `json:"retry_after_ms"`
	} `json:"error"`
	Ignore       []string `json:"ignore"`
	ResultFromGo bool     `json:"result_from_go"`
}

// languages maps a language to the prefix its modules give the example tasks.
var languages = []struct{ name, prefix string }{{"go", ""}, {"rust", "rust_"}, {"c", "c_"}}

func loadRegistry(t *testing.T) *registry.Registry {
	dir := os.Getenv("ARQHOST_EXAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "build", "examples")
	}
	for _, f := range []string{"email.wasm", "data.wasm", "rust_email.wasm", "rust_data.wasm", "c_example.wasm"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%v: run `make modules` first", err)
		}
	}
	e, err := wasm.NewEngine(wasm.Config{CacheDir: filepath.Join(os.TempDir(), "arqhost-test-cache"), Defaults: wasm.Limits{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	reg, err := registry.Load(context.Background(), e, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.Background()) })
	return reg
}

// normal decodes a JSON value and drops the ignored members of an object.
func normal(t *testing.T, raw json.RawMessage, ignore []string) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if m, ok := v.(map[string]any); ok {
		for _, k := range ignore {
			if _, present := m[k]; !present {
				t.Errorf("result %s lacks %q", raw, k)
			}
			delete(m, k)
		}
	}
	return v
}

func TestParity(t *testing.T) {
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	b, err := os.ReadFile("vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	reg := loadRegistry(t)
	for _, v := range file.Vectors {
		var reference *wasm.Outcome
		for _, lang := range languages {
			task := lang.prefix + v.Task
			if _, ok := reg.Lookup(task); !ok {
				if lang.name == "go" || lang.name == "rust" {
					t.Errorf("%s: no %s module serves %s", v.Name, lang.name, task)
				}
				continue // the C example implements only some tasks
			}
			in := &abi.Input{JobID: "parity", Function: task, JobTry: v.Try, EnqueueTime: time.Now().UTC().Format(time.RFC3339Nano),
				QueueName: "parity", WorkerID: "parity", Args: v.Args, Kwargs: v.Kwargs}
			o := reg.Invoke(context.Background(), in)
			where := v.Name + " [" + lang.name + " " + task + "]"
			switch {
			case v.Error != nil:
				if o.Kind != wasm.GuestError {
					t.Errorf("%s: %s %q %s, want a guest error", where, o.Kind, o.Reason, o.Result)
					continue
				}
				e := o.Error
				msg := strings.Replace(e.Message, lang.prefix+v.Task+"()", v.Task+"()", 1)
				if e.Kind != v.Error.Kind || (v.Error.Type != "" && e.Type != v.Error.Type) ||
					(v.Error.Message != "" && msg != v.Error.Message) || e.RetryAfterMs != v.Error.RetryAfterMs {
					t.Errorf("%s: error %+v, want %+v", where, *e, *v.Error)
				}
			default:
				if o.Kind != wasm.Success {
					t.Errorf("%s: %s %q %+v, want success", where, o.Kind, o.Reason, o.Error)
					continue
				}
				if !v.ResultFromGo {
					if got, want := normal(t, o.Result, v.Ignore), normal(t, v.Result, nil); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: result %s, want %s", where, o.Result, v.Result)
					}
				}
			}
			if lang.name == "go" {
				ref := o
				reference = &ref
				continue
			}
			if reference != nil && o.Kind == wasm.Success && reference.Kind == wasm.Success {
				if got, want := normal(t, o.Result, v.Ignore), normal(t, reference.Result, v.Ignore); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: result %s differs from Go's %s", where, o.Result, reference.Result)
				}
			}
		}
	}
}

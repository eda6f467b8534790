package arq

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRegisterMisuse(t *testing.T) {
	okFn := func(Context, string) error { return nil }
	tests := []struct {
		name     string
		task     string
		fn       any
		names    []string
		want     string // the exact panic message; "" for none
		contains bool   // want is a substring of the panic message
	}{
		{name: "empty name", task: "", fn: okFn, want: `arq.Register(""): the task name is empty`},
		{name: "long name", task: strings.Repeat("a", 201), fn: okFn,
			want: `the task name is 201 bytes long, more than the 200 allowed`, contains: true},
		{name: "longest name", task: strings.Repeat("a", 200), fn: okFn},
		{name: "name with space", task: "send email", fn: okFn,
			want: `arq.Register("send email"): invalid task name: byte 4 is ' '; a task name may hold only A-Z a-z 0-9 _ . : -`},
		{name: "non-ASCII name", task: "é", fn: okFn,
			want: `arq.Register("é"): invalid task name: byte 0 is 0xc3; a task name may hold only A-Z a-z 0-9 _ . : -`},
		{name: "punctuation allowed", task: "mod.sub:task-name_2", fn: okFn},
		{name: "not a function", task: "r1", fn: 42, want: `arq.Register("r1"): fn must be a function, got int`},
		{name: "untyped nil", task: "r2", fn: nil, want: `arq.Register("r2"): fn must be a function, got <nil>`},
		{name: "nil function", task: "r3", fn: (func(Context) error)(nil),
			want: `arq.Register("r3"): fn is a nil func(arq.Context) error`},
		{name: "no context", task: "r4", fn: func(string) error { return nil },
			want: `arq.Register("r4"): fn has type func(string) error; it must be func(arq.Context, ...) (R, error) or func(arq.Context, ...) error`},
		{name: "context not first", task: "r5", fn: func(string, Context) error { return nil },
			want: `fn has type func(string, arq.Context) error; it must be`, contains: true},
		{name: "context pointer", task: "r6", fn: func(*Context) error { return nil },
			want: `fn has type func(*arq.Context) error; it must be`, contains: true},
		{name: "no results", task: "r7", fn: func(Context) {},
			want: `fn has type func(arq.Context); it must be`, contains: true},
		{name: "no error result", task: "r8", fn: func(Context) int { return 0 },
			want: `fn has type func(arq.Context) int; it must be`, contains: true},
		{name: "error not last", task: "r9", fn: func(Context) (error, int) { return nil, 0 },
			want: `fn has type func(arq.Context) (error, int); it must be`, contains: true},
		{name: "three results", task: "r10", fn: func(Context) (int, int, error) { return 0, 0, nil },
			want: `fn has type func(arq.Context) (int, int, error); it must be`, contains: true},
		{name: "variadic", task: "r11", fn: func(Context, ...string) error { return nil },
			want: `arq.Register("r11"): fn is variadic (func(arq.Context, ...string) error); variadic functions are not supported`},
		{name: "too few names", task: "r12", fn: func(Context, string, int) error { return nil }, names: []string{"a"},
			want: `arq.Register("r12"): 1 parameter names given for the 2 parameters of func(arq.Context, string, int) error`},
		{name: "too many names", task: "r13", fn: okFn, names: []string{"a", "b"},
			want: `arq.Register("r13"): 2 parameter names given for the 1 parameters of func(arq.Context, string) error`},
		{name: "empty parameter name", task: "r14", fn: func(Context, string, int) error { return nil }, names: []string{"a", ""},
			want: `arq.Register("r14"): parameter name 2 is empty`},
		{name: "repeated parameter name", task: "r15", fn: func(Context, string, int) error { return nil }, names: []string{"a", "a"},
			want: `arq.Register("r15"): parameters 1 and 2 are both named "a"`},
		{name: "channel parameter", task: "r16", fn: func(Context, chan int) error { return nil },
			want: `arq.Register("r16"): parameter 1: type chan int cannot be decoded from JSON`},
		{name: "interface parameter", task: "r17", fn: func(Context, string, io.Reader) error { return nil },
			want: `arq.Register("r17"): parameter 2: type io.Reader is a non-empty interface, which cannot be decoded from JSON`},
		{name: "nested bad parameter", task: "r18", fn: func(Context, []map[string]func()) error { return nil },
			want: `arq.Register("r18"): parameter 1: in []map[string]func(): in map[string]func(): type func() cannot be decoded from JSON`},
		{name: "bad map key", task: "r19", fn: func(Context, map[float64]int) error { return nil },
			want: `arq.Register("r19"): parameter 1: in map[float64]int: map key type float64 is not a string, an integer or an encoding.TextUnmarshaler`},
		{name: "complex parameter", task: "r20", fn: func(Context, complex128) error { return nil },
			want: `parameter 1: type complex128 cannot be decoded from JSON`, contains: true},
		{name: "channel result", task: "r21", fn: func(Context) (chan int, error) { return nil, nil },
			want: `arq.Register("r21"): result: type chan int cannot be encoded as JSON`},
		{name: "unmarshaler parameters", task: "r22",
			fn: func(Context, time.Time, *time.Time, json.RawMessage, map[textKey]int, []any, any, uintptr) error {
				return nil
			}},
		{name: "any result", task: "r23", fn: func(Context) (any, error) { return nil, nil }},
		{name: "duplicate", task: "r23", fn: okFn, want: `arq.Register("r23"): a task named "r23" is already registered`},
		{name: "named function type", task: "r24", fn: namedTaskFunc(func(Context, int) error { return nil })},
	}
	t.Cleanup(func() {
		for _, tt := range tests {
			unregister(tt.task)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := panicText(func() { Register(tt.task, tt.fn, tt.names...) })
			switch {
			case tt.want == "" && got != "":
				t.Errorf("panicked: %s", got)
			case tt.contains && !strings.Contains(got, tt.want):
				t.Errorf("panic %q, want it to contain %q", got, tt.want)
			case !tt.contains && got != tt.want:
				t.Errorf("panic %q\nwant      %q", got, tt.want)
			}
		})
	}
}

type namedTaskFunc func(Context, int) error

// textKey is a map key type that decodes through encoding.TextUnmarshaler.
type textKey struct{ s string }

func (k *textKey) UnmarshalText(b []byte) error { k.s = string(b); return nil }

func TestManifest(t *testing.T) {
	before := registeredNames()
	register(t, "m_second", func(Context) error { return nil })
	register(t, "m_first", func(Context) error { return nil })
	var m struct {
		Tasks []string `json:"tasks"`
		SDK   string   `json:"sdk"`
	}
	if err := json.Unmarshal(manifest(), &m); err != nil {
		t.Fatal(err)
	}
	want := append(before, "m_second", "m_first")
	if strings.Join(m.Tasks, ",") != strings.Join(want, ",") || m.SDK != "arqhost-go/1" {
		t.Errorf("manifest %s, want tasks %v in registration order and sdk arqhost-go/1", manifest(), want)
	}
}

func TestManifestEmpty(t *testing.T) {
	registryMu.Lock()
	saved, savedMap := taskNames, registry
	taskNames, registry = nil, map[string]*task{}
	registryMu.Unlock()
	t.Cleanup(func() {
		registryMu.Lock()
		taskNames, registry = saved, savedMap
		registryMu.Unlock()
	})
	if got := string(manifest()); got != `{"tasks":[],"sdk":"arqhost-go/1"}` {
		t.Errorf("manifest %s", got)
	}
}

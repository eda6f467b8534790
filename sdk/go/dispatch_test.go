package arq

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
)

func TestUnknownTask(t *testing.T) {
	got := call(t, "no_such_task", "", "")
	want := errorOutput(abi.KindPermanent, "UnknownTask", `this module has no task named "no_such_task"`)
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range []string{``, `nope`, `[]`, `{"function": 5}`, `{"args": {}}`, `{"kwargs": []}`, `{"job_try": "1"}`} {
		out := Invoke([]byte(in))
		checkOutput(t, out)
		var o abi.Output
		if err := json.Unmarshal(out, &o); err != nil || o.Error == nil || o.Error.Kind != abi.KindPermanent ||
			o.Error.Type != "InputError" || !strings.HasPrefix(o.Error.Message, "invalid job input: ") {
			t.Errorf("input %q: output %s, want a permanent InputError", in, out)
		}
	}
}

func TestInputLenient(t *testing.T) {
	register(t, "lenient", func(ctx Context, a *int) (Context, error) { return ctx, nil }, "a")
	for _, in := range []string{
		`{"function":"lenient"}`,
		`{"function":"lenient","args":null,"kwargs":null}`,
		`{"function":"lenient","future_field":{"x":[1,2]},"job_try":1}`,
	} {
		out := Invoke([]byte(in))
		checkOutput(t, out)
		if !strings.HasPrefix(string(out), `{"result":`) {
			t.Errorf("input %s: output %s", in, out)
		}
	}
}

func TestContextFields(t *testing.T) {
	var got Context
	register(t, "ctx_fields", func(ctx Context) error { got = ctx; return nil })
	in := `{"job_id":"j-9","function":"ctx_fields","job_try":3,"enqueue_time":"2026-01-15T10:30:00.123456789+02:00",` +
		`"queue_name":"q","worker_id":"w","args":[],"kwargs":{}}`
	if out := string(Invoke([]byte(in))); out != `{"result":null}` {
		t.Fatalf("output %s", out)
	}
	want := Context{JobID: "j-9", Function: "ctx_fields", Try: 3,
		EnqueueTime: time.Date(2026, 1, 15, 8, 30, 0, 123456789, time.UTC), Queue: "q", WorkerID: "w"}
	if got.JobID != want.JobID || got.Function != want.Function || got.Try != want.Try || got.Queue != want.Queue ||
		got.WorkerID != want.WorkerID || !got.EnqueueTime.Equal(want.EnqueueTime) {
		t.Errorf("context %+v, want %+v", got, want)
	}
	if _, off := got.EnqueueTime.Zone(); off != 2*3600 {
		t.Errorf("enqueue time %v lost its offset", got.EnqueueTime)
	}

	in = strings.Replace(in, "2026-01-15T10:30:00.123456789+02:00", "yesterday", 1)
	if out := string(Invoke([]byte(in))); out != `{"result":null}` {
		t.Fatalf("output %s", out)
	}
	if !got.EnqueueTime.IsZero() {
		t.Errorf("unparsable enqueue time gave %v, want the zero time", got.EnqueueTime)
	}
}

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON for you") }

type panicJSON struct{}

func (panicJSON) MarshalJSON() ([]byte, error) { panic("marshal panic") }

type panicArg struct{}

func (*panicArg) UnmarshalJSON([]byte) error { panic("unmarshal panic") }

func TestResults(t *testing.T) {
	register(t, "error_only", func(Context) error { return nil })
	register(t, "nil_pointer", func(Context) (*point, error) { return nil, nil })
	register(t, "nil_any", func(Context) (any, error) { return nil, nil })
	register(t, "html", func(Context) (string, error) { return "<a href='x'>&</a>", nil })
	register(t, "struct", func(Context) (point, error) { return point{1, 2}, nil })
	register(t, "raw", func(Context) (json.RawMessage, error) { return json.RawMessage(` { "a" : [1, 2] } `), nil })
	register(t, "result_and_error", func(Context) (int, error) { return 5, errors.New("failed") })
	register(t, "chan_result", func(Context) (any, error) { return map[string]any{"c": make(chan int)}, nil })
	register(t, "nan_result", func(Context) (float64, error) { return math.NaN(), nil })
	register(t, "marshaler_error", func(Context) (badJSON, error) { return badJSON{}, nil })
	register(t, "retry", func(Context) (int, error) { return 0, Retry(5 * time.Second) })
	register(t, "permanent", func(Context) error { return Permanent(&ValueError{Msg: "empty"}) })

	tests := []struct{ fn, want string }{
		{"error_only", `{"result":null}`},
		{"nil_pointer", `{"result":null}`},
		{"nil_any", `{"result":null}`},
		{"html", `{"result":"<a href='x'>&</a>"}`},
		{"struct", `{"result":{"X":1,"Y":2}}`},
		{"raw", `{"result":{"a":[1,2]}}`},
		{"result_and_error", `{"error":{"kind":"error","type":"Error","message":"failed"}}`},
		{"chan_result", errorOutput(abi.KindPermanent, "ResultError", "cannot encode the task's result as JSON: json: unsupported type: chan int")},
		{"nan_result", errorOutput(abi.KindPermanent, "ResultError", "cannot encode the task's result as JSON: json: unsupported value: NaN")},
		{"marshaler_error", errorOutput(abi.KindPermanent, "ResultError",
			"cannot encode the task's result as JSON: json: error calling MarshalJSON for type arq.badJSON: no JSON for you")},
		{"retry", `{"error":{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}}`},
		{"permanent", `{"error":{"kind":"permanent","type":"ValueError","message":"empty"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			if got := call(t, tt.fn, "", ""); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPanic(t *testing.T) {
	register(t, "panics", func(ctx Context, what string) (string, error) {
		switch what {
		case "string":
			panic("boom")
		case "error":
			panic(fmt.Errorf("wrapped: %w", errors.New("inner")))
		case "index":
			var s []int
			_ = s[len(what)]
		case "nil map":
			var m map[string]int
			m["x"] = 1
		case "number":
			panic(42)
		}
		return "fine", nil
	}, "what")
	register(t, "panics_in_unmarshal", func(ctx Context, p *panicArg) error { return nil })
	register(t, "panics_in_marshal", func(ctx Context) (panicJSON, error) { return panicJSON{}, nil })

	tests := []struct{ fn, arg, want string }{
		{"panics", "string", "boom"},
		{"panics", "error", "wrapped: inner"},
		{"panics", "index", "runtime error: index out of range [5] with length 0"},
		{"panics", "nil map", "assignment to entry in nil map"},
		{"panics", "number", "42"},
		{"panics_in_unmarshal", "x", "unmarshal panic"},
		{"panics_in_marshal", "", "marshal panic"},
	}
	for _, tt := range tests {
		t.Run(tt.fn+"/"+tt.arg, func(t *testing.T) {
			takeLogs()
			args := ""
			if tt.arg != "" {
				args = `[` + quote(tt.arg) + `]`
			}
			got := call(t, tt.fn, args, "")
			if want := errorOutput(abi.KindError, "Panic", tt.want); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			logs := takeLogs()
			if len(logs) != 1 || logs[0].Level != LevelError || logs[0].Msg != "task panicked" {
				t.Fatalf("logs %+v, want one error record", logs)
			}
			var attrs struct{ Panic, Stack string }
			if err := json.Unmarshal([]byte(logs[0].Attrs), &attrs); err != nil {
				t.Fatalf("attrs %s: %v", logs[0].Attrs, err)
			}
			if attrs.Panic != tt.want || !strings.Contains(attrs.Stack, "goroutine") {
				t.Errorf("attrs %s", logs[0].Attrs)
			}
		})
	}
	// The task, and the SDK, still work after panics.
	if got := call(t, "panics", `["no"]`, ""); got != `{"result":"fine"}` {
		t.Errorf("after panics: %s", got)
	}
}

func TestPanicStackBounded(t *testing.T) {
	var recurse func(n int) int
	recurse = func(n int) int {
		if n == 0 {
			panic("deep")
		}
		return recurse(n-1) + 1
	}
	register(t, "deep_panic", func(ctx Context) (int, error) { return recurse(500), nil })
	takeLogs()
	call(t, "deep_panic", "", "")
	logs := takeLogs()
	if len(logs) != 1 || len(logs[0].Attrs) > abi.MaxLogAttrs {
		t.Fatalf("got %d records, attrs of %d bytes; want 1 within %d bytes", len(logs), len(logs[0].Attrs), abi.MaxLogAttrs)
	}
	if !json.Valid([]byte(logs[0].Attrs)) {
		t.Errorf("attrs are not valid JSON")
	}
}

// TestNoAliasing checks that nothing a task keeps refers to the input's memory, which the module
// reuses for the next job.
func TestNoAliasing(t *testing.T) {
	var kept []any
	register(t, "keeper", func(ctx Context, s string, raw json.RawMessage, m map[string]any) error {
		kept = []any{s, raw, m, ctx.JobID}
		return nil
	}, "s", "raw", "m")
	input := jobJSON("keeper", `["hello", {"k": "v"}]`, `{"m": {"x": "y"}}`)
	out := Invoke(input)
	if string(out) != `{"result":null}` {
		t.Fatalf("output %s", out)
	}
	before := fmt.Sprintf("%s", kept)
	for i := range input {
		input[i] = 'X'
	}
	if after := fmt.Sprintf("%s", kept); after != before {
		t.Errorf("kept values changed with the input buffer: %s -> %s", before, after)
	}
}

func TestInvokeConcurrent(t *testing.T) {
	register(t, "square", func(ctx Context, n int) (int, error) {
		ctx.Debug("squaring", "n", n)
		return n * n, nil
	}, "n")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				n := i*100 + j
				got := string(Invoke(jobJSON("square", fmt.Sprintf("[%d]", n), "")))
				if want := fmt.Sprintf(`{"result":%d}`, n*n); got != want {
					t.Errorf("got %s, want %s", got, want)
				}
			}
		})
	}
	wg.Wait()
	takeLogs()
}

func TestBuffers(t *testing.T) {
	register(t, "echo_s", func(ctx Context, s string) (string, error) { return s, nil }, "s")
	var b buffers
	// put does what the host does before calling arqhost_run.
	put := func(input []byte) (off, length uint64, ok bool) {
		buf := b.alloc(len(input))
		if len(buf) < len(input) {
			t.Fatalf("alloc(%d) returned %d bytes", len(input), len(buf))
		}
		return 0, uint64(copy(buf, input)), true
	}

	in1 := jobJSON("echo_s", `["first"]`, "")
	out1 := b.run(put(in1))
	if string(out1) != `{"result":"first"}` {
		t.Fatalf("output %s", out1)
	}
	first := &b.in[0]
	in2 := jobJSON("echo_s", `["second"]`, "")
	out2 := b.run(put(in2))
	if string(out2) != `{"result":"second"}` {
		t.Fatalf("output %s", out2)
	}
	if &b.in[0] != first {
		t.Errorf("the input buffer was not reused")
	}
	if len(b.alloc(0)) < minInputBuf {
		t.Errorf("alloc(0) returned less than the minimum buffer")
	}

	// A job larger than the buffer gets a larger one; a much smaller one after a huge one gets a
	// smaller buffer again.
	big := jobJSON("echo_s", `[`+quote(strings.Repeat("x", 2*shrinkAbove))+`]`, "")
	if out := b.run(put(big)); len(out) < 2*shrinkAbove {
		t.Fatalf("big output has %d bytes", len(out))
	}
	if cap(b.in) < len(big) {
		t.Fatalf("input buffer of %d bytes for %d", cap(b.in), len(big))
	}
	b.run(put(in1))
	if cap(b.in) > shrinkAbove || b.out.Cap() > shrinkAbove {
		t.Errorf("buffers not shrunk: input %d, output %d bytes", cap(b.in), b.out.Cap())
	}

	// An input at an offset inside the buffer, and ranges outside it.
	buf := b.alloc(len(in1) + 10)
	copy(buf[10:], in1)
	if out := b.run(10, uint64(len(in1)), true); string(out) != `{"result":"first"}` {
		t.Errorf("input at offset 10: %s", out)
	}
	abiErr := errorOutput(abi.KindError, "ABIError", "the job input is not inside the buffer returned by arqhost_alloc")
	if out := b.run(uint64(len(buf)-5), 10, true); string(out) != abiErr {
		t.Errorf("input past the buffer: %s", out)
	}
	if out := b.run(0, 10, false); string(out) != abiErr {
		t.Errorf("input before the buffer: %s", out)
	}
	if out := b.run(0, 0, false); !strings.Contains(string(out), `"type":"InputError"`) {
		t.Errorf("empty input: %s", out)
	}

	if off, ok := inputOffset(1000, 1010); !ok || off != 10 {
		t.Errorf("inputOffset(1000, 1010) = %d, %v", off, ok)
	}
	if _, ok := inputOffset(1000, 990); ok {
		t.Errorf("inputOffset(1000, 990) ok")
	}
	if m := b.makeManifest(); !strings.Contains(string(m), `"echo_s"`) || &m[0] != &b.manifest[0] {
		t.Errorf("manifest %s not kept in the buffers", m)
	}
}

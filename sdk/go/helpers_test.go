package arq

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/arqhost/arqhost/abi"
)

// register registers a task for the duration of the test.
func register(t *testing.T, name string, fn any, paramNames ...string) {
	t.Helper()
	Register(name, fn, paramNames...)
	t.Cleanup(func() { unregister(name) })
}

// handle is Handle for the duration of the test.
func handle[T, R any](t *testing.T, name string, fn func(Context, T) (R, error)) {
	t.Helper()
	Handle(name, fn)
	t.Cleanup(func() { unregister(name) })
}

func unregister(name string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(registry, name)
	taskNames = slices.DeleteFunc(taskNames, func(n string) bool { return n == name })
}

// jobJSON builds a job input for function with the given raw JSON args and kwargs ("" for none).
func jobJSON(function, args, kwargs string) []byte {
	if args == "" {
		args = "[]"
	}
	if kwargs == "" {
		kwargs = "{}"
	}
	return []byte(`{"job_id":"job-1","function":` + quote(function) + `,"job_try":1,` +
		`"enqueue_time":"2026-01-15T10:30:00.123456Z","queue_name":"arq:queue","worker_id":"w-1",` +
		`"args":` + args + `,"kwargs":` + kwargs + `}`)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// call runs a job and returns its output, checking that the output is a valid ABI output.
func call(t *testing.T, function, args, kwargs string) string {
	t.Helper()
	out := Invoke(jobJSON(function, args, kwargs))
	checkOutput(t, out)
	return string(out)
}

// checkOutput checks that out is an output of ABI.md section 5: a JSON object with exactly one of
// "result" and "error", the error having a valid kind and a non-empty type.
func checkOutput(t *testing.T, out []byte) {
	t.Helper()
	var members map[string]json.RawMessage
	if err := json.Unmarshal(out, &members); err != nil {
		t.Fatalf("output %s is not a JSON object: %v", out, err)
	}
	if len(members) != 1 {
		t.Fatalf("output %s has %d members, want 1", out, len(members))
	}
	if _, ok := members["result"]; ok {
		return
	}
	raw, ok := members["error"]
	if !ok {
		t.Fatalf("output %s has neither result nor error", out)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var e abi.Error
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("output %s: bad error member: %v", out, err)
	}
	if !e.Kind.Valid() || e.Type == "" {
		t.Fatalf("output %s: bad kind or empty type", out)
	}
	if e.RetryAfterMs != 0 && e.Kind != abi.KindRetry {
		t.Fatalf("output %s: retry_after_ms without kind retry", out)
	}
}

// callError runs a job that must fail and returns its error member.
func callError(t *testing.T, function, args, kwargs string) abi.Error {
	t.Helper()
	out := call(t, function, args, kwargs)
	var o abi.Output
	if err := json.Unmarshal([]byte(out), &o); err != nil || o.Error == nil {
		t.Fatalf("output %s: want an error", out)
	}
	return *o.Error
}

// typeError is the output of a job failing with a TypeError with the given message.
func typeError(msg string) string {
	return errorOutput(abi.KindPermanent, "TypeError", msg)
}

// errorOutput is the output of a job failing with the given error (retry_after_ms 0).
func errorOutput(kind abi.ErrorKind, typ, msg string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(abi.Output{Error: &abi.Error{Kind: kind, Type: typ, Message: msg}}); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

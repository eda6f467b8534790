package wasm

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/arqhost/arqhost/abi"
)

var outputSeeds = []string{
	`{"result":null}`, `{"result":{"a":[1,2,{"b":"}"}]}}`, ` { "result" : "x" } `, `{"result":1,"result":2}`,
	`{"RESULT":1}`, `{"result":1,"error":{"type":"E","message":"m","kind":"error"}}`, `{"result":1,"extra":2}`,
	`{"error":{"type":"ValueError","message":"bad","kind":"retry","retry_after_ms":-5}}`,
	`{"error":{"kind":"nope"}}`, `{}`, `[]`, `"result"`, `{"result":`, `{"res\u0075lt":true}`, ``, `null`,
}

// The fast path for successes gives exactly what encoding/json gives.
func TestDecodeOutputMatchesEncodingJSON(t *testing.T) {
	for _, s := range outputSeeds {
		if got, want := decodeOutput([]byte(s)), decodeOutputJSON([]byte(s)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", s, got, want)
		}
	}
}

// FuzzDecodeOutput: whatever a guest writes, decoding never panics and the fast path agrees with
// encoding/json. Seeds: outputSeeds and testdata/fuzz/FuzzDecodeOutput.
func FuzzDecodeOutput(f *testing.F) {
	for _, s := range outputSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		got, want := decodeOutput(out), decodeOutputJSON(out)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", out, got, want)
		}
		if got.Kind != Success && got.Kind != GuestError && got.Kind != BadOutput {
			t.Fatalf("kind %v", got.Kind)
		}
	})
}

// encodeInput writes what encoding/json wrote for abi.Input, give or take HTML escaping and
// whitespace in args and kwargs, which guests do not see a difference in.
func TestEncodeInputMatchesEncodingJSON(t *testing.T) {
	for _, in := range []abi.Input{
		{JobID: "a", Function: "f", JobTry: 1, EnqueueTime: "2026-01-01T00:00:00Z", QueueName: "q", WorkerID: "w",
			Args: json.RawMessage(`[1,"x",{"k":null}]`), Kwargs: json.RawMessage(`{"a":[true]}`)},
		{JobID: "quote\"back\\slash\nnl\u2028", Function: "日本", JobTry: 7, Args: json.RawMessage(` [ 1 , 2 ] `)},
		{JobID: "nil args"},
	} {
		got, err := encodeInput(&in)
		if err != nil {
			t.Fatal(err)
		}
		var a, b abi.Input
		want, _ := json.Marshal(in)
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &b)
		ac, bc := compactJSON(t, a.Args), compactJSON(t, b.Args)
		a.Args, b.Args = nil, nil
		ak, bk := compactJSON(t, a.Kwargs), compactJSON(t, b.Kwargs)
		a.Kwargs, b.Kwargs = nil, nil
		if !reflect.DeepEqual(a, b) || ac != bc || ak != bk {
			t.Fatalf("encodeInput: %s\nencoding/json: %s", got, want)
		}
	}
	if _, err := encodeInput(&abi.Input{Args: json.RawMessage(`[1,`)}); err == nil {
		t.Fatal("invalid args encoded without an error")
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	if raw == nil {
		return "<nil>"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestDecodeOutputTooDeep(t *testing.T) {
	out := []byte(`{"result": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`)
	o := decodeOutput(out)
	if o.Kind != BadOutput || o.Reason != "output nests arrays or objects more than 10000 levels deep" {
		t.Fatalf("%v: %s", o.Kind, o.Reason)
	}
}

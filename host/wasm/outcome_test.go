package wasm

import (
	"reflect"
	"testing"
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

package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzObject holds the splitter to json.Unmarshal into a map.
func FuzzObject(f *testing.F) {
	f.Add([]byte(`{"job_id":"3f2a","function":"send_email","args":["ann@example.com",{"k":[1,2]}],"kwargs":{},"job_try":1}`))
	f.Add([]byte(` { "a" : 1 , "a":[ "x\"]" , {"}":"\\"} ] , "b\u00e9\n" :null,"c":-1.5e3 } `))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) || !utf8.Valid(body) {
			return
		}
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if trimmed[0] != '{' {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		got := Object(body)
		if len(got) != len(want) {
			t.Fatalf("%d fields, json.Unmarshal finds %d", len(got), len(want))
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Fatalf("field %q: %s, json.Unmarshal: %s", k, got[k], v)
			}
		}
	})
}

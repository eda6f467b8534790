package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
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

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\n\r\t\b\f\x00\x1f\x7f", "<>&", "日本 🎉", "\u2028\u2029", "\xff\xfe", "\xe2\x82", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimRight(buf.Bytes(), "\n")
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestTooDeep(t *testing.T) {
	deep := func(n int, open, close string) []byte {
		return []byte(`{"a": ` + strings.Repeat(open, n) + `"]}[" ` + strings.Repeat(close, n) + `}`)
	}
	for _, c := range []struct {
		b    []byte
		want bool
	}{
		{deep(MaxDepth-1, "[", "]"), false}, // the outer object makes MaxDepth
		{deep(MaxDepth, "[", "]"), true},
		{deep(MaxDepth, `{"k":`, "}"), true},
		{[]byte(`["` + strings.Repeat("[", 2*MaxDepth) + `"]`), false}, // brackets inside a string
		{[]byte(`["\"` + strings.Repeat("[", 2*MaxDepth) + `"]`), false},
		{[]byte(strings.Repeat("[", MaxDepth+1)), true}, // not valid JSON, still too deep
	} {
		if got := TooDeep(c.b); got != c.want {
			t.Errorf("TooDeep(%.30q… %d bytes) = %v", c.b, len(c.b), got)
		}
		var v any
		if err := json.Unmarshal(c.b, &v); c.want && (err == nil || !strings.Contains(err.Error(), "max depth")) {
			t.Errorf("encoding/json does not find %.30q… too deep: %v", c.b, err)
		}
	}
}

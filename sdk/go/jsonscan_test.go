package arq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// referenceInput decodes a job input with encoding/json, matching member names exactly (as
// parseInput does; encoding/json alone would match them case-insensitively).
func referenceInput(b []byte) (jobInput, error) {
	var in jobInput
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return in, err
	}
	if top == nil {
		return in, fmt.Errorf("not an object")
	}
	for key, dst := range map[string]any{
		"job_id": &in.JobID, "function": &in.Function, "job_try": &in.JobTry, "enqueue_time": &in.EnqueueTime,
		"queue_name": &in.QueueName, "worker_id": &in.WorkerID, "args": &in.Args, "kwargs": &in.Kwargs,
	} {
		if raw, ok := top[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return in, err
			}
		}
	}
	return in, nil
}

var inputSeeds = []string{
	`{"job_id":"j","function":"f","job_try":2,"enqueue_time":"2026-01-15T10:30:00Z","queue_name":"q","worker_id":"w","args":[1,"a",null,{"x":[true,false]}],"kwargs":{"k":"v","n":-1.5e3}}`,
	` { "function" : "f" , "args" : [ ] , "kwargs" : { } } `,
	`{"function":"caf\u00e9","job_id":"\"quoted\" \\ \/ \b\f\n\r\t","queue_name":"é","worker_id":"\ud83d\ude00"}`,
	`{"function":null,"args":null,"kwargs":null,"job_try":null}`,
	`{"args":[1],"args":[2,3],"kwargs":{"a":1},"kwargs":{"b":2}}`,
	`{"future":{"deep":[[[{"x":"y"}]]]},"function":"f"}`,
	`{"function":"f","kwargs":{"a":1,"a":2}}`,
	`{}`, `null`, `[]`, `""`, ``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1}x`, `{"args":[1,]}`, `{"args":[1 2]}`,
	`{"function":5}`, `{"args":{}}`, `{"kwargs":[]}`, `{"job_try":"1"}`, `{"job_try":1.5}`, `{"job_try":1e2}`,
	`{"job_try":-3}`, `{"job_try":99999999999999999999}`, `{"x":01}`, `{"x":-}`, `{"x":1.}`, `{"x":.5}`, `{"x":1e}`,
	`{"x":"\x"}`, `{"x":"\u12"}`, `{"x":"a` + "\x01" + `"}`, `{"x":"` + "\xff" + `"}`, `{"function":"` + "\xff\xfe" + `"}`,
	`{"x":tru}`, `{"x":nul}`, `{"x":True}`, `{"FUNCTION":"f"}`, `{"x":"unterminated`, `{"x":[}`, `{"x":{]}`,
	"{\"function\":\"f\"\t,\n\"args\":\r[ 1 ,2 ]}",
}

func TestParseInput(t *testing.T) {
	for _, seed := range inputSeeds {
		checkParseInput(t, []byte(seed))
	}
}

func FuzzParseInput(f *testing.F) {
	for _, seed := range inputSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(checkParseInput)
}

func checkParseInput(t *testing.T, b []byte) {
	var got jobInput
	gotErr := parseInput(b, &got)
	want, wantErr := referenceInput(b)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("input %q: parseInput error %v, encoding/json error %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if len(got.Args) == 0 && len(want.Args) == 0 {
		got.Args, want.Args = nil, nil
	}
	if len(got.Kwargs) == 0 && len(want.Kwargs) == 0 {
		got.Kwargs, want.Kwargs = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q:\nparseInput    %+v\nencoding/json %+v", b, got, want)
	}
}

func TestParseInputErrors(t *testing.T) {
	for in, want := range map[string]string{
		``:                    `the job input is not a JSON object (at the end of the input)`,
		`[1]`:                 `the job input is not a JSON object (at offset 0)`,
		`{"function":5}`:      `member "function" is not a string (at offset 12)`,
		`{"job_try":"1"}`:     `member "job_try" is not an integer`,
		`{"job_try":1.5}`:     `member "job_try" is not an integer`,
		`{"args":{}}`:         `member "args" is not an array (at offset 8)`,
		`{"kwargs":[]}`:       `member "kwargs" is not an object (at offset 10)`,
		`{"args":[1 2]}`:      `expected ',' or ']' after an array element (at offset 11)`,
		`{"a":1}x`:            `unexpected data after the job input (at offset 7)`,
		`{"a":"\q"}`:          `invalid escape in a string (at offset 7)`,
		`{"a":01}`:            `expected ',' or '}' after a member (at offset 6)`,
		`{"a":` + "\"\x01\"}": `invalid control character in a string (at offset 6)`,
		`{"a" 1}`:             `expected ':' after a member name (at offset 5)`,
		`{1:1}`:               `expected a member name (at offset 1)`,
		`{"a":x}`:             `invalid character 'x' looking for a value (at offset 5)`,
		`{"a":nope}`:          `invalid literal, expected null (at offset 5)`,
		`{"a":"open`:          `unterminated string (at the end of the input)`,
		`{"a":[` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `]}`: `the input is nested too deeply (at offset 10005)`,
	} {
		var got jobInput
		err := parseInput([]byte(in), &got)
		if err == nil || err.Error() != want {
			t.Errorf("input %.40q: error %v, want %q", in, err, want)
		}
	}
}

var stringSeeds = []string{"", "plain", `"quoted" \back\slash/`, "\b\f\n\r\t\x00\x1f\x7f", "<html> & </html>",
	"café ☕ \U0001F600", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "\xed\xa0\x80 surrogate"}

func TestAppendString(t *testing.T) {
	for _, s := range stringSeeds {
		checkAppendString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(checkAppendString)
}

func checkAppendString(t *testing.T, s string) {
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if got := string(appendString(nil, s)); got+"\n" != want.String() {
		t.Fatalf("appendString(%q) = %s, want %s", s, got, want.String())
	}
}

var fastSeeds = []string{`"s"`, `"é"`, `"a\"b"`, `""`, `0`, `-0`, `7`, `-12`, `007`, `123456789012345678`,
	`1234567890123456789`, `99999999999999999999`, `1.5`, `-2.5e-3`, `1E3`, `true`, `false`, `null`, `[]`, `{}`, `"1"`}

func TestDecodeFast(t *testing.T) {
	for _, s := range fastSeeds {
		checkDecodeFast(t, []byte(s))
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecodeFast)
}

// checkDecodeFast checks that decodeFast agrees with encoding/json whenever it decodes raw.
func checkDecodeFast(t *testing.T, raw []byte) {
	s := scanner{b: raw}
	if _, _, err := s.value(); err != nil || s.i != len(raw) {
		return // decodeFast only sees valid values
	}
	for _, typ := range []reflect.Type{stringType, intType, int64Type, float64Type, boolType} {
		fast := reflect.New(typ).Elem()
		if !decodeFast(raw, fast) {
			continue
		}
		slow := reflect.New(typ)
		if err := json.Unmarshal(raw, slow.Interface()); err != nil {
			t.Fatalf("decodeFast(%s) into %s succeeded, encoding/json failed: %v", raw, typ, err)
		}
		if !reflect.DeepEqual(fast.Interface(), slow.Elem().Interface()) {
			t.Fatalf("decodeFast(%s) into %s = %v, encoding/json gives %v", raw, typ, fast, slow.Elem())
		}
	}
}

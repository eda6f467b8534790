package arq

import (
	"reflect"
	"strings"
	"testing"
)

type wordCountArgs struct {
	Text   string `json:"text"`
	MinLen int    `json:"min_len,omitempty"`
	Upper  *bool  `json:"upper"`
	Plain  string
	Skip   string `json:"-"`
	hidden int
}

type Base struct {
	ID   string `json:"id"`
	Name string `json:"name"` // hidden by withBase.Name
}

type Extra struct {
	Note string `json:"note"`
}

type inner struct {
	Level int `json:"level"`
}

type withBase struct {
	Base
	Name string `json:"name"`
	*Extra
	inner // unexported embedded struct: its exported fields are promoted
}

func TestHandle(t *testing.T) {
	handle(t, "words", func(ctx Context, a wordCountArgs) (wordCountArgs, error) {
		if a.Skip != "" || a.hidden != 0 {
			t.Errorf("unexported or skipped fields set: %+v", a)
		}
		return a, nil
	})
	handle(t, "embedded", func(ctx Context, a withBase) (map[string]any, error) {
		note := "<nil>"
		if a.Extra != nil {
			note = a.Note
		}
		return map[string]any{"id": a.ID, "base_name": a.Base.Name, "name": a.Name, "note": note, "level": a.Level}, nil
	})
	handle(t, "empty_struct", func(ctx Context, a struct{}) (string, error) { return "ok", nil })

	tests := []struct {
		name         string
		fn           string
		args, kwargs string
		want         string
	}{
		{name: "keywords", fn: "words", kwargs: `{"text":"a b","min_len":2,"upper":true,"Plain":"p"}`,
			want: `{"result":{"text":"a b","min_len":2,"upper":true,"Plain":"p"}}`},
		{name: "positional in declaration order", fn: "words", args: `["a b",3,false,"p"]`,
			want: `{"result":{"text":"a b","min_len":3,"upper":false,"Plain":"p"}}`},
		{name: "mixed", fn: "words", args: `["a b"]`, kwargs: `{"Plain":"p"}`,
			want: `{"result":{"text":"a b","upper":null,"Plain":"p"}}`},
		{name: "all optional", fn: "words",
			want: `{"result":{"text":"","upper":null,"Plain":""}}`},
		{name: "too many", fn: "words", args: `["a",1,true,"p","x"]`,
			want: typeError(`words() takes at most 4 arguments but 5 were given`)},
		{name: "unknown keyword", fn: "words", kwargs: `{"text":"a","minlen":1}`,
			want: typeError(`words() got an unexpected keyword argument "minlen"`)},
		{name: "go name of a tagged field", fn: "words", kwargs: `{"Text":"a"}`,
			want: typeError(`words() got an unexpected keyword argument "Text"`)},
		{name: "skipped field", fn: "words", kwargs: `{"Skip":"a"}`,
			want: typeError(`words() got an unexpected keyword argument "Skip"`)},
		{name: "unexported field", fn: "words", kwargs: `{"hidden":1}`,
			want: typeError(`words() got an unexpected keyword argument "hidden"`)},
		{name: "twice", fn: "words", args: `["a"]`, kwargs: `{"text":"b"}`,
			want: typeError(`words() got multiple values for argument "text" (position 1)`)},
		{name: "wrong type", fn: "words", kwargs: `{"text":"a","min_len":"2"}`,
			want: typeError(`words() argument "min_len" (position 2): expected int, got string`)},
		{name: "wrong type positional", fn: "words", args: `[["a"]]`,
			want: typeError(`words() argument "text" (position 1): expected string, got array`)},
		{name: "wrong pointer type", fn: "words", kwargs: `{"upper":1}`,
			want: typeError(`words() argument "upper" (position 3): expected bool, got number`)},

		{name: "embedded", fn: "embedded", kwargs: `{"id":"i","name":"n","note":"x","level":3}`,
			want: `{"result":{"base_name":"","id":"i","level":3,"name":"n","note":"x"}}`},
		{name: "embedded positional", fn: "embedded", args: `["i","n","x",3]`,
			want: `{"result":{"base_name":"","id":"i","level":3,"name":"n","note":"x"}}`},
		{name: "embedded pointer left nil", fn: "embedded", kwargs: `{"id":"i"}`,
			want: `{"result":{"base_name":"","id":"i","level":0,"name":"","note":"<nil>"}}`},
		{name: "embedded too many", fn: "embedded", args: `[1,2,3,4,5]`,
			want: typeError(`embedded() takes at most 4 arguments but 5 were given`)},

		{name: "empty struct", fn: "empty_struct", want: `{"result":"ok"}`},
		{name: "empty struct given one", fn: "empty_struct", args: `[1]`,
			want: typeError(`empty_struct() takes 0 arguments but 1 was given`)},
		{name: "empty struct given keyword", fn: "empty_struct", kwargs: `{"a":1}`,
			want: typeError(`empty_struct() got an unexpected keyword argument "a"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(t, tt.fn, tt.args, tt.kwargs); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestHandleMisuse(t *testing.T) {
	type chanField struct{ C chan int }
	type deep struct {
		Base
		Extra2 struct{ ID string } // a named field is not flattened: no conflict with Base.ID
	}
	type unexportedPtr struct{ *inner }
	ok := func(name string) func(Context, wordCountArgs) (int, error) {
		return func(Context, wordCountArgs) (int, error) { return 0, nil }
	}
	tests := []struct {
		name string
		do   func()
		want string // substring of the panic; "" for no panic
	}{
		{"not a struct", func() { Handle("h1", func(Context, int) (int, error) { return 0, nil }) },
			`arq.Handle("h1"): the argument type int is not a struct type`},
		{"pointer to struct", func() { Handle("h2", func(Context, *wordCountArgs) (int, error) { return 0, nil }) },
			`arq.Handle("h2"): the argument type *arq.wordCountArgs is not a struct type`},
		{"JSON name of another field", func() { Handle("h3", func(Context, goNameClash) (int, error) { return 0, nil }) },
			`arq.Handle("h3"): fields A and B both have the JSON name "B"`},
		{"undecodable field", func() { Handle("h4", func(Context, chanField) (int, error) { return 0, nil }) },
			`arq.Handle("h4"): field C: type chan int cannot be decoded from JSON`},
		{"unencodable result", func() { Handle("h5", func(Context, wordCountArgs) (func(), error) { return nil, nil }) },
			`arq.Handle("h5"): result: type func() cannot be encoded as JSON`},
		{"nil fn", func() { Handle[wordCountArgs, int]("h6", nil) }, `arq.Handle("h6"): fn is nil`},
		{"bad name", func() { Handle("h 7", ok("h7")) }, `arq.Handle("h 7"): invalid task name`},
		{"embedded pointer to unexported", func() { Handle("h8", func(Context, unexportedPtr) (int, error) { return 0, nil }) },
			`arq.Handle("h8"): field inner is an embedded pointer to an unexported struct type`},
		{"named struct field", func() { Handle("h9", func(Context, deep) (int, error) { return 0, nil }) }, ""},
		{"duplicate task", func() { Handle("h9", ok("h9")) }, `arq.Handle("h9"): a task named "h9" is already registered`},
	}
	t.Cleanup(func() {
		for i := 1; i <= 9; i++ {
			unregister("h" + string(rune('0'+i)))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := panicText(tt.do)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want %q", got, tt.want)
			}
		})
	}
}

// goNameClash has a field whose JSON name is another field's Go name.
type goNameClash struct {
	A string `json:"B"`
	B string
}

// TestStructParamsDuplicate checks two fields with the same json tag, a type that go vet would
// reject if written out.
func TestStructParamsDuplicate(t *testing.T) {
	st := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	_, err := structParams(st)
	if err == nil || err.Error() != `fields A and B both have the JSON name "x"` {
		t.Errorf("got %v", err)
	}
}

// panicText runs f and returns what it panicked with, "" if it did not.
func panicText(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg, _ = v.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	f()
	return ""
}

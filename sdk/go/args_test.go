package arq

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

type point struct{ X, Y int }

func registerArgTasks(t *testing.T) {
	register(t, "mail", func(ctx Context, to, subject, body string) (map[string]string, error) {
		return map[string]string{"to": to, "subject": subject, "body": body}, nil
	}, "to", "subject", "body")
	register(t, "pos_only", func(ctx Context, a int, b string) (string, error) {
		return fmt.Sprint(a, b), nil
	})
	register(t, "opt", func(ctx Context, a string, b *int, c *string) ([]any, error) {
		return []any{a, b, c}, nil
	}, "a", "b", "c")
	register(t, "all_opt", func(ctx Context, a *int) (*int, error) { return a, nil }, "a")
	register(t, "one", func(ctx Context, a int) (int, error) { return a, nil }, "a")
	register(t, "none", func(ctx Context) (int, error) { return 42, nil })
	register(t, "none_named", func(ctx Context) (int, error) { return 42, nil })
	register(t, "mid", func(ctx Context, a *int, b string) ([]any, error) {
		return []any{a, b}, nil
	}, "a", "b")
	register(t, "typed", func(ctx Context, n int, u uint8, f float64, xs []string, m map[string]int,
		p point, tm time.Time, v any, raw json.RawMessage) ([]any, error) {
		return []any{n, u, f, xs, m, p, tm, v, raw}, nil
	}, "n", "u", "f", "xs", "m", "p", "tm", "v", "raw")
}

func TestArguments(t *testing.T) {
	registerArgTasks(t)
	tests := []struct {
		name         string
		fn           string
		args, kwargs string
		want         string // the exact output, or with wantPrefix a prefix of the TypeError message
		wantPrefix   bool
	}{
		// mail: three named string parameters.
		{name: "positional", fn: "mail", args: `["a@x","hi","body"]`,
			want: `{"result":{"body":"body","subject":"hi","to":"a@x"}}`},
		{name: "keywords", fn: "mail", kwargs: `{"body":"body","to":"a@x","subject":"hi"}`,
			want: `{"result":{"body":"body","subject":"hi","to":"a@x"}}`},
		{name: "mixed", fn: "mail", args: `["a@x"]`, kwargs: `{"body":"body","subject":"hi"}`,
			want: `{"result":{"body":"body","subject":"hi","to":"a@x"}}`},
		{name: "null is the zero value", fn: "mail", args: `[null,"hi","body"]`,
			want: `{"result":{"body":"body","subject":"hi","to":""}}`},
		{name: "null keyword", fn: "mail", args: `["a@x","hi"]`, kwargs: `{"body":null}`,
			want: `{"result":{"body":"","subject":"hi","to":"a@x"}}`},
		{name: "too many", fn: "mail", args: `["a","b","c","d"]`,
			want: typeError(`mail() takes 3 arguments but 4 were given`)},
		{name: "too many before unknown keyword", fn: "mail", args: `["a","b","c","d"]`, kwargs: `{"cc":1}`,
			want: typeError(`mail() takes 3 arguments but 4 were given`)},
		{name: "missing one", fn: "mail", args: `["a","b"]`,
			want: typeError(`mail() missing required argument "body" (position 3)`)},
		{name: "missing several", fn: "mail", args: `["a"]`,
			want: typeError(`mail() missing required arguments "subject" (position 2), "body" (position 3)`)},
		{name: "missing positional and keyword", fn: "mail", kwargs: `{"subject":"s"}`,
			want: typeError(`mail() missing required arguments "to" (position 1), "body" (position 3)`)},
		{name: "unknown keyword", fn: "mail", args: `["a","b","c"]`, kwargs: `{"cc":"x"}`,
			want: typeError(`mail() got an unexpected keyword argument "cc"`)},
		{name: "unknown keywords", fn: "mail", args: `["a","b","c"]`, kwargs: `{"cc":"x","bcc":"y"}`,
			want: typeError(`mail() got unexpected keyword arguments "bcc", "cc"`)},
		{name: "keyword names are case-sensitive", fn: "mail", args: `["a","b"]`, kwargs: `{"Body":"x"}`,
			want: typeError(`mail() got an unexpected keyword argument "Body"`)},
		{name: "unknown before twice", fn: "mail", args: `["a","b","c"]`, kwargs: `{"to":"x","cc":"y"}`,
			want: typeError(`mail() got an unexpected keyword argument "cc"`)},
		{name: "twice", fn: "mail", args: `["a"]`, kwargs: `{"to":"b","subject":"s","body":"b"}`,
			want: typeError(`mail() got multiple values for argument "to" (position 1)`)},
		{name: "twice several", fn: "mail", args: `["a","b","c"]`, kwargs: `{"body":"b","to":"b"}`,
			want: typeError(`mail() got multiple values for arguments "to" (position 1), "body" (position 3)`)},
		{name: "wrong type positional", fn: "mail", args: `[5,"s","b"]`,
			want: typeError(`mail() argument "to" (position 1): expected string, got number`)},
		{name: "wrong type keyword", fn: "mail", args: `["a"]`, kwargs: `{"subject":["x"],"body":"b"}`,
			want: typeError(`mail() argument "subject" (position 2): expected string, got array`)},
		{name: "first wrong type reported", fn: "mail", args: `["a",true,{}]`,
			want: typeError(`mail() argument "subject" (position 2): expected string, got bool`)},

		// pos_only: no parameter names.
		{name: "positional only", fn: "pos_only", args: `[7,"x"]`, want: `{"result":"7x"}`},
		{name: "no keywords", fn: "pos_only", args: `[7]`, kwargs: `{"b":"x","a":1}`,
			want: typeError(`pos_only() takes no keyword arguments, got "a", "b"`)},
		{name: "missing unnamed", fn: "pos_only", args: `[7]`,
			want: typeError(`pos_only() missing required argument at position 2`)},
		{name: "missing unnamed several", fn: "pos_only",
			want: typeError(`pos_only() missing required arguments at positions 1, 2`)},
		{name: "wrong type unnamed", fn: "pos_only", args: `["7","x"]`,
			want: typeError(`pos_only() argument at position 1: expected int, got string`)},
		{name: "fraction for int", fn: "pos_only", args: `[1.5,"x"]`,
			want: typeError(`pos_only() argument at position 1: expected int, got number 1.5`)},
		{name: "too many unnamed", fn: "pos_only", args: `[1,"x",3]`,
			want: typeError(`pos_only() takes 2 arguments but 3 were given`)},

		// opt: trailing pointer parameters are optional.
		{name: "optional absent", fn: "opt", args: `["x"]`, want: `{"result":["x",null,null]}`},
		{name: "optional positional", fn: "opt", args: `["x",2]`, want: `{"result":["x",2,null]}`},
		{name: "optional keyword", fn: "opt", kwargs: `{"a":"x","c":"z"}`, want: `{"result":["x",null,"z"]}`},
		{name: "optional null", fn: "opt", args: `["x",null,"z"]`, want: `{"result":["x",null,"z"]}`},
		{name: "optional too many", fn: "opt", args: `["x",1,"z",4]`,
			want: typeError(`opt() takes from 1 to 3 arguments but 4 were given`)},
		{name: "optional missing required", fn: "opt", kwargs: `{"b":1}`,
			want: typeError(`opt() missing required argument "a" (position 1)`)},
		{name: "optional wrong type", fn: "opt", args: `["x","2"]`,
			want: typeError(`opt() argument "b" (position 2): expected int, got string`)},
		{name: "all optional", fn: "all_opt", want: `{"result":null}`},
		{name: "all optional too many", fn: "all_opt", args: `[1,2]`,
			want: typeError(`all_opt() takes at most 1 argument but 2 were given`)},
		{name: "one too many", fn: "one", args: `[1,2]`,
			want: typeError(`one() takes 1 argument but 2 were given`)},
		{name: "pointer not last is required", fn: "mid", kwargs: `{"b":"s"}`,
			want: typeError(`mid() missing required argument "a" (position 1)`)},
		{name: "pointer not last given null", fn: "mid", args: `[null,"s"]`, want: `{"result":[null,"s"]}`},

		// none: no parameters.
		{name: "no parameters", fn: "none", want: `{"result":42}`},
		{name: "no parameters, one given", fn: "none", args: `[1]`,
			want: typeError(`none() takes 0 arguments but 1 was given`)},
		{name: "no parameters, keyword given", fn: "none_named", kwargs: `{"x":1}`,
			want: typeError(`none_named() takes no keyword arguments, got "x"`)},

		// typed: decoding into various types.
		{name: "types", fn: "typed",
			args: `[-3, 255, 2.5, ["a","b"], {"k":1}, {"X":1,"Y":2}, "2026-01-15T10:30:00.5+02:00", {"any":[1,"x"]}, {"raw": true}]`,
			want: `{"result":[-3,255,2.5,["a","b"],{"k":1},{"X":1,"Y":2},"2026-01-15T10:30:00.5+02:00",{"any":[1,"x"]},{"raw":true}]}`},
		{name: "overflow", fn: "typed", args: typedArgs(1, `300`),
			want: typeError(`typed() argument "u" (position 2): expected uint8, got number 300`)},
		{name: "negative unsigned", fn: "typed", args: typedArgs(1, `-1`),
			want: typeError(`typed() argument "u" (position 2): expected uint8, got number -1`)},
		{name: "slice element", fn: "typed", args: typedArgs(3, `["a", 1]`),
			want: typeError(`typed() argument "xs" (position 4): expected string in []string, got number`)},
		{name: "map value", fn: "typed", args: typedArgs(4, `{"k":"v"}`),
			want: typeError(`typed() argument "m" (position 5): expected int in map[string]int, got string`)},
		{name: "map wanted", fn: "typed", args: typedArgs(4, `[1]`),
			want: typeError(`typed() argument "m" (position 5): expected map[string]int, got array`)},
		{name: "struct field", fn: "typed", args: typedArgs(5, `{"X":"s"}`),
			want: typeError(`typed() argument "p" (position 6): field "X": expected int in arq.point, got string`)},
		{name: "custom unmarshaler", fn: "typed", args: typedArgs(6, `"yesterday"`),
			want: `typed() argument "tm" (position 7): parsing time "yesterday"`, wantPrefix: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantPrefix {
				e := callError(t, tt.fn, tt.args, tt.kwargs)
				if e.Kind != "permanent" || e.Type != "TypeError" || !strings.HasPrefix(e.Message, tt.want) {
					t.Errorf("got %+v, want a permanent TypeError starting with %q", e, tt.want)
				}
				return
			}
			if got := call(t, tt.fn, tt.args, tt.kwargs); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// typedArgs returns valid positional arguments for the task "typed", with argument i replaced by
// value.
func typedArgs(i int, value string) string {
	args := []string{`1`, `2`, `3`, `[]`, `{}`, `{}`, `"2026-01-15T10:30:00Z"`, `null`, `null`}
	args[i] = value
	return "[" + strings.Join(args, ",") + "]"
}

// TestArgumentsNotCalled checks that a task is not called when its arguments do not fit.
func TestArgumentsNotCalled(t *testing.T) {
	calls := 0
	register(t, "counted", func(ctx Context, a string) error { calls++; return nil }, "a")
	for _, in := range []struct{ args, kwargs string }{
		{`[1]`, ``}, {``, ``}, {`["a","b"]`, ``}, {``, `{"b":1}`}, {`["a"]`, `{"a":"a"}`},
	} {
		call(t, "counted", in.args, in.kwargs)
	}
	if calls != 0 {
		t.Errorf("task called %d times", calls)
	}
	call(t, "counted", `["a"]`, ``)
	if calls != 1 {
		t.Errorf("task called %d times, want 1", calls)
	}
}

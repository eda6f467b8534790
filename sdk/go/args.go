package arq

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// argError makes the error a job fails with when its arguments do not fit the task: kind
// "permanent" (sending the same arguments again cannot help), type "TypeError".
func argError(format string, a ...any) error {
	return Permanent(NewError("TypeError", fmt.Sprintf(format, a...)))
}

// bind matches a job's positional and keyword arguments to the task's parameters. It returns one
// raw JSON value per parameter, nil for an optional parameter the job did not pass.
func (t *task) bind(args []json.RawMessage, kwargs map[string]json.RawMessage) ([]json.RawMessage, error) {
	n := len(t.params)
	if len(args) > n {
		return nil, argError("%s() takes %s but %d %s given", t.name, t.arity(), len(args), wasWere(len(args)))
	}
	raws := make([]json.RawMessage, n)
	copy(raws, args)
	if len(kwargs) > 0 {
		if !t.keywords {
			names := sortedKeys(kwargs)
			return nil, argError("%s() takes no keyword arguments, got %s", t.name, quoteList(names))
		}
		var unknown []string
		var twice []int
		for k, v := range kwargs {
			i, ok := t.byName[k]
			switch {
			case !ok:
				unknown = append(unknown, k)
			case i < len(args):
				twice = append(twice, i)
			default:
				raws[i] = v
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			if len(unknown) == 1 {
				return nil, argError("%s() got an unexpected keyword argument %q", t.name, unknown[0])
			}
			return nil, argError("%s() got unexpected keyword arguments %s", t.name, quoteList(unknown))
		}
		if len(twice) > 0 {
			slices.Sort(twice)
			descs := make([]string, len(twice))
			for j, i := range twice {
				descs[j] = t.argName(i)
			}
			if len(twice) == 1 {
				return nil, argError("%s() got multiple values for argument %s", t.name, descs[0])
			}
			return nil, argError("%s() got multiple values for arguments %s", t.name, strings.Join(descs, ", "))
		}
	}
	var missing []int
	for i := len(args); i < n; i++ {
		if raws[i] == nil && !t.params[i].optional {
			missing = append(missing, i)
		}
	}
	switch {
	case len(missing) == 1:
		return nil, argError("%s() missing required argument %s", t.name, t.argName(missing[0]))
	case len(missing) > 1 && t.keywords:
		descs := make([]string, len(missing))
		for j, i := range missing {
			descs[j] = t.argName(i)
		}
		return nil, argError("%s() missing required arguments %s", t.name, strings.Join(descs, ", "))
	case len(missing) > 1:
		pos := make([]string, len(missing))
		for j, i := range missing {
			pos[j] = strconv.Itoa(i + 1)
		}
		return nil, argError("%s() missing required arguments at positions %s", t.name, strings.Join(pos, ", "))
	}
	return raws, nil
}

// decode decodes the raw JSON value of parameter i into dst, a pointer.
func (t *task) decode(i int, raw json.RawMessage, dst any) error {
	err := json.Unmarshal(raw, dst)
	if err == nil {
		return nil
	}
	return argError("%s() argument %s: %s", t.name, t.argName(i), describeDecodeError(err, t.params[i].typ))
}

// describeDecodeError says why encoding/json could not decode an argument of type typ, in words
// that do not need Go's error types: `expected string, got number`, `field "a.b": expected int,
// got string`, `expected int in []int, got string`.
func describeDecodeError(err error, typ reflect.Type) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		s := "expected " + typeString(te.Type)
		if te.Type != typ && !(typ.Kind() == reflect.Pointer && te.Type == typ.Elem()) {
			s += " in " + typeString(typ)
		}
		s += ", got " + te.Value
		if te.Field != "" {
			s = "field " + strconv.Quote(te.Field) + ": " + s
		}
		return s
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// argName names parameter i for messages: `"to" (position 1)`, or `at position 1` for a task
// registered without parameter names.
func (t *task) argName(i int) string {
	if name := t.params[i].name; name != "" {
		return fmt.Sprintf("%q (position %d)", name, i+1)
	}
	return fmt.Sprintf("at position %d", i+1)
}

// arity says how many positional arguments the task takes: "3 arguments", "at most 2 arguments",
// "from 1 to 3 arguments".
func (t *task) arity() string {
	n := len(t.params)
	switch {
	case t.min == n && n == 1:
		return "1 argument"
	case t.min == n:
		return strconv.Itoa(n) + " arguments"
	case t.min == 0 && n == 1:
		return "at most 1 argument"
	case t.min == 0:
		return "at most " + strconv.Itoa(n) + " arguments"
	default:
		return fmt.Sprintf("from %d to %d arguments", t.min, n)
	}
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quoteList formats names as `"a", "b"`.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

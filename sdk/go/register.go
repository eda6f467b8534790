package arq

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/arqhost/arqhost/abi"
)

// Register makes fn available as the task called name. Call it from an init function of the
// guest's main package, so that the task is known when the host asks for the module's manifest.
//
// fn must have one of the shapes
//
//	func(ctx arq.Context, p1 P1, ..., pn Pn) (R, error)
//	func(ctx arq.Context, p1 P1, ..., pn Pn) error
//
// where every Pi and R can be decoded from, respectively encoded to, JSON by encoding/json. A
// job's positional args fill p1..pn from left to right. Keyword arguments are accepted only when
// paramNames is given: it then holds exactly n names, the names of p1..pn, and each kwargs member
// fills the parameter of that name. Pointer-typed parameters at the end of the list are optional:
// they are nil when the job does not pass them. All other parameters are required; an explicit
// JSON null sets a parameter to its zero value, as encoding/json does.
//
// A job whose arguments do not fit (too many, a required one missing, an unknown keyword, one
// given both by position and by keyword, or a value that does not decode into the parameter's
// type) fails without calling fn, with an error of kind "permanent" and type "TypeError" whose
// message says what was wrong, e.g.
//
//	send_email() argument "to" (position 1): expected string, got number
//
// Register panics if name is not a valid task name (1 to 200 bytes of A-Z a-z 0-9 _ . : -) or is
// already registered, if fn does not have one of the shapes above, if a parameter or result type
// cannot go through JSON, or if paramNames is given but does not hold n distinct non-empty names.
func Register(name string, fn any, paramNames ...string) {
	t, err := newFuncTask(name, fn, paramNames)
	if err != nil {
		panic(fmt.Sprintf("arq.Register(%q): %v", name, err))
	}
	if err := addTask(t); err != nil {
		panic(fmt.Sprintf("arq.Register(%q): %v", name, err))
	}
}

// Handle makes fn available as the task called name, with the job's arguments gathered in one
// struct of type T. Call it from an init function of the guest's main package.
//
// Each member of the job's kwargs sets the field of T with that JSON name: the name in the field's
// json tag, or the field's Go name when the tag gives none (names match exactly, unlike
// encoding/json's case-insensitive matching). Positional args set T's fields in declaration order.
// The fields are those encoding/json decodes: exported fields, without those tagged "-", with the
// fields of embedded structs promoted. Every field is optional: one that the job does not set
// keeps its zero value. Tag options such as omitempty or string are ignored.
//
// Arguments that do not fit (too many, an unknown keyword, one given both by position and by
// keyword, a value of the wrong type) fail the job with an error of kind "permanent" and type
// "TypeError", as with [Register].
//
// Handle panics if T is not a struct type, if two fields have the same JSON name at the same
// depth, if a field's or R's type cannot go through JSON, if name is invalid or already registered,
// or if fn is nil.
func Handle[T any, R any](name string, fn func(Context, T) (R, error)) {
	t, err := newStructTask[T](name, fn)
	if err != nil {
		panic(fmt.Sprintf("arq.Handle(%q): %v", name, err))
	}
	if err := addTask(t); err != nil {
		panic(fmt.Sprintf("arq.Handle(%q): %v", name, err))
	}
}

// task is everything the SDK knows about one registered task; it is computed at registration so
// that running a job needs no further inspection of the function.
type task struct {
	name     string
	params   []param
	min      int            // number of leading required positional parameters
	keywords bool           // whether kwargs are accepted
	byName   map[string]int // parameter index by name, when keywords is set
	// invoke decodes the bound arguments (raws[i] is nil for an absent optional parameter) and
	// calls the task. A decoding failure is returned as a TypeError (see argError).
	invoke func(ctx Context, raws []json.RawMessage) (any, error)
}

// param is one parameter of a task: a function parameter or a struct field.
type param struct {
	name     string // "" for a function registered without parameter names
	typ      reflect.Type
	optional bool
	index    []int // the field's index sequence, for struct tasks
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*task{}
	taskNames  []string // in registration order, for the manifest
)

func addTask(t *task) error {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[t.name]; dup {
		return fmt.Errorf("a task named %q is already registered", t.name)
	}
	registry[t.name] = t
	taskNames = append(taskNames, t.name)
	return nil
}

func lookupTask(name string) *task {
	registryMu.RLock()
	t := registry[name]
	registryMu.RUnlock()
	return t
}

// registeredNames returns a copy of the registered task names in registration order.
func registeredNames() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return append([]string{}, taskNames...)
}

// checkTaskName reports whether name is a valid task name (ABI.md section 2.3).
func checkTaskName(name string) error {
	if name == "" {
		return fmt.Errorf("the task name is empty")
	}
	if len(name) > abi.MaxTaskName {
		return fmt.Errorf("the task name is %d bytes long, more than the %d allowed", len(name), abi.MaxTaskName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			what := fmt.Sprintf("%#02x", c)
			if ' ' <= c && c < 0x7f {
				what = fmt.Sprintf("%q", c)
			}
			return fmt.Errorf("invalid task name: byte %d is %s; a task name may hold only A-Z a-z 0-9 _ . : -", i, what)
		}
	}
	return nil
}

var (
	contextType     = reflect.TypeFor[Context]()
	errorType       = reflect.TypeFor[error]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
)

func newFuncTask(name string, fn any, names []string) (*task, error) {
	if err := checkTaskName(name); err != nil {
		return nil, err
	}
	fv := reflect.ValueOf(fn)
	if fv.Kind() != reflect.Func {
		return nil, fmt.Errorf("fn must be a function, got %T", fn)
	}
	if fv.IsNil() {
		return nil, fmt.Errorf("fn is a nil %s", fv.Type())
	}
	ft := fv.Type()
	const shapes = "func(arq.Context, ...) (R, error) or func(arq.Context, ...) error"
	if ft.IsVariadic() {
		return nil, fmt.Errorf("fn is variadic (%s); variadic functions are not supported", typeString(ft))
	}
	if ft.NumIn() == 0 || ft.In(0) != contextType {
		return nil, fmt.Errorf("fn has type %s; it must be %s", typeString(ft), shapes)
	}
	switch {
	case ft.NumOut() == 1 && ft.Out(0) == errorType:
	case ft.NumOut() == 2 && ft.Out(1) == errorType:
		if err := checkEncodable(ft.Out(0)); err != nil {
			return nil, fmt.Errorf("result: %v", err)
		}
	default:
		return nil, fmt.Errorf("fn has type %s; it must be %s", typeString(ft), shapes)
	}
	n := ft.NumIn() - 1
	if len(names) != 0 && len(names) != n {
		return nil, fmt.Errorf("%d parameter names given for the %d parameters of %s", len(names), n, typeString(ft))
	}
	t := &task{name: name, params: make([]param, n), keywords: len(names) != 0}
	if t.keywords {
		t.byName = make(map[string]int, n)
	}
	for i := range n {
		p := param{typ: ft.In(i + 1)}
		if err := checkDecodable(p.typ); err != nil {
			return nil, fmt.Errorf("parameter %d: %v", i+1, err)
		}
		if t.keywords {
			p.name = names[i]
			if p.name == "" {
				return nil, fmt.Errorf("parameter name %d is empty", i+1)
			}
			if j, dup := t.byName[p.name]; dup {
				return nil, fmt.Errorf("parameters %d and %d are both named %q", j+1, i+1, p.name)
			}
			t.byName[p.name] = i
		}
		t.params[i] = p
	}
	t.min = n
	for t.min > 0 && t.params[t.min-1].typ.Kind() == reflect.Pointer {
		t.min--
		t.params[t.min].optional = true
	}

	errorOnly := ft.NumOut() == 1
	t.invoke = func(ctx Context, raws []json.RawMessage) (any, error) {
		in := make([]reflect.Value, n+1)
		in[0] = reflect.ValueOf(ctx)
		for i, raw := range raws {
			p := &t.params[i]
			if raw == nil {
				in[i+1] = reflect.Zero(p.typ)
				continue
			}
			v := reflect.New(p.typ)
			if !decodeFast(raw, v.Elem()) {
				if err := t.decode(i, raw, v.Interface()); err != nil {
					return nil, err
				}
			}
			in[i+1] = v.Elem()
		}
		out := fv.Call(in)
		errv := out[len(out)-1]
		if !errv.IsNil() {
			return nil, errv.Interface().(error)
		}
		if errorOnly {
			return nil, nil
		}
		return out[0].Interface(), nil
	}
	return t, nil
}

func newStructTask[T, R any](name string, fn func(Context, T) (R, error)) (*task, error) {
	if err := checkTaskName(name); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, fmt.Errorf("fn is nil")
	}
	st := reflect.TypeFor[T]()
	if st.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the argument type %s is not a struct type", typeString(st))
	}
	if err := checkEncodable(reflect.TypeFor[R]()); err != nil {
		return nil, fmt.Errorf("result: %v", err)
	}
	params, err := structParams(st)
	if err != nil {
		return nil, err
	}
	t := &task{name: name, params: params, keywords: true, byName: make(map[string]int, len(params))}
	for i, p := range params {
		t.byName[p.name] = i
	}
	t.invoke = func(ctx Context, raws []json.RawMessage) (any, error) {
		var arg T
		v := reflect.ValueOf(&arg).Elem()
		for i, raw := range raws {
			if raw == nil {
				continue
			}
			f := fieldByIndexAlloc(v, t.params[i].index)
			if decodeFast(raw, f) {
				continue
			}
			if err := t.decode(i, raw, f.Addr().Interface()); err != nil {
				return nil, err
			}
		}
		return fn(ctx, arg)
	}
	return t, nil
}

// structParams lists the fields of st that encoding/json would decode, in declaration order, with
// embedded structs flattened. Of fields with the same JSON name, the least deeply nested wins; a
// tie is an error.
func structParams(st reflect.Type) ([]param, error) {
	type field struct {
		param
		goName string
		depth  int
		hidden bool
	}
	var fields []field
	var walk func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) error
	walk = func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) error {
		if seen[t] {
			return nil
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int{}, index...), i)
			if sf.Anonymous && name == "" {
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					if sf.Type.Kind() == reflect.Pointer && !sf.IsExported() {
						return fmt.Errorf("field %s is an embedded pointer to an unexported struct type, which cannot be set", sf.Name)
					}
					if err := walk(et, idx, depth+1, seen); err != nil {
						return err
					}
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if err := checkDecodable(sf.Type); err != nil {
				return fmt.Errorf("field %s: %v", sf.Name, err)
			}
			fields = append(fields, field{
				param:  param{name: name, typ: sf.Type, optional: true, index: idx},
				goName: sf.Name,
				depth:  depth,
			})
		}
		return nil
	}
	if err := walk(st, nil, 0, map[reflect.Type]bool{}); err != nil {
		return nil, err
	}
	for i := range fields {
		for j := range fields {
			if i == j || fields[i].name != fields[j].name {
				continue
			}
			switch {
			case fields[j].depth < fields[i].depth:
				fields[i].hidden = true
			case fields[j].depth == fields[i].depth:
				return nil, fmt.Errorf("fields %s and %s both have the JSON name %q", fields[i].goName, fields[j].goName, fields[i].name)
			}
		}
	}
	params := make([]param, 0, len(fields))
	for _, f := range fields {
		if !f.hidden {
			params = append(params, f.param)
		}
	}
	return params, nil
}

// fieldByIndexAlloc is reflect.Value.FieldByIndex that allocates nil embedded struct pointers on
// the way, as encoding/json does.
func fieldByIndexAlloc(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// checkDecodable reports whether JSON can be decoded into a value of type t, as far as can be
// told from the type alone.
func checkDecodable(t reflect.Type) error {
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return fmt.Errorf("type %s cannot be decoded from JSON", typeString(t))
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return fmt.Errorf("type %s is a non-empty interface, which cannot be decoded from JSON", typeString(t))
		}
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if err := checkDecodable(t.Elem()); err != nil {
			return fmt.Errorf("in %s: %v", typeString(t), err)
		}
	case reflect.Map:
		if err := checkMapKey(t.Key(), textUnmarshaler); err != nil {
			return fmt.Errorf("in %s: %v", typeString(t), err)
		}
		if err := checkDecodable(t.Elem()); err != nil {
			return fmt.Errorf("in %s: %v", typeString(t), err)
		}
	}
	return nil
}

// checkEncodable reports whether a value of type t can be encoded as JSON, as far as can be
// told from the type alone.
func checkEncodable(t reflect.Type) error {
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return fmt.Errorf("type %s cannot be encoded as JSON", typeString(t))
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if err := checkEncodable(t.Elem()); err != nil {
			return fmt.Errorf("in %s: %v", typeString(t), err)
		}
	case reflect.Map:
		if err := checkMapKey(t.Key(), textMarshaler); err != nil {
			return fmt.Errorf("in %s: %v", typeString(t), err)
		}
		if err := checkEncodable(t.Elem()); err != nil {
			return fmt.Errorf("in %s: %v", typeString(t), err)
		}
	}
	return nil
}

// checkMapKey reports whether k can be a map key type in JSON; text is the encoding.Text*
// interface that a key type of another kind must implement.
func checkMapKey(k, text reflect.Type) error {
	switch k.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return nil
	}
	if k.Implements(text) || reflect.PointerTo(k).Implements(text) {
		return nil
	}
	return fmt.Errorf("map key type %s is not a string, an integer or an %s", typeString(k), text)
}

// typeString is t.String() with "interface {}" spelled "any".
func typeString(t reflect.Type) string {
	return strings.ReplaceAll(t.String(), "interface {}", "any")
}

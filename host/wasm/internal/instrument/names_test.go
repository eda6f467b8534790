package instrument

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
)

// nameSection is the content of a "name" section, decoded by the test independently of the
// package: function names, local and label names by function, and the other subsections' bytes.
type nameSection struct {
	funcs  map[uint32]string
	locals map[uint32]map[uint32]string
	labels map[uint32]map[uint32]string
	other  map[byte][]byte
}

// testReader is a minimal reader for the tests' own decoding; it fails the test on bad input.
type testReader struct {
	tb testing.TB
	b  []byte
}

func (r *testReader) byte() byte {
	if len(r.b) == 0 {
		r.tb.Fatal("test decoder: unexpected end")
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *testReader) u32() uint32 {
	var v uint32
	for shift := 0; ; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
}

func (r *testReader) bytes(n uint32) []byte {
	if uint32(len(r.b)) < n {
		r.tb.Fatal("test decoder: unexpected end")
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *testReader) name() string { return string(r.bytes(r.u32())) }

func (r *testReader) nameMap() map[uint32]string {
	m := map[uint32]string{}
	for n := r.u32(); n > 0; n-- {
		i := r.u32()
		m[i] = r.name()
	}
	return m
}

func (r *testReader) indirectNameMap() map[uint32]map[uint32]string {
	m := map[uint32]map[uint32]string{}
	for n := r.u32(); n > 0; n-- {
		i := r.u32()
		m[i] = r.nameMap()
	}
	return m
}

// customSections returns the contents (after the name) of the custom sections called name.
func customSections(tb testing.TB, wasm []byte, name string) [][]byte {
	r := &testReader{tb: tb, b: wasm[8:]}
	var out [][]byte
	for len(r.b) > 0 {
		id := r.byte()
		body := &testReader{tb: tb, b: r.bytes(r.u32())}
		if id == 0 && body.name() == name {
			out = append(out, body.b)
		}
	}
	return out
}

// parseNames decodes the module's only name section.
func parseNames(tb testing.TB, wasm []byte) *nameSection {
	tb.Helper()
	secs := customSections(tb, wasm, "name")
	if len(secs) != 1 {
		tb.Fatalf("%d name sections, want 1", len(secs))
	}
	ns := &nameSection{other: map[byte][]byte{}}
	r := &testReader{tb: tb, b: secs[0]}
	for len(r.b) > 0 {
		id := r.byte()
		sub := &testReader{tb: tb, b: r.bytes(r.u32())}
		switch id {
		case 1:
			ns.funcs = sub.nameMap()
		case 2:
			ns.locals = sub.indirectNameMap()
		case 3:
			ns.labels = sub.indirectNameMap()
		default:
			ns.other[id] = sub.b
		}
		if id >= 1 && id <= 3 && len(sub.b) != 0 {
			tb.Fatalf("name subsection %d: %d bytes left over", id, len(sub.b))
		}
	}
	return ns
}

// shiftKeys moves the keys at or above from up by one, as Instrument moves function indices.
func shiftKeys[V any](m map[uint32]V, from uint32) map[uint32]V {
	if m == nil {
		return nil
	}
	out := map[uint32]V{}
	for k, v := range m {
		if k >= from {
			k++
		}
		out[k] = v
	}
	return out
}

// TestNames instruments a module built with wat2wasm --debug-names: every function keeps its
// name at its new index (imported ones at theirs), local names move with their functions, and the
// module and global names are copied.
func TestNames(t *testing.T) {
	in := readTestdata(t, "names.wasm")
	out, info, err := Instrument(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, after := parseNames(t, in), parseNames(t, out)
	if info.CheckFunc != 2 {
		t.Fatalf("check function %d, want 2 (after the two imports)", info.CheckFunc)
	}
	if want := shiftKeys(before.funcs, 2); !reflect.DeepEqual(after.funcs, want) {
		t.Errorf("function names %v, want %v", after.funcs, want)
	}
	if after.funcs[0] != "log" || after.funcs[1] != "clock" || after.funcs[3] != "first" || after.funcs[5] != "third" {
		t.Errorf("function names %v", after.funcs)
	}
	if want := shiftKeys(before.locals, 2); !reflect.DeepEqual(after.locals, want) {
		t.Errorf("local names %v, want %v", after.locals, want)
	}
	if !reflect.DeepEqual(after.other, before.other) || len(after.other) != 2 {
		t.Errorf("other subsections %v, want %v (module and global names)", after.other, before.other)
	}
	if _, err := newTestRuntime(t).CompileModule(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}

// Builders of binary modules for tests that need encodings wat2wasm does not write.

func tU32(v uint32) []byte { return appendU32(nil, v) }

func tName(s string) []byte { return append(tU32(uint32(len(s))), s...) }

func tCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// tVec is a vector: its length and the items.
func tVec(items ...[]byte) []byte {
	return tCat(append([][]byte{tU32(uint32(len(items)))}, items...)...)
}

// tSection is a section: id, size, contents.
func tSection(id byte, contents ...[]byte) []byte {
	c := tCat(contents...)
	return tCat([]byte{id}, tU32(uint32(len(c))), c)
}

// tModule is the header and the sections.
func tModule(sections ...[]byte) []byte {
	return tCat(append([][]byte{wasmMagic, wasmVersion}, sections...)...)
}

// tNamesModule has one imported and three defined functions, and a name section with function,
// local and label names and a global names subsection (7), in the order given by subs.
func tNamesModule(nameSection []byte) []byte {
	voidType := []byte{0x60, 0, 0}
	body := tCat(tU32(5), []byte{0, opBlock, blockTypeEmpty, opEnd, opEnd}) // (block) end
	return tModule(
		tSection(secType, tVec(voidType)),
		tSection(secImport, tVec(tCat(tName("env"), tName("f"), []byte{0}, tU32(0)))),
		tSection(secFunction, tVec(tU32(0), tU32(0), tU32(0))),
		tSection(secCode, tVec(body, body, body)),
		nameSection,
	)
}

func tNameSection(subs ...[]byte) []byte {
	return tSection(secCustom, append([][]byte{tName("name")}, subs...)...)
}

func tNameSub(id byte, contents []byte) []byte {
	return tCat([]byte{id}, tU32(uint32(len(contents))), contents)
}

func tNameMap(pairs ...any) []byte {
	var items [][]byte
	for i := 0; i < len(pairs); i += 2 {
		items = append(items, tCat(tU32(uint32(pairs[i].(int))), tName(pairs[i+1].(string))))
	}
	return tVec(items...)
}

// TestLabelNames checks subsection 3 (label names, keyed by function index) and a padded index.
func TestLabelNames(t *testing.T) {
	labels := tVec(
		tCat(tU32(1), tNameMap(0, "outer")),
		tCat([]byte{0x83, 0x80, 0x00}, tNameMap(0, "padded")), // function 3, in three bytes
	)
	in := tNamesModule(tNameSection(
		tNameSub(1, tNameMap(0, "imp", 1, "a", 2, "b", 3, "c")),
		tNameSub(2, tVec(tCat(tU32(2), tNameMap(0, "x")))),
		tNameSub(3, labels),
		tNameSub(7, tNameMap(0, "g")),
	))
	out, _, err := Instrument(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := parseNames(t, out)
	wantFuncs := map[uint32]string{0: "imp", 2: "a", 3: "b", 4: "c"}
	wantLocals := map[uint32]map[uint32]string{3: {0: "x"}}
	wantLabels := map[uint32]map[uint32]string{2: {0: "outer"}, 4: {0: "padded"}}
	if !reflect.DeepEqual(ns.funcs, wantFuncs) || !reflect.DeepEqual(ns.locals, wantLocals) || !reflect.DeepEqual(ns.labels, wantLabels) {
		t.Errorf("names %v %v %v, want %v %v %v", ns.funcs, ns.locals, ns.labels, wantFuncs, wantLocals, wantLabels)
	}
	if !bytes.Equal(ns.other[7], tNameMap(0, "g")) {
		t.Errorf("global names %x", ns.other[7])
	}
	if !bytes.Contains(out, []byte{0x84, 0x80, 0x00}) {
		t.Error("the padded index lost its width")
	}
	if rt, err := roundTrip(in); err != nil || !bytes.Equal(rt, in) {
		t.Errorf("round trip: %v", err)
	}
}

// TestMalformedNames checks that a name section that does not decode is dropped by Instrument
// (and kept by the round trip), and that the module still instruments.
func TestMalformedNames(t *testing.T) {
	for i, ns := range [][]byte{
		tNameSection(tNameSub(1, tNameMap(0, "imp", 9, "out of range"))),
		tNameSection(tNameSub(1, tCat(tU32(5), tU32(0)))),                                       // truncated map
		tNameSection([]byte{1, 0x20, 0x00}),                                                     // subsection larger than the section
		tNameSection(tNameSub(2, tVec(tCat(tU32(2), tU32(1), tU32(0)))), []byte{}),              // truncated inner map
		tNameSection(tNameSub(1, tCat(tNameMap(0, "a"), []byte{0xff}))),                         // bytes left over
		tNameSection(tNameSub(1, tVec(tCat([]byte{0xff, 0xff, 0xff, 0xff, 0x7f}, tName("x"))))), // overflow
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			in := tNamesModule(ns)
			out, info, err := Instrument(in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(customSections(t, out, "name")); n != 0 {
				t.Errorf("%d name sections kept", n)
			}
			if info.Functions != 3 {
				t.Errorf("info %+v", info)
			}
			if _, err := newTestRuntime(t).CompileModule(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			if rt, err := roundTrip(in); err != nil || !bytes.Equal(rt, in) {
				t.Errorf("round trip: %v", err)
			}
		})
	}
}

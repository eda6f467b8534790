package instrument

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Instrument must never panic: on input it cannot decode it returns an error that says where and
// what. These tests feed it truncated, corrupted and hand-made broken modules; the fuzz target
// does the same at random.

// smallModules returns the test modules and the project's modules of at most 64 KiB.
func smallModules(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	paths, _ := filepath.Glob("testdata/*.wasm")
	for _, dir := range projectModuleDirs() {
		found, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
		paths = append(paths, found...)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Size() <= 64<<10 {
			out[p] = readModule(tb, p)
		}
	}
	return out
}

// checkInvariants is what must hold for any input: no panic; if Instrument succeeds, the round
// trip reproduces the input, and the output decodes with as many function bodies.
func checkInvariants(t *testing.T, in []byte) {
	t.Helper()
	out, info, err := Instrument(in, Options{})
	if err != nil {
		if !strings.HasPrefix(err.Error(), "instrument: ") {
			t.Fatalf("error without context: %v", err)
		}
		return
	}
	rt, err := roundTrip(in)
	if err != nil {
		t.Fatalf("Instrument succeeds but the round trip fails: %v", err)
	}
	if !bytes.Equal(rt, in) {
		t.Fatalf("round trip of % x gives % x", in, rt)
	}
	m, err := decode(out)
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	if m.bodies != info.Functions || m.points != info.Points {
		t.Fatalf("output has %d bodies and %d check points, info %+v", m.bodies, m.points, info)
	}
}

// TestTruncations instruments every prefix of the small modules.
func TestTruncations(t *testing.T) {
	for _, in := range smallModules(t) {
		step := max(1, len(in)/2000)
		for n := 0; n < len(in); n += step {
			checkInvariants(t, in[:n])
		}
	}
}

// TestCorruptions sets every byte of the small test modules to a few other values in turn.
func TestCorruptions(t *testing.T) {
	for path, in := range smallModules(t) {
		if !strings.HasPrefix(path, "testdata") {
			continue
		}
		b := bytes.Clone(in)
		for i := 8; i < len(b); i++ {
			for _, v := range []byte{0x00, 0x7f, 0x80, 0xff, b[i] + 1} {
				old := b[i]
				b[i] = v
				checkInvariants(t, b)
				b[i] = old
			}
		}
	}
}

// tFunc is a module with one function of type () -> () and the given body (without the locals
// and the final end, which it adds).
func tFunc(code ...byte) []byte {
	body := tCat([]byte{0x00}, code, []byte{opEnd})
	return tModule(
		tSection(secType, tVec([]byte{0x60, 0, 0})),
		tSection(secFunction, tVec(tU32(0))),
		tSection(secMemory, tVec([]byte{0x00, 0x01})),
		tSection(secCode, tVec(tCat(tU32(uint32(len(body))), body))),
	)
}

// TestErrors checks that broken modules fail with errors that name what is wrong.
func TestErrors(t *testing.T) {
	header := tModule()
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not a WebAssembly module"},
		{"no magic", []byte("\x00asn\x01\x00\x00\x00"), "not a WebAssembly module"},
		{"version", []byte("\x00asm\x02\x00\x00\x00"), "unsupported binary version 02 00 00 00"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00"), "a component, not a core module"},
		{"section size", append(header, secType, 0x80), "size of section id 1: unexpected end"},
		{"section too long", append(header, secType, 0x05, 0x00), "section id 1 of 5 bytes exceeds the 1 bytes left"},
		{"unknown section", append(header, 14, 0x00), "unknown section id 14"},
		{"order", tModule(tSection(secFunction, tVec()), tSection(secType, tVec())), "type section: offset 0xb: section out of order"},
		{"repeated", tModule(tSection(secType, tVec()), tSection(secType, tVec())), "section out of order or repeated"},
		{"left over", tModule(tSection(secType, tVec(), []byte{0})), "type section: offset 0xb: 1 bytes left over"},
		{"vector too long", tModule(tSection(secType, tU32(1000))), "type count 1000 exceeds the 0 bytes left"},
		{"gc type", tModule(tSection(secType, tVec([]byte{0x5e, 0x7f, 0x00}))), "unsupported type form 0x5e"},
		{"gc value type", tModule(tSection(secType, tVec([]byte{0x60, 0x01, 0x64, 0x70, 0x00}))), "unsupported value type 0x64"},
		{"import kind", tModule(tSection(secImport, tVec(tCat(tName("a"), tName("b"), []byte{0x07})))), "unknown import kind 0x07"},
		{"import type", tModule(tSection(secImport, tVec(tCat(tName("a"), tName("b"), []byte{0x00, 0x00})))), "type index 0 out of range (0 types)"},
		{"bodies", tModule(tSection(secType, tVec([]byte{0x60, 0, 0})), tSection(secFunction, tVec(tU32(0)))), "0 function bodies for 1 functions declared"},
		{"try", tFunc(0x06, 0x40, opEnd), "code section, function body 0: offset 0x1c: unsupported opcode 0x06: try (exception handling)"},
		{"try_table", tFunc(0x1f, 0x40, 0x00, opEnd), "unsupported opcode 0x1f: try_table"},
		{"throw", tFunc(0x08, 0x00), "unsupported opcode 0x08"},
		{"gc prefix", tFunc(0xfb, 0x00), "unsupported opcode 0xfb"},
		{"call_ref", tFunc(0x14, 0x00), "unsupported opcode 0x14"},
		{"unknown", tFunc(0x27), "unknown opcode 0x27"},
		{"misc", tFunc(0xfc, 0x12), "unknown opcode 0xfc 18"},
		{"relaxed simd", tFunc(0xfd, 0x80, 0x02), "unsupported opcode 0xfd 0x100: relaxed SIMD"},
		{"unknown simd", tFunc(0xfd, 0x9a, 0x01), "unknown opcode 0xfd 0x9a"},
		{"atomic", tFunc(0xfe, 0x04), "unknown opcode 0xfe 0x4"},
		{"fence", tFunc(0xfe, 0x03, 0x01), "atomic.fence: expected 0x00, got 0x01"},
		{"overlong", tFunc(0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, opDrop), "i32.const value: malformed LEB128: integer representation too long"},
		{"too large", tFunc(0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, opDrop), "i32.const value: malformed LEB128: integer too large"},
		{"u32 too large", tFunc(0x20, 0xff, 0xff, 0xff, 0xff, 0x1f, opDrop), "local index: malformed LEB128: integer too large"},
		{"i64 overlong", tFunc(0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, opDrop), "i64.const value: malformed LEB128: integer representation too long"},
		{"call range", tFunc(opCall, 0x05), "function index 5 out of range (1 functions)"},
		{"block type", tFunc(opBlock, 0x05, opEnd), "block type index 5 out of range (1 types)"},
		{"block type gc", tFunc(opBlock, 0x63, 0x70, opEnd), "unsupported block type 0x63"},
		{"else", tFunc(opBlock, 0x40, opElse, opEnd), "else (0x05) without if"},
		{"no end", tModule(
			tSection(secType, tVec([]byte{0x60, 0, 0})),
			tSection(secFunction, tVec(tU32(0))),
			tSection(secCode, tVec([]byte{0x02, 0x00, 0x01}))), "expression not terminated by end"},
		{"after end", tFunc(opEnd, opNop), "2 bytes after the end of the function body"},
		{"br_table", tFunc(opBrTable, 0x7f, 0x00), "br_table label count 127 exceeds"},
		{"f64", tFunc(opF64Const, 0x00, 0x00), "f64.const value: unexpected end of input (8 bytes needed"},
		{"memarg", tFunc(0x28, 0x42), "memarg offset: unexpected end"},
		{"element flags", tModule(tSection(secElement, tVec([]byte{0x08, 0x00}))), "element segment 0: unknown flags 8"},
		{"element kind", tModule(tSection(secElement, tVec([]byte{0x01, 0x01, 0x00}))), "unknown element kind 0x01"},
		{"data flags", tModule(tSection(secData, tVec([]byte{0x03, 0x00}))), "data segment 0: unknown flags 3"},
		{"export kind", tModule(tSection(secExport, tVec(tCat(tName("e"), []byte{0x05, 0x00})))), "unknown export kind 0x05"},
		{"start", tModule(tSection(secStart, tU32(0))), "start function: function index 0 out of range (0 functions)"},
		{"global init", tModule(tSection(secGlobal, tVec([]byte{0x70, 0x00, opRefFunc, 0x00, opEnd}))), "global section: offset 0xe: function index 0 out of range"},
		{"limits", tModule(tSection(secMemory, tVec([]byte{0x08, 0x00}))), "unknown limits flags 0x08"},
		{"custom name", append(header, 0x00, 0x02, 0x05, 'a'), "custom section name: unexpected end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Instrument(tc.in, Options{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

// FuzzInstrumentNoPanic instruments random input: Instrument must never panic, and when it
// succeeds the round trip must reproduce the input and the output must decode. Each input is
// tried as a module and as the code of a function in a valid module, so that mutations reach the
// instruction decoder as well as the section decoders.
func FuzzInstrumentNoPanic(f *testing.F) {
	for _, code := range [][]byte{
		{opLoop, blockTypeEmpty, opBr, 0x00, opEnd},
		{opI32Const, 0x01, opIf, valI32, opI32Const, 0x02, opElse, opI32Const, 0x03, opEnd, opDrop},
		{opBlock, blockTypeEmpty, opI32Const, 0x00, opBrTable, 0x02, 0x00, 0x00, 0x00, opEnd},
		{opPrefixSIMD, 0x0c, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, opPrefixSIMD, 0x15, 0x03, opDrop},
		{opI32Const, 0x00, opPrefixSIMD, 0x5c, 0x02, 0x08, opDrop},
		{opI32Const, 0x00, opI32Const, 0x00, opI32Const, 0x00, opPrefixMisc, 0x0a, 0x00, 0x00},
		{opCall, 0x00, opRefFunc, 0x00, opDrop},
	} {
		f.Add(code)
	}
	for _, in := range smallModules(f) {
		f.Add(in)
		f.Add(in[:len(in)/2])
	}
	for _, dir := range projectModuleDirs() {
		found, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
		for _, p := range found {
			if in, err := os.ReadFile(p); err == nil && len(in) > 64<<10 {
				f.Add(in[:4<<10]) // the start of the large modules: their first sections
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkInvariants(t, in)
		checkInvariants(t, tFunc(in...))
	})
}

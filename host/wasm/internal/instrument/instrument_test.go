package instrument

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
)

// tCheck is the check sequence the tests expect for budget global 0, check function 0 and a
// one-byte cost, written out byte by byte.
func tCheck(cost byte) []byte {
	return []byte{
		0x23, 0x00, 0x41, cost, 0x6b, 0x24, 0x00, // global.get 0; i32.const cost; i32.sub; global.set 0
		0x23, 0x00, 0x41, 0x00, 0x48, // global.get 0; i32.const 0; i32.lt_s
		0x04, 0x40, 0x10, 0x00, 0x24, 0x00, 0x0b, // if; call 0; global.set 0; end
	}
}

// TestExactOutput instruments a small module and compares the result with the module written out
// by hand: the added type, import and global sections in their places, the check points with
// their costs, and the moved function indices.
func TestExactOutput(t *testing.T) {
	voidType := []byte{0x60, 0, 0}
	body := []byte{
		0x00,       // no locals
		0x41, 0x01, // i32.const 1        function: 1
		0x03, 0x40, // loop               function: 2
		0x01,       //   nop              outer loop: 1
		0x02, 0x40, //   block            outer loop: 2
		0x01,       //     nop            outer loop: 3
		0x03, 0x40, //     loop           outer loop: 4
		0x01,       //       nop          inner loop: 1
		0x0b,       //     end            inner loop: 2
		0x0b,       //   end              outer loop: 5
		0x0b,       // end                outer loop: 6
		0x1a,       // drop               function: 3
		0x10, 0x00, // call 0             function: 4
		0x0b, //                          function: 5
	}
	in := tModule(
		tSection(secType, tVec(voidType)),
		tSection(secFunction, tVec(tU32(0))),
		tSection(secExport, tVec(tCat(tName("f"), []byte{0x00, 0x00}))),
		tSection(secCode, tVec(tCat(tU32(uint32(len(body))), body))),
	)
	wantBody := tCat(
		[]byte{0x00}, tCheck(5),
		[]byte{0x41, 0x01, 0x03, 0x40}, tCheck(6),
		[]byte{0x01, 0x02, 0x40, 0x01, 0x03, 0x40}, tCheck(2),
		[]byte{0x01, 0x0b, 0x0b, 0x0b, 0x1a, 0x10, 0x01, 0x0b},
	)
	want := tModule(
		tSection(secType, tVec(voidType, []byte{0x60, 0, 1, 0x7f})),
		tSection(secImport, tVec(tCat(tName("arqhost_rt"), tName("check"), []byte{0x00, 0x01}))),
		tSection(secFunction, tVec(tU32(0))),
		tSection(secGlobal, tVec([]byte{0x7f, 0x01, 0x41, 0x80, 0x80, 0xc0, 0x00, 0x0b})), // 1<<20
		tSection(secExport, tVec(tCat(tName("f"), []byte{0x00, 0x01}))),
		tSection(secCode, tVec(tCat(tU32(uint32(len(wantBody))), wantBody))),
	)
	out, info, err := Instrument(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("output\n% x\nwant\n% x", out, want)
	}
	if want := (Info{CheckFunc: 0, Global: 0, Points: 3, Functions: 1}); info != want {
		t.Errorf("info %+v, want %+v", info, want)
	}
	if _, err := newTestRuntime(t).CompileModule(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}

// TestSectionPlacement checks where added sections go: after the last known section that comes
// before them, leaving custom sections around them in place; existing ones are extended.
func TestSectionPlacement(t *testing.T) {
	custom := func(name string) []byte { return tSection(secCustom, tName(name), []byte("x")) }
	in := tModule(
		custom("a"),
		tSection(secMemory, tVec([]byte{0x00, 0x01})),
		custom("b"),
		tSection(secDataCount, tU32(0)),
		custom("c"),
	)
	out, info, err := Instrument(in, Options{Budget: -3})
	if err != nil {
		t.Fatal(err)
	}
	want := tModule(
		tSection(secType, tVec([]byte{0x60, 0, 1, 0x7f})),
		tSection(secImport, tVec(tCat(tName("arqhost_rt"), tName("check"), []byte{0x00, 0x00}))),
		custom("a"),
		tSection(secMemory, tVec([]byte{0x00, 0x01})),
		tSection(secGlobal, tVec([]byte{0x7f, 0x01, 0x41, 0x7d, 0x0b})), // i32.const -3
		custom("b"),
		tSection(secDataCount, tU32(0)),
		custom("c"),
	)
	if !bytes.Equal(out, want) {
		t.Errorf("output\n% x\nwant\n% x", out, want)
	}
	if info != (Info{}) {
		t.Errorf("info %+v, want zero", info)
	}
	if _, err := newTestRuntime(t).CompileModule(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}

// TestFeatures instruments a module with encodings wazero does not run (tail calls, threads,
// multi-memory, typed select): it decodes, round-trips, and the output validates with wabt's
// wasm-validate where that is installed.
func TestFeatures(t *testing.T) {
	in := readTestdata(t, "features.wasm")
	out, info, err := Instrument(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Functions != 4 || info.Points != 4 {
		t.Errorf("info %+v", info)
	}
	if rt, err := roundTrip(in); err != nil || !bytes.Equal(rt, in) {
		t.Errorf("round trip: %v", err)
	}
	if _, err := decode(out); err != nil {
		t.Errorf("output does not decode: %v", err)
	}
	validate(t, out, "--enable-all")
}

// TestValidateOutputs checks every instrumented test module with wabt's wasm-validate, where that
// is installed: a second opinion besides wazero's.
func TestValidateOutputs(t *testing.T) {
	for _, name := range []string{"loops.wasm", "recursion.wasm", "tables.wasm", "simd.wasm", "bulk.wasm", "names.wasm"} {
		out, _, err := Instrument(readTestdata(t, name), Options{})
		if err != nil {
			t.Fatal(err)
		}
		validate(t, out)
	}
}

// validate runs wasm-validate on a module, skipping the test if it is not installed.
func validate(t *testing.T, wasm []byte, flags ...string) {
	t.Helper()
	tool, err := exec.LookPath("wasm-validate")
	if err != nil {
		t.Fatal("wasm-validate is not installed: run `make deps` (it installs wabt)")
	}
	path := t.TempDir() + "/out.wasm"
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, append(flags, path)...).CombinedOutput(); err != nil {
		t.Errorf("wasm-validate: %v\n%s", err, out)
	}
}

// TestTagSection checks a module with an imported tag and a tag section (exception handling, which
// wazero does not run): the new global section goes after the tag section, which comes between
// memory and global in the section order.
func TestTagSection(t *testing.T) {
	in := tModule(
		tSection(secType, tVec([]byte{0x60, 0, 0})),
		tSection(secImport, tVec(tCat(tName("env"), tName("e"), []byte{0x04, 0x00, 0x00}))),
		tSection(secTag, tVec([]byte{0x00, 0x00})),
		tSection(secExport, tVec(tCat(tName("t"), []byte{0x04, 0x01}))),
	)
	want := tModule(
		tSection(secType, tVec([]byte{0x60, 0, 0}, []byte{0x60, 0, 1, 0x7f})),
		tSection(secImport, tVec(
			tCat(tName("env"), tName("e"), []byte{0x04, 0x00, 0x00}),
			tCat(tName("arqhost_rt"), tName("check"), []byte{0x00, 0x01}))),
		tSection(secTag, tVec([]byte{0x00, 0x00})),
		tSection(secGlobal, tVec([]byte{0x7f, 0x01, 0x41, 0x80, 0x80, 0xc0, 0x00, 0x0b})),
		tSection(secExport, tVec(tCat(tName("t"), []byte{0x04, 0x01}))),
	)
	out, info, err := Instrument(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("output\n% x\nwant\n% x", out, want)
	}
	if info != (Info{}) {
		t.Errorf("info %+v, want zero", info)
	}
	validate(t, out, "--enable-exceptions")
}

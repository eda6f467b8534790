package wasmgen

import "fmt"

// EnvModuleName is the module name generated modules import functions and globals from.
const EnvModuleName = "env"

// EnvFuncs is the number of functions EnvModule exports, "imp0" to "imp3", all of type
// (i32) -> i32. They do not trap; "imp3" also adds its argument to a hidden counter and returns
// the counter, so its results depend on the order and number of calls.
const EnvFuncs = 4

type envGlobal struct {
	t     valType
	mut   bool
	bits  uint64 // initial value (low 64 bits for v128)
	value int64  // the initial value of i32 globals, used for segment offsets
}

// envGlobals are the globals EnvModule exports as "g0", "g1", ...
var envGlobals = []envGlobal{
	{t: tI32, bits: 16, value: 16},
	{t: tI64, bits: uint64(0xFFFFFFFFFFFFFFFB)},
	{t: tF32, bits: 0x3FC00000},
	{t: tF64, bits: 0xC002000000000000},
	{t: tI32, mut: true, bits: 5, value: 5},
	{t: tI64, mut: true, bits: 77},
	{t: tF32, mut: true, bits: 0x3E800000},
	{t: tF64, mut: true, bits: 0x4202A05F20000000},
	{t: tI32, bits: 3, value: 3},
	{t: tV128, bits: 0x0123456789ABCDEF},
}

// The limits of EnvModule's memory (pages) and funcref table (elements), exported as "memory" and
// "table".
const (
	envMemoryMax = 3
	envTableMin  = 4
	envTableMax  = 8
)

// EnvGlobals is the number of globals EnvModule exports, "g0" to "g9".
var EnvGlobals = len(envGlobals)

// EnvModule returns the module that provides the imports of generated modules; instantiate it
// under the name EnvModuleName in every runtime that runs generated modules. Besides functions
// and globals it exports a memory "memory" (1 page, at most 3) and a funcref table "table" (4
// elements, at most 8), which generated modules sometimes import instead of defining their own.
func EnvModule() []byte {
	var types, funcs, tables, memory, globals, exports, code enc
	// type 0: (i32) -> i32
	types.u32(1)
	types.byte1(0x60, 1, byte(tI32), 1, byte(tI32))

	funcs.u32(EnvFuncs)
	for i := 0; i < EnvFuncs; i++ {
		funcs.u32(0)
	}

	// globals: the exported ones, then the hidden counter of imp3.
	globals.u32(uint32(len(envGlobals) + 1))
	for _, g := range envGlobals {
		globals.byte1(byte(g.t), b2u(g.mut))
		constExpr(&globals, g.t, g.bits)
		globals.byte1(0x0B)
	}
	counter := uint32(len(envGlobals))
	globals.byte1(byte(tI32), 1, 0x41, 0, 0x0B)

	tables.u32(1)
	encodeTableType(&tables, table{min: envTableMin, max: envTableMax, hasMax: true})
	memory.u32(1)
	encodeLimits(&memory, 1, envMemoryMax, true)

	exports.u32(uint32(EnvFuncs + len(envGlobals) + 2))
	exports.name("table")
	exports.byte1(0x01, 0)
	exports.name("memory")
	exports.byte1(0x02, 0)
	for i := 0; i < EnvFuncs; i++ {
		exports.name(fmt.Sprintf("imp%d", i))
		exports.byte1(0x00)
		exports.u32(uint32(i))
	}
	for i := range envGlobals {
		exports.name(fmt.Sprintf("g%d", i))
		exports.byte1(0x03)
		exports.u32(uint32(i))
	}

	bodies := [][]byte{
		{0x20, 0, 0x41, 1, 0x6A}, // x + 1
		nil,                      // x * 0x9E3779B9
		{0x20, 0, 0x41, 7, 0x77, 0x41, 0xD5, 0x00, 0x73}, // rotl(x, 7) ^ 0x55
		nil,
	}
	var b1 enc
	b1.byte1(0x20, 0, 0x41)
	b1.s32(int32(-1640531527)) // 0x9E3779B9
	b1.byte1(0x6C)
	bodies[1] = b1.b
	var b3 enc // counter += x; counter
	b3.byte1(0x23)
	b3.u32(counter)
	b3.byte1(0x20, 0, 0x6A, 0x24)
	b3.u32(counter)
	b3.byte1(0x23)
	b3.u32(counter)
	bodies[3] = b3.b
	code.u32(EnvFuncs)
	for _, b := range bodies {
		var c enc
		c.u32(0) // no locals
		c.byte1(b...)
		c.byte1(0x0B)
		code.vecBytes(c.b)
	}

	var m enc
	m.b = header()
	m.section(secType, types.b)
	m.section(secFunction, funcs.b)
	m.section(secTable, tables.b)
	m.section(secMemory, memory.b)
	m.section(secGlobal, globals.b)
	m.section(secExport, exports.b)
	m.section(secCode, code.b)
	return m.b
}

// constExpr appends the constant instruction of type t with the given bits (without end).
func constExpr(e *enc, t valType, bits uint64) {
	switch t {
	case tI32:
		e.byte1(0x41)
		e.s32(int32(uint32(bits)))
	case tI64:
		e.byte1(0x42)
		e.s64(int64(bits))
	case tF32:
		e.byte1(0x43)
		e.f32bits(uint32(bits))
	case tF64:
		e.byte1(0x44)
		e.f64bits(bits)
	case tV128:
		e.byte1(0xFD, 0x0C)
		e.f64bits(bits)
		e.f64bits(^bits)
	case tFuncRef, tExternRef:
		e.byte1(0xD0, byte(t))
	default:
		panic("wasmgen: bad const type")
	}
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

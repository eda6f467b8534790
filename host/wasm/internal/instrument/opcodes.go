package instrument

// Opcodes and type encodings of the WebAssembly binary format that the decoder and the rewrite
// name. Opcodes without immediates that need no special treatment are not listed.
const (
	opUnreachable        = 0x00
	opNop                = 0x01
	opBlock              = 0x02
	opLoop               = 0x03
	opIf                 = 0x04
	opElse               = 0x05
	opEnd                = 0x0b
	opBr                 = 0x0c
	opBrIf               = 0x0d
	opBrTable            = 0x0e
	opReturn             = 0x0f
	opCall               = 0x10
	opCallIndirect       = 0x11
	opReturnCall         = 0x12
	opReturnCallIndirect = 0x13
	opDrop               = 0x1a
	opSelect             = 0x1b
	opSelectTyped        = 0x1c
	opLocalGet           = 0x20
	opLocalSet           = 0x21
	opLocalTee           = 0x22
	opGlobalGet          = 0x23
	opGlobalSet          = 0x24
	opTableGet           = 0x25
	opTableSet           = 0x26
	opFirstLoadStore     = 0x28 // i32.load
	opLastLoadStore      = 0x3e // i64.store32
	opMemorySize         = 0x3f
	opMemoryGrow         = 0x40
	opI32Const           = 0x41
	opI64Const           = 0x42
	opF32Const           = 0x43
	opF64Const           = 0x44
	opFirstNumeric       = 0x45 // i32.eqz: from here to opLastNumeric no opcode has immediates
	opI32LtS             = 0x48
	opI32Sub             = 0x6b
	opLastNumeric        = 0xc4 // i64.extend32_s
	opRefNull            = 0xd0
	opRefIsNull          = 0xd1
	opRefFunc            = 0xd2
	opPrefixGC           = 0xfb
	opPrefixMisc         = 0xfc
	opPrefixSIMD         = 0xfd
	opPrefixAtomic       = 0xfe

	blockTypeEmpty = 0x40
	funcTypeForm   = 0x60

	valI32       = 0x7f
	valI64       = 0x7e
	valF32       = 0x7d
	valF64       = 0x7c
	valV128      = 0x7b
	valFuncref   = 0x70
	valExternref = 0x6f
)

// unsupportedOpcodes names the opcodes of proposals this rewriter does not decode. wazero does
// not run modules that use them either.
var unsupportedOpcodes = map[byte]string{
	0x06: "try (exception handling)",
	0x07: "catch (exception handling)",
	0x08: "throw (exception handling)",
	0x09: "rethrow (exception handling)",
	0x0a: "throw_ref (exception handling)",
	0x14: "call_ref (typed function references)",
	0x15: "return_call_ref (typed function references)",
	0x18: "delegate (exception handling)",
	0x19: "catch_all (exception handling)",
	0x1f: "try_table (exception handling)",
	0xd3: "ref.as_non_null (typed function references)",
	0xd4: "br_on_null (typed function references)",
	0xd5: "ref.eq (garbage collection)",
	0xd6: "br_on_non_null (typed function references)",
	0xfb: "garbage collection prefix",
}

// isValType reports whether c is a value type this rewriter knows: the numeric types, v128, and
// the two reference types of WebAssembly 2.0.
func isValType(c byte) bool {
	switch c {
	case valI32, valI64, valF32, valF64, valV128, valFuncref, valExternref:
		return true
	}
	return false
}

// isRefType reports whether c is funcref or externref.
func isRefType(c byte) bool { return c == valFuncref || c == valExternref }

// simdImm says which immediates follow a SIMD opcode (after the 0xfd prefix and the opcode).
type simdImm uint8

const (
	simdUnknown    simdImm = iota // not an opcode of the SIMD proposal
	simdNone                      // no immediate
	simdMemarg                    // memarg
	simdMemargLane                // memarg and a lane index byte
	simdLane                      // a lane index byte
	simd16Bytes                   // 16 bytes: v128.const's value, i8x16.shuffle's lanes
)

// simdImmediates covers the opcodes of the fixed-width SIMD proposal (0x00-0xff); opcodes at 256
// and above (relaxed SIMD) are not decoded.
var simdImmediates = func() (t [256]simdImm) {
	for i := range t {
		t[i] = simdNone
	}
	for i := 0x00; i <= 0x0b; i++ { // v128.load ... v128.load64_splat, v128.store
		t[i] = simdMemarg
	}
	t[0x0c] = simd16Bytes           // v128.const
	t[0x0d] = simd16Bytes           // i8x16.shuffle
	for i := 0x15; i <= 0x22; i++ { // extract_lane and replace_lane of every shape
		t[i] = simdLane
	}
	for i := 0x54; i <= 0x5b; i++ { // v128.load8_lane ... v128.store64_lane
		t[i] = simdMemargLane
	}
	t[0x5c] = simdMemarg // v128.load32_zero
	t[0x5d] = simdMemarg // v128.load64_zero
	// Opcodes the proposal left unassigned (several held instructions that were dropped).
	for _, i := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[i] = simdUnknown
	}
	return t
}()

// atomicHasMemarg reports whether the threads opcode sub (after the 0xfe prefix) exists and takes
// a memarg; atomic.fence (0x03), which takes one zero byte instead, is handled by the caller.
func atomicHasMemarg(sub uint32) bool {
	// memory.atomic.notify, memory.atomic.wait32/64; then the loads, stores and read-modify-writes
	// from i32.atomic.load (0x10) to i64.atomic.rmw32.cmpxchg_u (0x4e).
	return sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)
}

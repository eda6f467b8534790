package wasmgen

import (
	"encoding/binary"
	"math"
)

// Value types of the binary format.
const (
	tI32       valType = 0x7F
	tI64       valType = 0x7E
	tF32       valType = 0x7D
	tF64       valType = 0x7C
	tV128      valType = 0x7B
	tFuncRef   valType = 0x70
	tExternRef valType = 0x6F
)

// valType is a value type byte of the binary format.
type valType byte

func (t valType) isRef() bool { return t == tFuncRef || t == tExternRef }

func (t valType) isNum() bool { return t == tI32 || t == tI64 || t == tF32 || t == tF64 }

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// enc is an append-only byte buffer with the encodings of the binary format. If pad is set, u32
// sometimes writes a longer LEB128 encoding than needed (up to 5 bytes), which is valid and
// what some toolchains (the Go linker, for one) write for sizes and function indices.
type enc struct {
	b   []byte
	pad *source
}

func (e *enc) byte1(b ...byte) { e.b = append(e.b, b...) }

func (e *enc) u32(v uint32) {
	if e.pad != nil && e.pad.oneIn(3) {
		n := 1
		for x := v >> 7; x != 0; x >>= 7 {
			n++
		}
		e.u32padded(v, e.pad.rangeIn(n+1, 5))
		return
	}
	e.u32min(v)
}

// u32padded writes v in exactly n bytes (n at most 5 and enough for v).
func (e *enc) u32padded(v uint32, n int) {
	for i := 0; i < n-1; i++ {
		e.b = append(e.b, byte(v&0x7F)|0x80)
		v >>= 7
	}
	e.b = append(e.b, byte(v))
}

// u32min writes v in the fewest bytes.
func (e *enc) u32min(v uint32) {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			e.b = append(e.b, c|0x80)
			continue
		}
		e.b = append(e.b, c)
		return
	}
}

func (e *enc) s64(v int64) {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			e.b = append(e.b, c)
			return
		}
		e.b = append(e.b, c|0x80)
	}
}

func (e *enc) s32(v int32) { e.s64(int64(v)) }

func (e *enc) f32bits(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }

func (e *enc) f64bits(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

func (e *enc) f32(v float32) { e.f32bits(math.Float32bits(v)) }

func (e *enc) f64(v float64) { e.f64bits(math.Float64bits(v)) }

func (e *enc) name(s string) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) vecBytes(p []byte) {
	e.u32(uint32(len(p)))
	e.b = append(e.b, p...)
}

// section appends a section with the given id and contents.
func (e *enc) section(id byte, content []byte) {
	e.b = append(e.b, id)
	e.vecBytes(content)
}

// customSection appends a custom section.
func (e *enc) customSection(name string, payload []byte) {
	c := enc{pad: e.pad}
	c.name(name)
	c.b = append(c.b, payload...)
	e.section(secCustom, c.b)
}

func header() []byte { return []byte{0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00} }

package instrument

import "errors"

// LEB128 as the WebAssembly binary format uses it: little-endian groups of seven bits, the high
// bit of each byte saying whether another follows. An encoding of an N-bit integer has at most
// ceil(N/7) bytes, and the bits of its last byte beyond the N that count must be zero (unsigned)
// or copies of the sign bit (signed). Shorter encodings than that maximum may be padded with
// continuation bytes; such padding is valid, and the encoder here keeps it (see appendU32Width).

var (
	errTruncated = errors.New("unexpected end of input")
	errOverlong  = errors.New("integer representation too long")
	errOverflow  = errors.New("integer too large")
)

// readU32 decodes an unsigned 32-bit LEB128 at b[i:]. It returns the value and the number of
// bytes it takes.
func readU32(b []byte, i int) (uint32, int, error) {
	if i < len(b) && b[i] < 0x80 {
		return uint32(b[i]), 1, nil
	}
	v, n, err := readUnsigned(b, i, 32)
	return uint32(v), n, err
}

// readU64 decodes an unsigned 64-bit LEB128 at b[i:].
func readU64(b []byte, i int) (uint64, int, error) {
	return readUnsigned(b, i, 64)
}

// readS32 decodes a signed 32-bit LEB128 at b[i:].
func readS32(b []byte, i int) (int32, int, error) {
	v, n, err := readSigned(b, i, 32)
	return int32(v), n, err
}

// readS33 decodes a signed 33-bit LEB128 at b[i:], the encoding of block types and heap types.
func readS33(b []byte, i int) (int64, int, error) {
	return readSigned(b, i, 33)
}

// readS64 decodes a signed 64-bit LEB128 at b[i:].
func readS64(b []byte, i int) (int64, int, error) {
	return readSigned(b, i, 64)
}

// readUnsigned decodes an unsigned LEB128 of at most bits bits.
func readUnsigned(b []byte, i int, bits uint) (uint64, int, error) {
	maxBytes := int(bits+6) / 7
	lastBits := bits - 7*uint(maxBytes-1) // value bits in the last permitted byte
	var v uint64
	for n := 0; n < maxBytes; n++ {
		if i+n >= len(b) {
			return 0, 0, errTruncated
		}
		c := b[i+n]
		if n == maxBytes-1 {
			if c&0x80 != 0 {
				return 0, 0, errOverlong
			}
			if c>>lastBits != 0 {
				return 0, 0, errOverflow
			}
		}
		v |= uint64(c&0x7f) << (7 * uint(n))
		if c&0x80 == 0 {
			return v, n + 1, nil
		}
	}
	return 0, 0, errOverlong // not reached: the last byte has no continuation bit
}

// readSigned decodes a signed LEB128 of at most bits bits.
func readSigned(b []byte, i int, bits uint) (int64, int, error) {
	maxBytes := int(bits+6) / 7
	lastBits := bits - 7*uint(maxBytes-1)
	var v int64
	for n := 0; n < maxBytes; n++ {
		if i+n >= len(b) {
			return 0, 0, errTruncated
		}
		c := b[i+n]
		shift := 7 * uint(n)
		if n == maxBytes-1 {
			if c&0x80 != 0 {
				return 0, 0, errOverlong
			}
			// The sign bit and every bit above it in the byte must agree.
			signAndUnused := byte(0x7f) >> (lastBits - 1) << (lastBits - 1)
			if s := c & signAndUnused; s != 0 && s != signAndUnused {
				return 0, 0, errOverflow
			}
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7) // sign-extend
			}
			return v, n + 1, nil
		}
	}
	return 0, 0, errOverlong
}

// sizeU32 is the length of the shortest LEB128 encoding of v.
func sizeU32(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// sizeU32Width is the length appendU32Width writes for v and width.
func sizeU32Width(v uint32, width int) int {
	return max(sizeU32(v), width)
}

// appendU32Width appends v as unsigned LEB128, padded with continuation bytes to width bytes when
// its shortest encoding is shorter. Writing a value back with the width it was read with reproduces
// the bytes it was read from.
func appendU32Width(dst []byte, v uint32, width int) []byte {
	n := sizeU32Width(v, width)
	for i := 1; i < n; i++ {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// appendU32 appends the shortest LEB128 encoding of v.
func appendU32(dst []byte, v uint32) []byte {
	return appendU32Width(dst, v, 1)
}

// sizeS32 is the length of the shortest signed LEB128 encoding of v.
func sizeS32(v int32) int {
	n := 1
	for v < -64 || v > 63 {
		v >>= 7
		n++
	}
	return n
}

// appendS32 appends the shortest signed LEB128 encoding of v.
func appendS32(dst []byte, v int32) []byte {
	for v < -64 || v > 63 {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v&0x7f))
}

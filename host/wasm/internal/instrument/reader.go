package instrument

import (
	"errors"
	"fmt"
)

// decodeError is what Instrument returns for input it cannot decode: where (the byte offset in the
// input, the section, the function), and what.
type decodeError struct {
	section string // "type", "code", a custom section's name, ...; empty for the module header
	fn      int    // index of the function body in the code section, or -1
	off     int    // byte offset in the input
	msg     string
}

func (e *decodeError) Error() string {
	where := "module"
	if e.section != "" {
		where = e.section + " section"
	}
	if e.fn >= 0 {
		where += fmt.Sprintf(", function body %d", e.fn)
	}
	return fmt.Sprintf("instrument: %s: offset 0x%x: %s", where, e.off, e.msg)
}

// reader reads the input from pos up to the end of b. Positions are offsets in the whole input, so
// a reader limited to a section or a function body is the input sliced to its end.
type reader struct {
	b   []byte
	pos int
}

// fail returns a decodeError at offset off.
func (r *reader) fail(off int, format string, args ...any) error {
	return &decodeError{fn: -1, off: off, msg: fmt.Sprintf(format, args...)}
}

// lebError turns an error of the LEB128 decoders into a decodeError for the integer read at pos.
// The integer is named by what and suffix, joined only here, on the way to an error.
func (r *reader) lebError(err error, what, suffix string) error {
	if errors.Is(err, errTruncated) {
		return r.fail(r.pos, "%s%s: %v", what, suffix, err)
	}
	return r.fail(r.pos, "%s%s: malformed LEB128: %v", what, suffix, err)
}

// atEnd reports whether every byte up to the limit has been read.
func (r *reader) atEnd() bool { return r.pos >= len(r.b) }

// byte reads one byte; what names it in the error for a truncated input.
func (r *reader) byte(what string) (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.fail(r.pos, "%s: %v", what, errTruncated)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// u32 reads an unsigned 32-bit LEB128; what names it in errors.
func (r *reader) u32(what string) (uint32, error) {
	return r.u32x(what, "")
}

// u32x is u32 for an integer named by what and suffix together.
func (r *reader) u32x(what, suffix string) (uint32, error) {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		v := uint32(r.b[r.pos])
		r.pos++
		return v, nil
	}
	v, n, err := readU32(r.b, r.pos)
	if err != nil {
		return 0, r.lebError(err, what, suffix)
	}
	r.pos += n
	return v, nil
}

// u32w reads an unsigned 32-bit LEB128 and also returns how many bytes it took.
func (r *reader) u32w(what string) (uint32, int, error) {
	v, n, err := readU32(r.b, r.pos)
	if err != nil {
		return 0, 0, r.lebError(err, what, "")
	}
	r.pos += n
	return v, n, nil
}

// u64 reads an unsigned 64-bit LEB128.
func (r *reader) u64(what string) (uint64, error) {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		v := uint64(r.b[r.pos])
		r.pos++
		return v, nil
	}
	v, n, err := readU64(r.b, r.pos)
	if err != nil {
		return 0, r.lebError(err, what, "")
	}
	r.pos += n
	return v, nil
}

// s32 reads a signed 32-bit LEB128.
func (r *reader) s32(what string) (int32, error) {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		v := int32(int8(r.b[r.pos]<<1) >> 1) // seven bits, sign-extended
		r.pos++
		return v, nil
	}
	v, n, err := readS32(r.b, r.pos)
	if err != nil {
		return 0, r.lebError(err, what, "")
	}
	r.pos += n
	return v, nil
}

// s33 reads a signed 33-bit LEB128.
func (r *reader) s33(what string) (int64, error) {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		v := int64(int8(r.b[r.pos]<<1) >> 1) // seven bits, sign-extended
		r.pos++
		return v, nil
	}
	v, n, err := readS33(r.b, r.pos)
	if err != nil {
		return 0, r.lebError(err, what, "")
	}
	r.pos += n
	return v, nil
}

// s64 reads a signed 64-bit LEB128.
func (r *reader) s64(what string) (int64, error) {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		v := int64(int8(r.b[r.pos]<<1) >> 1) // seven bits, sign-extended
		r.pos++
		return v, nil
	}
	v, n, err := readS64(r.b, r.pos)
	if err != nil {
		return 0, r.lebError(err, what, "")
	}
	r.pos += n
	return v, nil
}

// skip skips n bytes.
func (r *reader) skip(n int, what string) error {
	if n < 0 || n > len(r.b)-r.pos {
		return r.fail(r.pos, "%s: %v (%d bytes needed, %d left)", what, errTruncated, n, len(r.b)-r.pos)
	}
	r.pos += n
	return nil
}

// name reads a name: a u32 length and that many bytes.
func (r *reader) name(what string) ([]byte, error) {
	n, err := r.u32x(what, " length")
	if err != nil {
		return nil, err
	}
	start := r.pos
	if err := r.skip(int(n), what); err != nil {
		return nil, err
	}
	return r.b[start:r.pos], nil
}

// count reads a vector length and checks that the rest of the input can hold that many elements
// of at least minSize bytes each, so a corrupt length fails here rather than after a long loop.
func (r *reader) count(what string, minSize int) (uint32, error) {
	start := r.pos
	n, err := r.u32x(what, " count")
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(len(r.b)-r.pos) {
		return 0, r.fail(start, "%s count %d exceeds the %d bytes left", what, n, len(r.b)-r.pos)
	}
	return n, nil
}

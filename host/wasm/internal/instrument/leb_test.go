package instrument

import (
	"bytes"
	"math"
	"testing"
)

func TestReadU32(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want uint32
		n    int
		err  error
	}{
		{[]byte{0x00}, 0, 1, nil},
		{[]byte{0x7f}, 127, 1, nil},
		{[]byte{0x80, 0x01}, 128, 2, nil},
		{[]byte{0x80, 0x00}, 0, 2, nil}, // padded
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x00}, 0, 5, nil},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, math.MaxUint32, 5, nil},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 0, 0, errOverflow},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, 0, errOverlong},
		{[]byte{0x80, 0x80}, 0, 0, errTruncated},
		{nil, 0, 0, errTruncated},
	} {
		v, n, err := readU32(tc.in, 0)
		if v != tc.want || n != tc.n || err != tc.err {
			t.Errorf("readU32(% x) = %d, %d, %v; want %d, %d, %v", tc.in, v, n, err, tc.want, tc.n, tc.err)
		}
	}
}

func TestReadSigned(t *testing.T) {
	for _, tc := range []struct {
		bits uint
		in   []byte
		want int64
		err  error
	}{
		{32, []byte{0x7f}, -1, nil},
		{32, []byte{0x3f}, 63, nil},
		{32, []byte{0x40}, -64, nil},
		{32, []byte{0xff, 0x7f}, -1, nil}, // padded
		{32, []byte{0x80, 0x80, 0x80, 0x80, 0x78}, math.MinInt32, nil},
		{32, []byte{0xff, 0xff, 0xff, 0xff, 0x07}, math.MaxInt32, nil},
		{32, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 0, errOverflow}, // bit 31 set, unused bits clear
		{32, []byte{0x80, 0x80, 0x80, 0x80, 0x70}, 0, errOverflow}, // sign bit clear, unused bits set
		{32, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, errOverlong},
		{33, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, math.MaxUint32, nil},
		{33, []byte{0x80, 0x80, 0x80, 0x80, 0x70}, -(1 << 32), nil},
		{33, []byte{0x80, 0x80, 0x80, 0x80, 0x10}, 0, errOverflow},
		{64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, math.MinInt64, nil},
		{64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, math.MaxInt64, nil},
		{64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0, errOverflow},
		{64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, errOverlong},
		{64, []byte{0x80}, 0, errTruncated},
	} {
		v, _, err := readSigned(tc.in, 0, tc.bits)
		if v != tc.want || err != tc.err {
			t.Errorf("readSigned(% x, %d) = %d, %v; want %d, %v", tc.in, tc.bits, v, err, tc.want, tc.err)
		}
	}
}

func TestReadU64(t *testing.T) {
	v, n, err := readU64([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0)
	if v != math.MaxUint64 || n != 10 || err != nil {
		t.Errorf("max: %d, %d, %v", v, n, err)
	}
	if _, _, err := readU64([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0); err != errOverflow {
		t.Errorf("overflow: %v", err)
	}
}

// TestEncodeDecode checks the encoders against the decoders, and that appendU32Width reproduces
// a padded encoding.
func TestEncodeDecode(t *testing.T) {
	for _, v := range []uint32{0, 1, 63, 64, 127, 128, 16383, 16384, 1 << 21, 1 << 28, math.MaxUint32} {
		for w := 1; w <= 5; w++ {
			b := appendU32Width(nil, v, w)
			if len(b) != sizeU32Width(v, w) || len(b) < w {
				t.Errorf("appendU32Width(%d, %d) = % x", v, w, b)
			}
			got, n, err := readU32(b, 0)
			if got != v || n != len(b) || err != nil {
				t.Errorf("readU32(% x) = %d, %d, %v", b, got, n, err)
			}
		}
	}
	for _, v := range []int32{0, 1, -1, 63, 64, -64, -65, 1 << 20, math.MaxInt32, math.MinInt32} {
		b := appendS32(nil, v)
		got, n, err := readS32(b, 0)
		if got != v || n != len(b) || n != sizeS32(v) || err != nil {
			t.Errorf("appendS32(%d) = % x, read back %d, %d, %v", v, b, got, n, err)
		}
	}
	padded := []byte{0x85, 0x80, 0x80, 0x80, 0x00}
	if b := appendU32Width(nil, 5, len(padded)); !bytes.Equal(b, padded) {
		t.Errorf("padded 5 = % x, want % x", b, padded)
	}
}

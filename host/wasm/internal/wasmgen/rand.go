package wasmgen

import "hash/fnv"

// source is the deterministic random source of the generator: it consumes the seed byte by byte
// (so that a fuzzer's mutations map to local changes of the module) and continues with a
// pseudo-random stream derived from the whole seed once the seed is exhausted.
type source struct {
	data  []byte
	pos   int
	state uint64
}

func newSource(seed []byte) *source {
	h := fnv.New64a()
	h.Write(seed)
	return &source{data: seed, state: h.Sum64()}
}

func (s *source) next() byte {
	if s.pos < len(s.data) {
		b := s.data[s.pos]
		s.pos++
		return b
	}
	return byte(s.u64())
}

// u64 returns 64 bits of the pseudo-random stream (never from the seed bytes directly).
func (s *source) u64() uint64 {
	// splitmix64
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// intn returns a value in [0, n); n must be positive.
func (s *source) intn(n int) int {
	if n <= 1 {
		return 0
	}
	if n <= 256 {
		return int(s.next()) % n
	}
	v := uint32(s.next()) | uint32(s.next())<<8 | uint32(s.next())<<16 | uint32(s.next())<<24
	return int(v % uint32(n))
}

// rangeIn returns a value in [lo, hi].
func (s *source) rangeIn(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + s.intn(hi-lo+1)
}

// oneIn reports true with probability 1/n.
func (s *source) oneIn(n int) bool { return s.intn(n) == 0 }

func (s *source) bool() bool { return s.next()&1 == 1 }

func (s *source) u32() uint32 {
	return uint32(s.next()) | uint32(s.next())<<8 | uint32(s.next())<<16 | uint32(s.next())<<24
}

func (s *source) u64v() uint64 { return uint64(s.u32()) | uint64(s.u32())<<32 }

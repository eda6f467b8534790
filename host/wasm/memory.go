package wasm

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// limitedMemory backs one instance's linear memory and enforces its memory limit. Doing it here,
// rather than with wazero's runtime-wide page limit, lets every module have its own limit in one
// runtime configuration and tells the host exactly when a guest was refused memory, so that the
// trap or exit that follows is reported as "memory limit exceeded" and not as a mystery.
type limitedMemory struct {
	limit  uint64       // bytes
	denied *atomic.Bool // set when a grow is refused; owned by the instance
	buf    []byte
}

func newMemoryAllocator(limit uint64, denied *atomic.Bool) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, _ uint64) experimental.LinearMemory {
		if capacity > limit {
			capacity = limit
		}
		return &limitedMemory{limit: limit, denied: denied, buf: make([]byte, 0, capacity)}
	})
}

// Reallocate implements experimental.LinearMemory. Memory never shrinks, so the bytes between the
// old and the new length have never been written and are zero, as memory.grow requires.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.denied.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }

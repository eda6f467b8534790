package arq

import (
	"bytes"

	"github.com/arqhost/arqhost/abi"
)

// buffers holds the memory that the module's exports hand to the host (see abi_wasip1.go). The
// host writes a job's input into in, returned by arqhost_alloc, and reads the output from out and
// the manifest from manifest after the export returns. Held in a package variable, they stay alive
// until then, and later jobs reuse their memory.
type buffers struct {
	in       []byte
	out      bytes.Buffer
	manifest []byte
}

const (
	// minInputBuf is the smallest input buffer alloc hands out.
	minInputBuf = 4 << 10
	// shrinkAbove: a buffer larger than this is dropped instead of reused when a job needs much
	// less, so that one huge job does not pin its memory for the instance's life.
	shrinkAbove = 1 << 20
)

// alloc returns a buffer of at least size bytes for the next job's input (arqhost_alloc). It
// reuses the previous buffer when that is large enough (and not much too large).
func (b *buffers) alloc(size int) []byte {
	if c := cap(b.in); c < size || c > shrinkAbove && size < c/4 {
		b.in = nil // let the old buffer go before allocating the new one
		b.in = make([]byte, max(size, minInputBuf))
	}
	b.in = b.in[:cap(b.in)]
	return b.in
}

// run runs the job whose input is b.in[off:off+length] (arqhost_run) and returns the output,
// which stays valid until the next call of run. ok false means the range is not inside b.in.
func (b *buffers) run(off, length uint64, ok bool) []byte {
	if b.out.Cap() > shrinkAbove {
		b.out = bytes.Buffer{}
	}
	b.out.Reset()
	switch {
	case length == 0:
		dispatch(nil, &b.out)
	case !ok || off+length > uint64(len(b.in)):
		writeError(&b.out, &abi.Error{Kind: abi.KindError, Type: "ABIError",
			Message: "the job input is not inside the buffer returned by " + abi.ExportAlloc})
	default:
		dispatch(b.in[off:off+length], &b.out)
	}
	return b.out.Bytes()
}

// inputOffset returns where the input at address ptr lies in the input buffer at address base.
func inputOffset(base, ptr uint32) (off uint64, ok bool) {
	if ptr < base {
		return 0, false
	}
	return uint64(ptr - base), true
}

// makeManifest computes the manifest (arqhost_manifest) and keeps it until the next call.
func (b *buffers) makeManifest() []byte {
	b.manifest = manifest()
	return b.manifest
}

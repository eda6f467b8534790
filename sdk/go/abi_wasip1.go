//go:build wasip1

package arq

import (
	"unsafe"

	"github.com/arqhost/arqhost/abi"
)

// This file is the module's side of ABI.md sections 2 and 4: the exports the host calls and the
// log function it provides. It only converts between addresses and slices; the logic is plain Go
// in the other files (buffers.go for the memory handed to the host).

// bufs holds the input, output and manifest buffers; being a package variable keeps them alive
// after the exports return, while the host reads them.
var bufs buffers

//go:wasmexport arqhost_abi_version
func exportABIVersion() int32 { return abi.Version }

//go:wasmexport arqhost_alloc
func exportAlloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	return int32(addr(bufs.alloc(int(size))))
}

//go:wasmexport arqhost_manifest
func exportManifest() int64 {
	return pack(bufs.makeManifest())
}

//go:wasmexport arqhost_run
func exportRun(ptr, length int32) int64 {
	off, ok := inputOffset(addr(bufs.in), uint32(ptr))
	ok = ok && len(bufs.in) > 0
	return pack(bufs.run(off, uint64(uint32(length)), ok))
}

// addr is the linear-memory address of b's first byte.
func addr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// pack returns b as a packed slice (ABI.md section 2).
func pack(b []byte) int64 {
	return int64(abi.Pack(addr(b), uint32(len(b))))
}

//go:wasmimport arqhost log
func arqhostLog(level int32, msgPtr unsafe.Pointer, msgLen int32, attrsPtr unsafe.Pointer, attrsLen int32)

// hostLog calls the log host function (ABI.md section 4.1).
func hostLog(level Level, msg string, attrs []byte) {
	arqhostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)),
		unsafe.Pointer(unsafe.SliceData(attrs)), int32(len(attrs)))
}

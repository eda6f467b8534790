//go:build !wasip1

package arq

// hostLog stands in for the log host function outside WebAssembly: it keeps the record in memory
// (see nativeLogs), where the package's tests read it.
func hostLog(level Level, msg string, attrs []byte) {
	recordLog(level, msg, attrs)
}

package arq

import "sync"

// logRecord is a log record as the host would receive it. Native builds keep the latest ones in
// nativeLogs (see log_native.go) instead of calling the host, so that tests can read them.
type logRecord struct {
	Level Level
	Msg   string
	Attrs string // the JSON object, or "" when the record has no attributes
}

// maxNativeLogs bounds nativeLogs, so that a long native test run does not grow without end.
const maxNativeLogs = 1024

// nativeLogs holds the latest records written in a native (non-WebAssembly) build.
var nativeLogs struct {
	sync.Mutex
	records []logRecord
}

func recordLog(level Level, msg string, attrs []byte) {
	nativeLogs.Lock()
	defer nativeLogs.Unlock()
	if len(nativeLogs.records) >= maxNativeLogs {
		n := copy(nativeLogs.records, nativeLogs.records[len(nativeLogs.records)-maxNativeLogs/2:])
		nativeLogs.records = nativeLogs.records[:n]
	}
	nativeLogs.records = append(nativeLogs.records, logRecord{Level: level, Msg: msg, Attrs: string(attrs)})
}

// takeLogs returns the recorded records and forgets them.
func takeLogs() []logRecord {
	nativeLogs.Lock()
	defer nativeLogs.Unlock()
	r := nativeLogs.records
	nativeLogs.records = nil
	return r
}

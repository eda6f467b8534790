// Package abi holds the constants and types of the arqhost guest ABI that the host and the Go SDK
// share. The contract itself, language-neutral, is ABI.md in this directory; this package mirrors it.
//
// The package has no dependencies beyond the standard library so that it builds for both the host
// and GOOS=wasip1 guests.
package abi

import "encoding/json"

// Version is the ABI version this package describes.
const Version = 1

// Names of the guest's exports (ABI.md section 2).
const (
	ExportABIVersion = "arqhost_abi_version"
	ExportAlloc      = "arqhost_alloc"
	ExportManifest   = "arqhost_manifest"
	ExportRun        = "arqhost_run"
	ExportMemory     = "memory"
)

// Names of the host's imports (ABI.md section 4).
const (
	HostModule = "arqhost"
	HostLog    = "log"
)

// Size limits the host applies to log records (ABI.md section 4.1).
const (
	MaxLogMessage = 8 << 10
	MaxLogAttrs   = 16 << 10
)

// MaxTaskName is the longest task name a manifest may declare.
const MaxTaskName = 200

// LogLevel is the level argument of the log host function.
type LogLevel int32

// Log levels (ABI.md section 4.1).
const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

// Pack packs a pointer and a length into the i64 "packed slice" of ABI.md section 2.
func Pack(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// Unpack splits a packed slice into pointer and length.
func Unpack(v uint64) (ptr, length uint32) { return uint32(v >> 32), uint32(v) }

// Manifest is what arqhost_manifest returns (ABI.md section 2.3).
type Manifest struct {
	// ABI is only set by Extism modules (ABI.md section 8); native modules export
	// arqhost_abi_version instead.
	ABI   int      `json:"abi,omitempty"`
	Tasks []string `json:"tasks"`
	SDK   string   `json:"sdk,omitempty"`
}

// Input is the job input the host hands to arqhost_run (ABI.md section 3).
type Input struct {
	JobID       string          `json:"job_id"`
	Function    string          `json:"function"`
	JobTry      int             `json:"job_try"`
	EnqueueTime string          `json:"enqueue_time"`
	QueueName   string          `json:"queue_name"`
	WorkerID    string          `json:"worker_id"`
	Args        json.RawMessage `json:"args"`
	Kwargs      json.RawMessage `json:"kwargs"`
}

// Output is what arqhost_run returns (ABI.md section 5): exactly one of Result and Error is set.
// A task that returns nothing has Result "null".
type Output struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// ErrorKind says how the worker should treat a guest error.
type ErrorKind string

// Error kinds (ABI.md section 5).
const (
	KindRetry     ErrorKind = "retry"
	KindPermanent ErrorKind = "permanent"
	KindError     ErrorKind = "error"
)

// Valid reports whether k is one of the kinds of this ABI version.
func (k ErrorKind) Valid() bool {
	return k == KindRetry || k == KindPermanent || k == KindError
}

// Error is a structured error a task returns.
type Error struct {
	Kind         ErrorKind `json:"kind"`
	Type         string    `json:"type"`
	Message      string    `json:"message"`
	RetryAfterMs int64     `json:"retry_after_ms,omitempty"`
}

// Error formats the error as the original library does in result records: "Type: message".
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

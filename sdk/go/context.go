package arq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/arqhost/arqhost/abi"
)

// Context describes the job a task is running and lets it write to the worker's log. The SDK
// passes one to every task call; its fields are filled from the job's input (ABI.md section 3).
//
// Context also satisfies [context.Context], so it can be handed to code that wants one. It is
// never canceled and has no deadline: when a job's time runs out, the host stops the guest
// wherever it is.
//
// The log methods do not depend on the fields (the host knows which job is running), so a
// Context literal, such as one built by a unit test that calls a task function directly, works
// as well as the one the SDK passes.
type Context struct {
	JobID       string    // the job's id
	Function    string    // the name of the task being run
	Try         int       // the attempt number, 1 for the first run (arq's job_try)
	EnqueueTime time.Time // when the job was enqueued; zero if the host sent an unparsable time
	Queue       string    // the queue the job came from
	WorkerID    string    // the worker running the job
}

// Debug writes a debug record to the worker's log. args are alternating keys and values, as for
// [log/slog]: Debug("sending", "to", addr, "size", n). See [Log].
func (c Context) Debug(msg string, args ...any) { emitLog(LevelDebug, msg, args) }

// Info writes an info record to the worker's log. See [Context.Debug] and [Log].
func (c Context) Info(msg string, args ...any) { emitLog(LevelInfo, msg, args) }

// Warn writes a warning record to the worker's log. See [Context.Debug] and [Log].
func (c Context) Warn(msg string, args ...any) { emitLog(LevelWarn, msg, args) }

// Error writes an error record to the worker's log. See [Context.Debug] and [Log].
func (c Context) Error(msg string, args ...any) { emitLog(LevelError, msg, args) }

// Deadline returns no deadline; it is there for [context.Context].
func (c Context) Deadline() (deadline time.Time, ok bool) { return time.Time{}, false }

// Done returns nil (the context is never canceled); it is there for [context.Context].
func (c Context) Done() <-chan struct{} { return nil }

// Err returns nil; it is there for [context.Context].
func (c Context) Err() error { return nil }

// Value returns nil; it is there for [context.Context].
func (c Context) Value(key any) any { return nil }

// Level is the severity of a log record.
type Level int32

// Log levels, as the log host function numbers them.
const (
	LevelDebug Level = Level(abi.LogDebug)
	LevelInfo  Level = Level(abi.LogInfo)
	LevelWarn  Level = Level(abi.LogWarn)
	LevelError Level = Level(abi.LogError)
)

// String returns "DEBUG", "INFO", "WARN" or "ERROR".
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	}
	return fmt.Sprintf("Level(%d)", int32(l))
}

// Log writes a record to the worker's structured log. The host tags it with the module and, while
// a job runs, with the job's id and task name; outside a job (in an init function, say) it is
// tagged with the module only. The [Context] methods Debug, Info, Warn and Error are shorthands.
//
// args are alternating keys and values, as for [log/slog]: each key is a string and the value
// after it is encoded with encoding/json (an error as its Error text; a value that cannot be
// encoded as its fmt %v text). A value without a key (a trailing value, or a non-string where a
// key should be) is given the key "!BADKEY", as slog does. The host cuts messages at 8 KiB and the
// encoded attributes at 16 KiB.
//
// Outside WebAssembly, in a test run natively, records are kept in memory and not printed.
func Log(level Level, msg string, args ...any) { emitLog(level, msg, args) }

func emitLog(level Level, msg string, args []any) {
	var attrs []byte
	if len(args) > 0 {
		attrs = encodeAttrs(args)
	}
	hostLog(level, msg, attrs)
}

const badKey = "!BADKEY"

// encodeAttrs encodes slog-style key/value pairs as a JSON object.
func encodeAttrs(args []any) []byte {
	var b bytes.Buffer
	b.Grow(64 + 16*len(args))
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for n := 0; len(args) > 0; n++ {
		key, val := badKey, args[0]
		if k, ok := args[0].(string); ok && len(args) > 1 {
			key, val = k, args[1]
			args = args[2:]
		} else {
			args = args[1:]
		}
		if n > 0 {
			b.WriteByte(',')
		}
		encodeValue(&b, enc, key)
		b.WriteByte(':')
		encodeValue(&b, enc, val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// encodeValue writes v as JSON: an error as its Error text, a value that encoding/json rejects as
// its fmt %v text.
func encodeValue(b *bytes.Buffer, enc *json.Encoder, v any) {
	n := b.Len()
	defer func() {
		if p := recover(); p != nil {
			// As slog does when a value's method panics (a nil *T whose Error dereferences it).
			b.Truncate(n)
			encodeValue(b, enc, fmt.Sprintf("!PANIC: %v", p))
		}
	}()
	switch x := v.(type) {
	case string:
		b.Write(appendString(b.AvailableBuffer(), x))
		return
	case int:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(x), 10))
		return
	case int64:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), x, 10))
		return
	case bool:
		b.Write(strconv.AppendBool(b.AvailableBuffer(), x))
		return
	case error:
		b.Write(appendString(b.AvailableBuffer(), x.Error()))
		return
	}
	if enc.Encode(v) != nil {
		_ = enc.Encode(fmt.Sprintf("%v", v)) // a string: cannot fail
	}
	b.Truncate(b.Len() - 1) // Encode's newline
}

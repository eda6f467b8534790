package arq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/arqhost/arqhost/abi"
)

// sdkName is the manifest's sdk member.
const sdkName = "arqhost-go/1"

// Invoke runs one job the way the host does through the module's arqhost_run export, and returns
// the job's output. input is the job input of ABI.md section 3, a JSON object such as
//
//	{"job_id": "j1", "function": "send_email", "job_try": 1,
//	 "enqueue_time": "2026-01-15T10:30:00Z", "queue_name": "arq:queue", "worker_id": "w1",
//	 "args": ["ann@example.com", "hello"], "kwargs": {"body": "hi"}}
//
// (members that are left out take their zero values), and the output is that of ABI.md section 5:
//
//	{"result":{"to":"ann@example.com","subject":"hello","sent_at":"..."}}
//	{"error":{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}}
//
// Invoke is meant for testing task code natively, with go test, without building a WebAssembly
// module: register the tasks (importing the package that registers them is enough when that
// happens in an init function), then check what Invoke returns. It may be called from several
// goroutines at once. Log records written during a native run are not printed.
func Invoke(input []byte) []byte {
	var out bytes.Buffer
	dispatch(input, &out)
	return out.Bytes()
}

// jobInput is the job input (ABI.md section 3), decoded in one pass by parseInput: the arguments
// stay raw until they are decoded into the task's parameter types.
type jobInput struct {
	JobID       string                     `json:"job_id"`
	Function    string                     `json:"function"`
	JobTry      int                        `json:"job_try"`
	EnqueueTime string                     `json:"enqueue_time"`
	QueueName   string                     `json:"queue_name"`
	WorkerID    string                     `json:"worker_id"`
	Args        []json.RawMessage          `json:"args"`
	Kwargs      map[string]json.RawMessage `json:"kwargs"`
}

// dispatch runs the job described by input and writes its output (ABI.md section 5) to out,
// which must be empty. It never panics: a panic in the task is reported as an error of type
// "Panic". Once it returns, nothing refers to input's memory, so the caller may reuse it.
func dispatch(input []byte, out *bytes.Buffer) {
	var in jobInput
	if err := parseInput(input, &in); err != nil {
		writeError(out, &abi.Error{Kind: abi.KindPermanent, Type: "InputError", Message: "invalid job input: " + err.Error()})
		return
	}
	t := lookupTask(in.Function)
	if t == nil {
		writeError(out, &abi.Error{Kind: abi.KindPermanent, Type: "UnknownTask", Message: fmt.Sprintf("this module has no task named %q", in.Function)})
		return
	}
	ctx := Context{
		JobID:    in.JobID,
		Function: in.Function,
		Try:      in.JobTry,
		Queue:    in.QueueName,
		WorkerID: in.WorkerID,
	}
	if in.EnqueueTime != "" {
		ctx.EnqueueTime, _ = time.Parse(time.RFC3339Nano, in.EnqueueTime)
	}
	runTask(t, ctx, &in, out)
}

// runTask binds the arguments, calls the task and writes its outcome, recovering from panics.
func runTask(t *task, ctx Context, in *jobInput, out *bytes.Buffer) {
	defer func() {
		if v := recover(); v != nil {
			perr := &panicError{value: v}
			stack := debug.Stack()
			if len(stack) > maxPanicStack {
				stack = append(stack[:maxPanicStack:maxPanicStack], "\n..."...)
			}
			ctx.Error("task panicked", "panic", perr.Error(), "stack", string(stack))
			out.Reset()
			writeError(out, toABIError(perr))
		}
	}()
	raws, err := t.bind(in.Args, in.Kwargs)
	if err != nil {
		writeError(out, toABIError(err))
		return
	}
	// Let the input's arguments be collected while the task runs.
	in.Args, in.Kwargs = nil, nil
	result, err := t.invoke(ctx, raws)
	if err != nil {
		writeError(out, toABIError(err))
		return
	}
	writeResult(out, result)
}

// maxPanicStack bounds the stack trace logged for a panic, to stay within the host's 16 KiB limit
// on a record's attributes.
const maxPanicStack = 12 << 10

// writeResult writes {"result": <result as JSON>}, or a ResultError if result cannot be encoded.
func writeResult(out *bytes.Buffer, result any) {
	if result == nil {
		out.WriteString(`{"result":null}`)
		return
	}
	out.WriteString(`{"result":`)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(result); err != nil {
		out.Reset()
		writeError(out, &abi.Error{Kind: abi.KindPermanent, Type: "ResultError", Message: "cannot encode the task's result as JSON: " + err.Error()})
		return
	}
	out.Truncate(out.Len() - 1) // Encode's newline
	out.WriteByte('}')
}

// writeError writes {"error": e}.
func writeError(out *bytes.Buffer, e *abi.Error) {
	if e.Type == "" {
		e.Type = "Error"
	}
	out.Write(appendError(out.AvailableBuffer(), e))
}

// manifest returns the module's manifest (ABI.md section 2.3).
func manifest() []byte {
	b, _ := json.Marshal(abi.Manifest{Tasks: registeredNames(), SDK: sdkName})
	return b
}

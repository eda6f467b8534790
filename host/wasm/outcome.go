package wasm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/internal/jsonscan"
)

// Kind classifies how a job ended. Every invocation ends in exactly one Kind.
type Kind uint8

// The outcome kinds (abi/ABI.md section 6).
const (
	// Success: the task returned a result.
	Success Kind = iota
	// GuestError: the task returned a structured error (Outcome.Error).
	GuestError
	// Trap: the guest trapped or exited during the job (Outcome.Reason says how).
	Trap
	// Timeout: the job ran past its wall-clock limit and was stopped.
	Timeout
	// LimitExceeded: the guest hit its memory limit, or its output was larger than allowed.
	LimitExceeded
	// BadOutput: the guest broke the ABI: an out-of-range pointer or length, or an invalid output.
	BadOutput
	// Canceled: the caller's context ended (shutdown, abort) before the job finished.
	Canceled
	// UnknownTask: no loaded module serves the task.
	UnknownTask
)

var kindNames = [...]string{"success", "guest_error", "trap", "timeout", "limit_exceeded", "bad_output", "canceled", "unknown_task"}

// String returns the kind's snake_case name, used in logs, metrics and DLQ headers.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Outcome is the result of one invocation.
type Outcome struct {
	Kind Kind
	// Result is the task's JSON result (Success only; "null" for a task that returns nothing).
	Result json.RawMessage
	// Error is the task's structured error (GuestError only).
	Error *abi.Error
	// Reason says why a Trap, Timeout, LimitExceeded, BadOutput, Canceled or UnknownTask happened,
	// e.g. "unreachable", "out of bounds memory access", "stack overflow", "exit code 2", "memory".
	Reason string
	// Detail is extra context for a failure: the guest's captured stderr, the top of the wasm stack.
	Detail string
	// Module and Version name the module that ran the job (Version is a hash of its bytes).
	Module  string
	Version string
	// Duration is the time spent in the guest (not waiting for an instance).
	Duration time.Duration
}

// Err returns nil for Success and otherwise an error describing the outcome. For a GuestError the
// error is the *abi.Error itself.
func (o *Outcome) Err() error {
	switch o.Kind {
	case Success:
		return nil
	case GuestError:
		return o.Error
	}
	return &OutcomeError{Kind: o.Kind, Reason: o.Reason}
}

// OutcomeError is the error form of a failed Outcome that is not a guest error.
type OutcomeError struct {
	Kind   Kind
	Reason string
}

func (e *OutcomeError) Error() string {
	if e.Reason == "" {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Reason
}

// errBadOutput marks a violation of the ABI by the guest.
type badOutputError struct{ msg string }

func (e *badOutputError) Error() string { return e.msg }

func badOutputf(format string, args ...any) error {
	return &badOutputError{msg: fmt.Sprintf(format, args...)}
}

// outputTooLargeError marks an output over the module's MaxOutputBytes.
type outputTooLargeError struct{ size, limit uint32 }

func (e *outputTooLargeError) Error() string {
	return fmt.Sprintf("output of %d bytes is over the limit of %d bytes", e.size, e.limit)
}

// decodeOutput turns the guest's output bytes into an Outcome (Success, GuestError or BadOutput).
func decodeOutput(out []byte) Outcome {
	// The common case, a success ({"result": ...} and nothing else), without reflection.
	if t := bytes.TrimLeft(out, " \t\r\n"); len(t) > 0 && t[0] == '{' && json.Valid(out) {
		if m := jsonscan.Object(out); len(m) == 1 {
			if r, ok := m["result"]; ok {
				return Outcome{Kind: Success, Result: bytes.Clone(r)}
			}
		}
	}
	return decodeOutputJSON(out)
}

// decodeOutputJSON is decodeOutput through encoding/json, for every output.
func decodeOutputJSON(out []byte) Outcome {
	var o abi.Output
	if err := json.Unmarshal(out, &o); err != nil {
		if jsonscan.TooDeep(out) {
			return Outcome{Kind: BadOutput, Reason: "output nests arrays or objects more than " + strconv.Itoa(jsonscan.MaxDepth) + " levels deep", Detail: clip(string(out), 256)}
		}
		return Outcome{Kind: BadOutput, Reason: "output is not valid JSON: " + err.Error(), Detail: clip(string(out), 256)}
	}
	switch {
	case o.Result != nil && o.Error != nil:
		return Outcome{Kind: BadOutput, Reason: `output has both "result" and "error"`}
	case o.Result != nil:
		return Outcome{Kind: Success, Result: o.Result}
	case o.Error != nil:
		if !o.Error.Kind.Valid() {
			return Outcome{Kind: BadOutput, Reason: fmt.Sprintf("output error has unknown kind %q", o.Error.Kind)}
		}
		if o.Error.Type == "" {
			o.Error.Type = "Error"
		}
		if o.Error.RetryAfterMs < 0 {
			o.Error.RetryAfterMs = 0
		}
		return Outcome{Kind: GuestError, Error: o.Error}
	}
	return Outcome{Kind: BadOutput, Reason: `output has neither "result" nor "error"`, Detail: clip(string(out), 256)}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var errJobTimeout = errors.New("job timeout")

var jsonMarshal = json.Marshal

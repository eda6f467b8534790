// Package arq is the Go SDK for writing arqhost tasks: functions that an arqhost worker runs as
// jobs, compiled to a WebAssembly module.
//
// A task is an ordinary typed Go function. The SDK implements the whole host/guest contract
// (abi/ABI.md in the arqhost repository): it exports the functions the host calls, decodes each
// job's JSON arguments into the function's parameter types, calls it, and encodes its result or
// error. Task code never sees pointers, buffers or JSON.
//
// # A task module
//
// A module is a main package whose init function registers its tasks and whose main function is
// empty (it is never called):
//
//	package main
//
//	import (
//		"strings"
//		"time"
//
//		arq "github.com/arqhost/arqhost/sdk/go"
//	)
//
//	type Sent struct {
//		To      string    `json:"to"`
//		Subject string    `json:"subject"`
//		SentAt  time.Time `json:"sent_at"`
//	}
//
//	func sendEmail(ctx arq.Context, to, subject, body string) (Sent, error) {
//		ctx.Info("sending email", "to", to, "try", ctx.Try)
//		if strings.Contains(to, "fail") && ctx.Try <= 2 {
//			return Sent{}, arq.Retry(5 * time.Second)
//		}
//		return Sent{To: to, Subject: subject, SentAt: time.Now().UTC()}, nil
//	}
//
//	func init() {
//		arq.Register("send_email", sendEmail, "to", "subject", "body")
//	}
//
//	func main() {}
//
// Build it as a WebAssembly reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o email.wasm .
//
// A job {"function": "send_email", "args": ["ann@example.com"], "kwargs": {"subject": "hi",
// "body": "..."}} then calls sendEmail(ctx, "ann@example.com", "hi", "...") and succeeds with
// {"to": "ann@example.com", "subject": "hi", "sent_at": "2026-..."}.
//
// # Arguments
//
// [Register] takes a function of the form func(arq.Context, P1, ..., Pn) (R, error), or one that
// returns only an error (its result is then null). Positional arguments fill the parameters from
// the left; keyword arguments fill them by the names given to Register. Trailing pointer
// parameters are optional. [Handle] takes a function of one struct argument instead, whose fields
// are filled by their JSON names (keyword arguments) or in declaration order (positional ones).
//
// Arguments that do not fit the function fail the job before the function is called, with an
// error of kind "permanent" and type "TypeError" naming the task, the argument and the problem:
//
//	send_email() takes 3 arguments but 4 were given
//	send_email() missing required argument "body" (position 3)
//	send_email() got an unexpected keyword argument "cc"
//	send_email() got multiple values for argument "to" (position 1)
//	send_email() argument "to" (position 1): expected string, got number
//
// # Results and errors
//
// A task's result is encoded with encoding/json; if that fails, the job fails with kind
// "permanent" and type "ResultError". A task's error fails the job with a kind, a type name and a
// message:
//
//   - [Retry] asks for the job to run again after a delay (kind "retry"), like raising arq's
//     Retry in Python; [RetryErr] does the same while recording another error for the attempt.
//   - [Permanent] fails the job for good (kind "permanent"): the worker does not retry it.
//   - Any other error has kind "error", left to the worker's retry policy.
//
// The type name comes from an ErrorType() string method when the error has one, from the Go type
// name otherwise, and is "Error" for errors made by errors.New and fmt.Errorf; [NewError] makes an
// error with a chosen type name. A task that panics fails the job with kind "error" and type
// "Panic" (the panic and its stack are also logged); the module stays usable for later jobs.
//
// # Context and logging
//
// Every task gets a [Context] holding the job's id, task name, attempt number ([Context.Try]),
// enqueue time, queue and worker. Its Debug, Info, Warn and Error methods write to the worker's
// structured log with slog-style key/value pairs; [Log] does the same from anywhere, for example
// from an init function.
//
// # Testing tasks natively
//
// The package also builds for the machine running go test. There, [Invoke] runs a job from its
// JSON input exactly as the module would inside the worker and returns the JSON output, so tasks
// can be unit-tested without WebAssembly; a task function can of course also be called directly
// with a Context literal.
//
// # Memory
//
// The SDK reuses one input buffer for all jobs while it is large enough, and keeps each output
// only until the next call. A module instance runs many jobs in turn, so package variables keep
// their values from one job to the next.
package arq

package arq

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/arqhost/arqhost/abi"
)

// Retry returns an error that asks the worker to run the job again after the given delay (subject
// to the job's retry limit). It is reported with kind "retry", type "Retry" and retry_after_ms the
// delay rounded up to a millisecond; a delay of 0 or less leaves the delay to the worker's backoff.
// It is the counterpart of raising arq's Retry(defer=...) in Python.
//
// Returning an error that wraps the result of Retry (with fmt.Errorf's %w, for example) also asks
// for a retry.
func Retry(after time.Duration) error {
	return &retryError{after: after}
}

// RetryErr is like [Retry] but reports err's type name and message instead of "Retry": the job
// is retried after the delay, and the error recorded for this attempt is err. RetryErr(after, nil)
// is Retry(after). [errors.Is] and [errors.As] see err through the returned error.
func RetryErr(after time.Duration, err error) error {
	return &retryError{after: after, err: err}
}

// Permanent marks err as permanent: the job fails with kind "permanent" and is not retried,
// whatever the worker's retry policy. The reported type name and message are err's (see
// [NewError] for how type names are chosen). [errors.Is] and [errors.As] see err through the
// returned error. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*permanentError); ok {
		return err
	}
	return &permanentError{err: err}
}

// NewError returns an error with the given type name and message. Returned from a task, it fails
// the job with kind "error" (wrap it with [Permanent] or [RetryErr] to change that), type typ
// ("Error" if typ is empty) and message msg. Its Error method returns msg. Each call returns a
// distinct error, so a package-level one can serve as a sentinel for [errors.Is].
//
// Any error can choose its reported type name by having a method
//
//	ErrorType() string
//
// Otherwise the type name is the error's dynamic Go type name without package and pointer (for
// `type ValueError struct{...}`, returned as *ValueError: "ValueError"), except that the standard
// library's unnamed errors (those of errors.New, fmt.Errorf and errors.Join) are "Error". Only the
// returned error itself is looked at, not the errors it wraps: fmt.Errorf("...: %w", err) is of
// type "Error" whatever err is. The outcome's kind, however, is found anywhere in the chain: an
// error that wraps one made by [Permanent] or [Retry] is permanent or a retry.
func NewError(typ, msg string) error {
	return &typedError{typ: typ, msg: msg}
}

type typedError struct{ typ, msg string }

func (e *typedError) Error() string { return e.msg }

func (e *typedError) ErrorType() string {
	if e.typ == "" {
		return "Error"
	}
	return e.typ
}

// classified is implemented by the SDK's wrappers that set an outcome's kind.
type classified interface {
	error
	classify() (kind abi.ErrorKind, after time.Duration, cause error)
}

type retryError struct {
	after time.Duration
	err   error
}

func (e *retryError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	if e.after <= 0 {
		return "retry requested"
	}
	return "retry after " + e.after.String()
}

func (e *retryError) Unwrap() error { return e.err }

func (e *retryError) classify() (abi.ErrorKind, time.Duration, error) {
	return abi.KindRetry, e.after, e.err
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func (e *permanentError) classify() (abi.ErrorKind, time.Duration, error) {
	return abi.KindPermanent, 0, e.err
}

// panicError is what a task's panic becomes.
type panicError struct{ value any }

func (e *panicError) Error() string     { return fmt.Sprint(e.value) }
func (e *panicError) ErrorType() string { return "Panic" }

// toABIError describes err, returned by a task, as the error member of the job's output.
func toABIError(err error) *abi.Error {
	out := &abi.Error{Kind: abi.KindError, Type: errorTypeName(err), Message: err.Error()}
	var c classified
	if errors.As(err, &c) {
		var after time.Duration
		out.Kind, after, _ = c.classify()
		if out.Kind == abi.KindRetry {
			out.RetryAfterMs = ceilMillis(after)
		}
	}
	return out
}

// ceilMillis is d in milliseconds, rounded up; 0 for d <= 0.
func ceilMillis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// errorTypeName is the type name reported for err (see NewError).
func errorTypeName(err error) string {
	for {
		c, ok := err.(classified)
		if !ok {
			break
		}
		_, _, cause := c.classify()
		if cause == nil {
			return "Retry"
		}
		err = cause
	}
	if et, ok := err.(interface{ ErrorType() string }); ok {
		if name := et.ErrorType(); name != "" {
			return name
		}
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := t.Name()
	switch t.PkgPath() + "." + name {
	case "errors.errorString", "errors.joinError", "fmt.wrapError", "fmt.wrapErrors":
		return "Error"
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // a generic type's instantiation: List[int] -> List
	}
	if name == "" {
		return "Error"
	}
	return name
}

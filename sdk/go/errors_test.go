package arq

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
)

type ValueError struct{ Msg string }

func (e *ValueError) Error() string { return e.Msg }

type valueTypeError struct{}

func (valueTypeError) Error() string { return "by value" }

type customTyped struct{ typ string }

func (e customTyped) Error() string     { return "custom" }
func (e customTyped) ErrorType() string { return e.typ }

type genericError[T any] struct{ v T }

func (e *genericError[T]) Error() string { return fmt.Sprint(e.v) }

func TestErrorMapping(t *testing.T) {
	ve := &ValueError{Msg: "bad value"}
	tests := []struct {
		name string
		err  error
		want abi.Error
	}{
		{"errors.New", errors.New("boom"), abi.Error{Kind: "error", Type: "Error", Message: "boom"}},
		{"fmt.Errorf", fmt.Errorf("n=%d", 3), abi.Error{Kind: "error", Type: "Error", Message: "n=3"}},
		{"fmt.Errorf wrapping", fmt.Errorf("ctx: %w", ve), abi.Error{Kind: "error", Type: "Error", Message: "ctx: bad value"}},
		{"fmt.Errorf wrapping two", fmt.Errorf("%w; %w", ve, ve), abi.Error{Kind: "error", Type: "Error", Message: "bad value; bad value"}},
		{"errors.Join", errors.Join(errors.New("a"), errors.New("b")), abi.Error{Kind: "error", Type: "Error", Message: "a\nb"}},
		{"pointer type", ve, abi.Error{Kind: "error", Type: "ValueError", Message: "bad value"}},
		{"value type", valueTypeError{}, abi.Error{Kind: "error", Type: "valueTypeError", Message: "by value"}},
		{"std named type", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist},
			abi.Error{Kind: "error", Type: "PathError", Message: "open /x: file does not exist"}},
		{"std unexported type", context.DeadlineExceeded,
			abi.Error{Kind: "error", Type: "deadlineExceededError", Message: "context deadline exceeded"}},
		{"generic type", &genericError[int]{v: 7}, abi.Error{Kind: "error", Type: "genericError", Message: "7"}},
		{"ErrorType", customTyped{typ: "SMTPError"}, abi.Error{Kind: "error", Type: "SMTPError", Message: "custom"}},
		{"empty ErrorType", customTyped{}, abi.Error{Kind: "error", Type: "customTyped", Message: "custom"}},
		{"NewError", NewError("SMTPBusy", "server busy"), abi.Error{Kind: "error", Type: "SMTPBusy", Message: "server busy"}},
		{"NewError without type", NewError("", "x"), abi.Error{Kind: "error", Type: "Error", Message: "x"}},
		{"panic", &panicError{value: "boom"}, abi.Error{Kind: "error", Type: "Panic", Message: "boom"}},
		{"panic error value", &panicError{value: errors.New("e")}, abi.Error{Kind: "error", Type: "Panic", Message: "e"}},

		{"Permanent", Permanent(errors.New("no")), abi.Error{Kind: "permanent", Type: "Error", Message: "no"}},
		{"Permanent typed", Permanent(ve), abi.Error{Kind: "permanent", Type: "ValueError", Message: "bad value"}},
		{"Permanent NewError", Permanent(NewError("ValueError", "empty")), abi.Error{Kind: "permanent", Type: "ValueError", Message: "empty"}},
		{"Permanent twice", Permanent(Permanent(ve)), abi.Error{Kind: "permanent", Type: "ValueError", Message: "bad value"}},
		{"wrapped Permanent", fmt.Errorf("step 2: %w", Permanent(ve)), abi.Error{Kind: "permanent", Type: "Error", Message: "step 2: bad value"}},
		{"Permanent of Retry", Permanent(Retry(time.Second)), abi.Error{Kind: "permanent", Type: "Retry", Message: "retry after 1s"}},

		{"Retry", Retry(5 * time.Second), abi.Error{Kind: "retry", Type: "Retry", Message: "retry after 5s", RetryAfterMs: 5000}},
		{"Retry zero", Retry(0), abi.Error{Kind: "retry", Type: "Retry", Message: "retry requested"}},
		{"Retry negative", Retry(-time.Second), abi.Error{Kind: "retry", Type: "Retry", Message: "retry requested"}},
		{"Retry rounds up", Retry(1500 * time.Microsecond), abi.Error{Kind: "retry", Type: "Retry", Message: "retry after 1.5ms", RetryAfterMs: 2}},
		{"Retry tiny", Retry(time.Nanosecond), abi.Error{Kind: "retry", Type: "Retry", Message: "retry after 1ns", RetryAfterMs: 1}},
		{"Retry long", Retry(90 * time.Minute), abi.Error{Kind: "retry", Type: "Retry", Message: "retry after 1h30m0s", RetryAfterMs: 5400000}},
		{"RetryErr", RetryErr(5*time.Second, NewError("SMTPBusy", "server busy")),
			abi.Error{Kind: "retry", Type: "SMTPBusy", Message: "server busy", RetryAfterMs: 5000}},
		{"RetryErr typed", RetryErr(time.Second, ve), abi.Error{Kind: "retry", Type: "ValueError", Message: "bad value", RetryAfterMs: 1000}},
		{"RetryErr nil", RetryErr(time.Second, nil), abi.Error{Kind: "retry", Type: "Retry", Message: "retry after 1s", RetryAfterMs: 1000}},
		{"wrapped Retry", fmt.Errorf("sending: %w", Retry(2*time.Second)),
			abi.Error{Kind: "retry", Type: "Error", Message: "sending: retry after 2s", RetryAfterMs: 2000}},
		{"Retry of Permanent", RetryErr(time.Second, Permanent(ve)), abi.Error{Kind: "retry", Type: "ValueError", Message: "bad value", RetryAfterMs: 1000}},
		{"joined Retry", errors.Join(errors.New("a"), Retry(time.Second)),
			abi.Error{Kind: "retry", Type: "Error", Message: "a\nretry after 1s", RetryAfterMs: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := *toABIError(tt.err); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPermanentNil(t *testing.T) {
	if err := Permanent(nil); err != nil {
		t.Errorf("Permanent(nil) = %v", err)
	}
}

func TestErrorsIsAs(t *testing.T) {
	sentinel := errors.New("sentinel")
	ve := &ValueError{Msg: "v"}
	for name, err := range map[string]error{
		"Permanent":          Permanent(sentinel),
		"RetryErr":           RetryErr(time.Second, sentinel),
		"wrapped Permanent":  fmt.Errorf("x: %w", Permanent(sentinel)),
		"Permanent wrapped":  Permanent(fmt.Errorf("x: %w", sentinel)),
		"Permanent RetryErr": Permanent(RetryErr(time.Second, sentinel)),
	} {
		if !errors.Is(err, sentinel) {
			t.Errorf("%s: errors.Is does not find the sentinel", name)
		}
	}
	for name, err := range map[string]error{
		"Permanent": Permanent(ve),
		"RetryErr":  RetryErr(time.Second, ve),
		"wrapped":   fmt.Errorf("x: %w", Permanent(ve)),
	} {
		var got *ValueError
		if !errors.As(err, &got) || got != ve {
			t.Errorf("%s: errors.As does not find the *ValueError", name)
		}
	}
	var typed interface{ ErrorType() string }
	if !errors.As(Permanent(NewError("ValueError", "x")), &typed) || typed.ErrorType() != "ValueError" {
		t.Errorf("errors.As does not find the NewError error through Permanent")
	}
	if errors.Unwrap(Retry(time.Second)) != nil {
		t.Errorf("Retry unwraps to something")
	}
	e1, e2 := NewError("T", "same"), NewError("T", "same")
	if errors.Is(e1, e2) || !errors.Is(Permanent(e1), e1) {
		t.Errorf("NewError errors must compare by identity")
	}
}

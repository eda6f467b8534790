package host

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/wasm"
)

// RetryPolicy decides what happens to a job that did not succeed: run it again later, or send it
// to the dead-letter queue. It is the one place arqhost's retry rules live.
//
// One counter governs every retry: a job runs at most MaxTries times, whatever mix of failures it
// meets (the original library gave exceptions one more run than explicit retries; arqhost does not).
type RetryPolicy struct {
	// MaxTries is the most times a job runs, the first run included. 1 disables retries.
	MaxTries int
	// Backoff is the base delay of an automatic retry: try n waits Backoff * 2^(n-1), with ±25%
	// jitter, capped at MaxBackoff. A guest that asks for a retry with its own delay gets that delay.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Retry says which failures are retried (while tries remain); the others go to the DLQ at once.
	// Keys are Class values.
	Retry map[Class]bool
}

// Class groups outcomes for the retry policy.
type Class string

// The classes of failure the policy knows.
const (
	ClassGuestRetry     Class = "retry"          // the task asked for a retry
	ClassGuestError     Class = "error"          // the task returned an ordinary error
	ClassGuestPermanent Class = "permanent"      // the task said it must not be retried
	ClassTimeout        Class = "timeout"        // the job ran past its time limit
	ClassTrap           Class = "trap"           // the guest trapped or exited
	ClassLimit          Class = "limit_exceeded" // memory or output limit
	ClassBadOutput      Class = "bad_output"     // the guest broke the ABI
	ClassUnknownTask    Class = "unknown_task"   // no module serves the task
)

// DefaultRetryPolicy retries guest-requested retries, ordinary errors and timeouts; traps,
// exhausted limits, bad output, permanent errors and unknown tasks go to the DLQ at once.
// MaxTries 4 is the original library's max_retries=3; Backoff 5 s its retry_backoff.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxTries:   4,
		Backoff:    5 * time.Second,
		MaxBackoff: time.Hour,
		Retry: map[Class]bool{
			ClassGuestRetry: true,
			ClassGuestError: true,
			ClassTimeout:    true,
		},
	}
}

// ClassOf returns the policy class of a failed outcome.
func ClassOf(o *wasm.Outcome) Class {
	switch o.Kind {
	case wasm.GuestError:
		switch o.Error.Kind {
		case abi.KindRetry:
			return ClassGuestRetry
		case abi.KindPermanent:
			return ClassGuestPermanent
		}
		return ClassGuestError
	case wasm.Timeout:
		return ClassTimeout
	case wasm.LimitExceeded:
		return ClassLimit
	case wasm.BadOutput:
		return ClassBadOutput
	case wasm.UnknownTask:
		return ClassUnknownTask
	}
	return ClassTrap
}

// Decision is what to do with a failed job.
type Decision struct {
	Retry     bool          // run again after Delay; otherwise dead-letter
	Delay     time.Duration // with Retry
	Exhausted bool          // not retried only because no tries are left
	Why       string        // for the DLQ reason and logs when not retried
}

// Decide applies the policy to a job that ran as try number try and failed with outcome o.
func (p RetryPolicy) Decide(o *wasm.Outcome, try int) Decision {
	class := ClassOf(o)
	if !p.Retry[class] {
		return Decision{Why: string(class) + " is not retried"}
	}
	if try >= p.MaxTries {
		return Decision{Exhausted: true, Why: "no tries left: ran " + strconv.Itoa(try) + " of at most " + strconv.Itoa(p.MaxTries) + " times"}
	}
	if class == ClassGuestRetry && o.Error.RetryAfterMs > 0 {
		return Decision{Retry: true, Delay: time.Duration(o.Error.RetryAfterMs) * time.Millisecond}
	}
	return Decision{Retry: true, Delay: p.backoff(try)}
}

// backoff is the delay before try+1: Backoff * 2^(try-1) with ±25% jitter, at most MaxBackoff
// (no cap when MaxBackoff is 0).
func (p RetryPolicy) backoff(try int) time.Duration {
	limit := p.MaxBackoff
	if limit <= 0 {
		limit = 1 << 62
	}
	d := p.Backoff
	for i := 1; i < try && d < limit; i++ {
		d *= 2
	}
	d += time.Duration((rand.Float64() - 0.5) * 0.5 * float64(d))
	return min(d, limit)
}

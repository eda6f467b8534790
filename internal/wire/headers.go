package wire

import (
	"math"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Headers every job message may carry.
const (
	// HeaderRetryCount is the number of earlier tries: job_try - 1. An integer.
	HeaderRetryCount = "x-retry-count"
	// HeaderClientDelayed is "true" when the producer applied the delay (rabbitmq-arq sets it).
	HeaderClientDelayed = "x-client-delayed"
)

// Headers of a message in a dead-letter queue. The first five are rabbitmq-arq's own (its DLQ
// readers look for them); the x-arqhost-* ones are what arqhost adds.
const (
	HeaderErrorType     = "x-error-type"     // the error's type, e.g. "ValueError", "JobTimeout"
	HeaderErrorMessage  = "x-error-message"  // the error's message
	HeaderErrorCategory = "x-error-category" // CategoryRetriable or CategoryNonRetriable
	HeaderFailedAt      = "x-failed-at"      // FormatTime of the moment the job was given up
	HeaderJobID         = "x-job-id"         // the job's id

	HeaderTries         = "x-arqhost-tries"          // how many times the job ran
	HeaderOutcome       = "x-arqhost-outcome"        // the outcome of the last try
	HeaderReason        = "x-arqhost-reason"         // why the job was dead-lettered
	HeaderModule        = "x-arqhost-module"         // the Wasm module that ran the last try
	HeaderModuleVersion = "x-arqhost-module-version" // that module's version
	HeaderWorker        = "x-arqhost-worker"         // the worker that gave the job up
)

// Values of HeaderErrorCategory.
const (
	CategoryRetriable    = "retriable"
	CategoryNonRetriable = "non_retriable"
)

// RetryCount reads HeaderRetryCount. It accepts every integer type amqp091 decodes a field table
// into (int8 to int64, uint8 to uint64), float32 and float64 holding a whole number (some
// clients send numbers as doubles), an amqp.Decimal with no fraction, and a decimal number as a
// string or byte array ("3", as clients that send every header as text do). It reports false
// when the header is missing, negative, above 2^31-1, fractional or not a number.
func RetryCount(h amqp.Table) (int, bool) {
	v, ok := h[HeaderRetryCount]
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int:
		return nonNeg(int64(x))
	case int8:
		return nonNeg(int64(x))
	case int16:
		return nonNeg(int64(x))
	case int32:
		return nonNeg(int64(x))
	case int64:
		return nonNeg(x)
	case uint:
		return nonNegU(uint64(x))
	case uint8:
		return nonNegU(uint64(x))
	case uint16:
		return nonNegU(uint64(x))
	case uint32:
		return nonNegU(uint64(x))
	case uint64:
		return nonNegU(x)
	case float32:
		return whole(float64(x))
	case float64:
		return whole(x)
	case amqp.Decimal:
		if x.Scale == 0 {
			return nonNeg(int64(x.Value))
		}
		return whole(float64(x.Value) / math.Pow10(int(x.Scale)))
	case string:
		return fromText(x)
	case []byte:
		return fromText(string(x))
	}
	return 0, false
}

func nonNeg(n int64) (int, bool) {
	if n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

func nonNegU(n uint64) (int, bool) {
	if n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

func whole(f float64) (int, bool) {
	if math.IsNaN(f) || f < 0 || f > math.MaxInt32 || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}

func fromText(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return nonNeg(n)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return whole(f)
	}
	return 0, false
}

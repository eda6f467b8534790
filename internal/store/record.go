package store

import (
	"github.com/arqhost/arqhost/internal/wire"

	"github.com/arqhost/arqhost/internal/jsonscan"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Status is the state of a job as recorded in Redis. The values are the strings the Python library
// rabbitmq-arq writes, so existing readers understand them.
type Status string

// The statuses a record can hold. Completed, failed and aborted are terminal: once stored, a
// terminal record is never replaced (only Delete removes it).
const (
	StatusQueued     Status = "queued"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
	StatusRetrying   Status = "retrying"
	StatusAborted    Status = "aborted"
)

// Terminal reports whether s is a final status: completed, failed or aborted.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusAborted:
		return true
	}
	return false
}

// Valid reports whether s is one of the six known statuses.
func (s Status) Valid() bool { return s.rank() >= 0 }

// rank orders statuses within one attempt: queued < in_progress < retrying < terminal. It is -1
// for an unknown status. The Lua scripts in scripts.go use the same table.
func (s Status) rank() int {
	switch s {
	case StatusQueued:
		return 0
	case StatusInProgress:
		return 1
	case StatusRetrying:
		return 2
	case StatusCompleted, StatusFailed, StatusAborted:
		return 3
	}
	return -1
}

// TimeLayout is the layout arqhost writes timestamps with: Python's datetime.isoformat() of an
// aware datetime with microseconds, e.g. 2026-01-15T10:30:00.123456+00:00. Times are written in
// UTC, so the offset is always +00:00.
const TimeLayout = "2006-01-02T15:04:05.000000-07:00"

// FormatTime formats t as TimeLayout in UTC (microsecond precision, "+00:00" offset).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads an ISO-8601 timestamp tolerantly: with or without a fractional second (any
// number of digits), with "Z", a "+hh:mm" or "+hhmm" offset, or none at all (naive times are UTC),
// and with "T" or a space between date and time (Python's str(datetime)). The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	for _, layout := range []string{
		time.RFC3339Nano,                     // Z or +hh:mm, optional fraction
		"2006-01-02T15:04:05.999999999-0700", // +hhmm
		"2006-01-02T15:04:05.999999999",      // naive: UTC
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("store: invalid timestamp %q", s)
}

// isoTime is a time.Time that marshals as TimeLayout and unmarshals through ParseTime.
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + FormatTime(time.Time(t)) + `"`), nil
}

func (t *isoTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = isoTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("store: timestamp is not a string: %s", b)
	}
	if s == "" {
		*t = isoTime{}
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = isoTime(v)
	return nil
}

func timePtr(t *isoTime) *time.Time {
	if t == nil || time.Time(*t).IsZero() {
		return nil
	}
	v := time.Time(*t)
	return &v
}

// Record is the result record of one job, stored as JSON under {prefix}:result:{job_id}.
//
// Its JSON form (MarshalJSON) has the fields of the Python library, with the same names and in the
// same order, followed by arqhost's own fields, which are left out when empty:
//
//	job_id, status, result, error, start_time, end_time, duration, worker_id, queue_name,
//	retry_count, function_name, args, kwargs, created_at, expires_at,
//	job_try, module, module_version, outcome, error_kind, error_type, error_message, next_try_at
//
// result is any JSON value (null when there is none), error is "ErrorType: message" or null,
// timestamps are ISO-8601 with offset (see TimeLayout) or null, duration is in seconds (float) or
// null, worker_id is null when empty, args is an array ([] when empty) and kwargs an object ({}
// when empty). UnmarshalJSON also reads records written by the Python library (no job_try: it is
// derived from retry_count) and ignores unknown fields.
type Record struct {
	JobID        string          // job id (uuid4 hex unless the caller chose one)
	Status       Status          // current status
	Result       json.RawMessage // the task's return value as JSON; nil means none (null)
	Error        *string         // "ErrorType: message", nil when there is no error
	StartTime    *time.Time      // when the current attempt started
	EndTime      *time.Time      // when the current attempt ended
	Duration     *float64        // EndTime-StartTime in seconds
	WorkerID     string          // worker that ran (or runs) the job; written as null when empty
	QueueName    string          // queue the job came from
	RetryCount   int             // JobTry-1; Write derives it from JobTry
	FunctionName string          // task name
	Args         json.RawMessage // positional arguments, a JSON array (nil means [])
	Kwargs       json.RawMessage // keyword arguments, a JSON object (nil means {})
	CreatedAt    time.Time       // when the job was enqueued (zero is written as null)
	ExpiresAt    *time.Time      // when this record expires from Redis

	// arqhost extras (omitted from the JSON when empty).
	JobTry        int        // attempt number, starting at 1
	Module        string     // Wasm module that served the task
	ModuleVersion string     // version (digest) of that module
	Outcome       string     // runtime outcome: "success", "guest_error", "trap", "timeout", ...
	ErrorKind     string     // error classification, e.g. "retriable" / "non_retriable"
	ErrorType     string     // error type alone (the part of Error before ": ")
	ErrorMessage  string     // error message alone
	NextTryAt     *time.Time // when the next attempt is due (status retrying)
}

// FormatError returns the Python library's error string, "ErrorType: message" (or just the type
// when the message is empty), ready for Record.Error.
func FormatError(errType, message string) *string {
	s := errType
	if message != "" {
		if s != "" {
			s += ": "
		}
		s += message
	}
	return &s
}

// recordIn is the JSON layout read, tolerant of the Python library's records.
type recordIn struct {
	JobID        string          `json:"job_id"`
	Status       Status          `json:"status"`
	Result       json.RawMessage `json:"result"`
	Error        json.RawMessage `json:"error"`
	StartTime    *isoTime        `json:"start_time"`
	EndTime      *isoTime        `json:"end_time"`
	Duration     *float64        `json:"duration"`
	WorkerID     *string         `json:"worker_id"`
	QueueName    *string         `json:"queue_name"`
	RetryCount   *int            `json:"retry_count"`
	FunctionName *string         `json:"function_name"`
	Args         json.RawMessage `json:"args"`
	Kwargs       json.RawMessage `json:"kwargs"`
	CreatedAt    *isoTime        `json:"created_at"`
	ExpiresAt    *isoTime        `json:"expires_at"`

	JobTry        *int     `json:"job_try"`
	Module        string   `json:"module"`
	ModuleVersion string   `json:"module_version"`
	Outcome       string   `json:"outcome"`
	ErrorKind     string   `json:"error_kind"`
	ErrorType     string   `json:"error_type"`
	ErrorMessage  string   `json:"error_message"`
	NextTryAt     *isoTime `json:"next_try_at"`
}

// rawOr returns raw compacted, def when raw is empty or null, and an error when raw is not valid
// JSON or does not start with want (0: any value).
func rawOr(field string, raw json.RawMessage, def string, want byte) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		if def == "" {
			return nil, nil
		}
		return json.RawMessage(def), nil
	}
	if !json.Valid(t) {
		return nil, fmt.Errorf("store: %s is not valid JSON", field)
	}
	if want == '[' && t[0] != '[' {
		return nil, fmt.Errorf("store: %s must be a JSON array", field)
	}
	if want == '{' && t[0] != '{' {
		return nil, fmt.Errorf("store: %s must be a JSON object", field)
	}
	return t, nil
}

// MarshalJSON writes the record in the layout described on Record. HTML characters are not
// escaped, so the bytes are what a Python reader would expect.
func (r Record) MarshalJSON() ([]byte, error) {
	// Written by hand rather than through encoding/json: a worker writes two records per job, and
	// reflection made this the largest cost of a job's bookkeeping. record_test.go holds it to
	// byte-for-byte equality with encoding/json's output of recordOut.
	var err error
	b := make([]byte, 0, 640+len(r.Result)+len(r.Args)+len(r.Kwargs)+len(r.ErrorMessage)*2)
	b = append(b, `{"job_id":`...)
	b = jsonscan.AppendString(b, r.JobID)
	b = append(b, `,"status":`...)
	b = jsonscan.AppendString(b, string(r.Status))
	b = append(b, `,"result":`...)
	if b, err = appendRaw(b, "result", r.Result, "null", 0); err != nil {
		return nil, err
	}
	b = append(b, `,"error":`...)
	if r.Error != nil {
		b = jsonscan.AppendString(b, *r.Error)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"start_time":`...)
	b = appendTime(b, r.StartTime)
	b = append(b, `,"end_time":`...)
	b = appendTime(b, r.EndTime)
	b = append(b, `,"duration":`...)
	if r.Duration != nil && !math.IsNaN(*r.Duration) && !math.IsInf(*r.Duration, 0) {
		b = appendFloat(b, *r.Duration)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"worker_id":`...)
	if r.WorkerID != "" {
		b = jsonscan.AppendString(b, r.WorkerID)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"queue_name":`...)
	b = jsonscan.AppendString(b, r.QueueName)
	b = append(b, `,"retry_count":`...)
	b = strconv.AppendInt(b, int64(r.RetryCount), 10)
	b = append(b, `,"function_name":`...)
	b = jsonscan.AppendString(b, r.FunctionName)
	b = append(b, `,"args":`...)
	if b, err = appendRaw(b, "args", r.Args, "[]", '['); err != nil {
		return nil, err
	}
	b = append(b, `,"kwargs":`...)
	if b, err = appendRaw(b, "kwargs", r.Kwargs, "{}", '{'); err != nil {
		return nil, err
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, &r.CreatedAt)
	b = append(b, `,"expires_at":`...)
	b = appendTime(b, r.ExpiresAt)
	if r.JobTry != 0 {
		b = append(b, `,"job_try":`...)
		b = strconv.AppendInt(b, int64(r.JobTry), 10)
	}
	for _, f := range [...]struct{ key, val string }{
		{`,"module":`, r.Module}, {`,"module_version":`, r.ModuleVersion}, {`,"outcome":`, r.Outcome},
		{`,"error_kind":`, r.ErrorKind}, {`,"error_type":`, r.ErrorType}, {`,"error_message":`, r.ErrorMessage},
	} {
		if f.val != "" {
			b = append(b, f.key...)
			b = jsonscan.AppendString(b, f.val)
		}
	}
	if r.NextTryAt != nil && !r.NextTryAt.IsZero() {
		b = append(b, `,"next_try_at":`...)
		b = appendTime(b, r.NextTryAt)
	}
	return append(b, '}'), nil
}

// appendTime appends t as a TimeLayout string, or null for nil or the zero time.
func appendTime(b []byte, t *time.Time) []byte {
	if t == nil || t.IsZero() {
		return append(b, "null"...)
	}
	u := t.UTC()
	if year := u.Year(); year < 0 || year > 9999 {
		b = append(b, '"')
		b = u.AppendFormat(b, TimeLayout)
		return append(b, '"')
	}
	b = append(b, '"')
	b = wire.AppendDateTime(b, u)
	b = append(b, '.')
	b = wire.AppendMicros(b, u)
	return append(b, `+00:00"`...)
}

// appendRaw appends a raw JSON field compacted (as encoding/json writes a RawMessage), or def
// when raw is empty or null. It is an error if raw is not valid JSON or does not start with want
// (0: any value).
func appendRaw(b []byte, field string, raw json.RawMessage, def string, want byte) ([]byte, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return append(b, def...), nil
	}
	if want != 0 && t[0] != want {
		if want == '[' {
			return nil, fmt.Errorf("store: %s must be a JSON array", field)
		}
		return nil, fmt.Errorf("store: %s must be a JSON object", field)
	}
	b, err := jsonscan.AppendCompact(b, t)
	if err != nil {
		return nil, fmt.Errorf("store: %s is not valid JSON", field)
	}
	return b, nil
}

// appendFloat appends f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// UnmarshalJSON reads a record written by arqhost or by the Python library. A missing job_try is
// derived from retry_count (job_try = retry_count+1); a non-string error value is kept as its
// JSON text; null result, args or kwargs become nil.
func (r *Record) UnmarshalJSON(b []byte) error {
	var in recordIn
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("store: decoding record: %w", err)
	}
	if in.JobID == "" {
		return errors.New("store: decoding record: no job_id")
	}
	rec := Record{
		JobID:         in.JobID,
		Status:        in.Status,
		StartTime:     timePtr(in.StartTime),
		EndTime:       timePtr(in.EndTime),
		Duration:      in.Duration,
		ExpiresAt:     timePtr(in.ExpiresAt),
		Module:        in.Module,
		ModuleVersion: in.ModuleVersion,
		Outcome:       in.Outcome,
		ErrorKind:     in.ErrorKind,
		ErrorType:     in.ErrorType,
		ErrorMessage:  in.ErrorMessage,
		NextTryAt:     timePtr(in.NextTryAt),
	}
	if t := bytes.TrimSpace(in.Result); len(t) > 0 && string(t) != "null" {
		rec.Result = append(json.RawMessage(nil), t...)
	}
	if t := bytes.TrimSpace(in.Args); len(t) > 0 && string(t) != "null" {
		rec.Args = append(json.RawMessage(nil), t...)
	}
	if t := bytes.TrimSpace(in.Kwargs); len(t) > 0 && string(t) != "null" {
		rec.Kwargs = append(json.RawMessage(nil), t...)
	}
	if t := bytes.TrimSpace(in.Error); len(t) > 0 && string(t) != "null" {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			s = string(t)
		}
		rec.Error = &s
	}
	if in.WorkerID != nil {
		rec.WorkerID = *in.WorkerID
	}
	if in.QueueName != nil {
		rec.QueueName = *in.QueueName
	}
	if in.FunctionName != nil {
		rec.FunctionName = *in.FunctionName
	}
	if in.CreatedAt != nil {
		rec.CreatedAt = time.Time(*in.CreatedAt)
	}
	if in.RetryCount != nil {
		rec.RetryCount = *in.RetryCount
	}
	switch {
	case in.JobTry != nil:
		rec.JobTry = *in.JobTry
	default:
		rec.JobTry = rec.RetryCount + 1
	}
	*r = rec
	return nil
}

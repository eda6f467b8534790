// Package wire is the job message format arqhost shares with the Python library rabbitmq-arq: the
// JSON body of a job message, its timestamps, and the AMQP headers that travel with it.
//
// A body is a UTF-8 JSON object with the keys, in this order, that rabbitmq-arq writes:
//
//	{"job_id": "…", "function": "send_email", "args": ["a@b.c"], "kwargs": {"subject": "x"},
//	 "job_try": 1, "enqueue_time": "2026-01-15T10:30:00.123456+00:00", "start_time": null,
//	 "end_time": null, "result": null, "error": null, "status": "queued", "queue_name": "default",
//	 "defer_until": null, "expires": "2026-01-16T10:30:00.123456+00:00"}
//
// Job.Body writes exactly what the Python library's json.dumps writes for the same job (", " and
// ": " separators, non-ASCII characters escaped as \uXXXX), so bodies from either producer are
// byte-identical. Decode accepts any valid JSON object with those keys, ignores unknown keys and
// never panics.
package wire

import (
	"github.com/arqhost/arqhost/internal/jsonscan"

	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// DefaultExpiry is how long after its enqueue time a job expires unless told otherwise; it is
// the Python library's default (24 h).
const DefaultExpiry = 24 * time.Hour

// Job is one job message.
type Job struct {
	ID       string          // job_id; rabbitmq-arq uses uuid4 hex (NewID)
	Function string          // the task name
	Args     json.RawMessage // a JSON array; nil means []
	Kwargs   json.RawMessage // a JSON object; nil means {}
	Try      int             // job_try, the attempt number starting at 1; below 1 is written as 1

	EnqueueTime time.Time // when the job was first enqueued
	Queue       string    // queue_name, the queue it was published to
	DeferUntil  time.Time // the job must not run before this; zero = no deferral
	Expires     time.Time // the job must not start after this; zero = never expires
}

// NewID returns a new job id in rabbitmq-arq's format: a random (version 4) UUID as 32
// lowercase hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// NewJob returns a first try of function on queue with a new id, enqueued now (UTC, to the
// microsecond) and expiring DefaultExpiry later, as the Python library does.
func NewJob(function, queue string, args, kwargs json.RawMessage) *Job {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &Job{
		ID: NewID(), Function: function, Args: args, Kwargs: kwargs, Try: 1,
		EnqueueTime: now, Queue: queue, Expires: now.Add(DefaultExpiry),
	}
}

// Encode returns the job's body, or an error when the job cannot be written: an empty ID or
// Function, or Args / Kwargs that are not a JSON array / object.
func (j *Job) Encode() ([]byte, error) {
	if j.ID == "" {
		return nil, errors.New("job has no ID")
	}
	if j.Function == "" {
		return nil, errors.New("job has no Function")
	}
	b := make([]byte, 0, 320+len(j.Args)+len(j.Kwargs)+len(j.ID)+len(j.Function)+len(j.Queue))
	b = append(b, `{"job_id": `...)
	b = appendPyString(b, j.ID)
	b = append(b, `, "function": `...)
	b = appendPyString(b, j.Function)
	b = append(b, `, "args": `...)
	var err error
	if b, err = appendPyContainer(b, j.Args, '['); err != nil {
		return nil, fmt.Errorf("job args: %w", err)
	}
	b = append(b, `, "kwargs": `...)
	if b, err = appendPyContainer(b, j.Kwargs, '{'); err != nil {
		return nil, fmt.Errorf("job kwargs: %w", err)
	}
	b = append(b, `, "job_try": `...)
	b = strconv.AppendInt(b, int64(max(j.Try, 1)), 10)
	b = append(b, `, "enqueue_time": "`...)
	b = AppendTime(b, j.EnqueueTime)
	b = append(b, `", "start_time": null, "end_time": null, "result": null, "error": null, "status": "queued", "queue_name": `...)
	b = appendPyString(b, j.Queue)
	b = append(b, `, "defer_until": `...)
	b = appendOptTime(b, j.DeferUntil)
	b = append(b, `, "expires": `...)
	b = appendOptTime(b, j.Expires)
	b = append(b, '}')
	return b, nil
}

// Body returns the job's body in the library's key order. It panics when Encode would fail: a job
// built by this program always has an ID, a Function and well-formed Args and Kwargs (a decoded
// job always does); use Encode for jobs assembled from unchecked input.
func (j *Job) Body() []byte {
	b, err := j.Encode()
	if err != nil {
		panic("wire: Job.Body: " + err.Error())
	}
	return b
}

func appendOptTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = AppendTime(b, t)
	return append(b, '"')
}

// ErrMalformed is wrapped by every error Decode returns.
var ErrMalformed = errors.New("malformed job message")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Decode parses a job body. Unknown keys are ignored; missing "args" means [], missing "kwargs"
// {}, missing "job_try" 1, and a missing or null "enqueue_time", "defer_until" or "expires" the
// zero time. Timestamps without an offset (Python's naive datetime.isoformat()) are UTC. Every
// error wraps ErrMalformed and names the offending field.
func Decode(body []byte) (*Job, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, malformed("body is empty")
	}
	if !utf8.Valid(body) {
		return nil, malformed("body is not valid UTF-8")
	}
	if !json.Valid(body) {
		if jsonscan.TooDeep(body) {
			return nil, malformed("body nests arrays or objects more than %d levels deep, the most a job may", jsonscan.MaxDepth)
		}
		var v any
		err := json.Unmarshal(body, &v)
		return nil, malformed("body is not valid JSON: %v", err)
	}
	if trimmed[0] != '{' {
		return nil, malformed("body is a JSON %s, not an object", jsonKind(trimmed[0]))
	}
	m := jsonscan.Object(body)
	j := &Job{Try: 1}
	var err error
	if j.ID, err = requiredString(m, "job_id"); err != nil {
		return nil, err
	}
	if j.Function, err = requiredString(m, "function"); err != nil {
		return nil, err
	}
	if j.Args, err = container(m, "args", '[', "an array"); err != nil {
		return nil, err
	}
	if j.Kwargs, err = container(m, "kwargs", '{', "an object"); err != nil {
		return nil, err
	}
	if raw, ok := present(m, "job_try"); ok {
		n, perr := strconv.ParseInt(string(raw), 10, 0)
		if perr != nil || n < 1 {
			return nil, malformed("job_try must be a positive integer, got %s", clip(string(raw)))
		}
		j.Try = int(n)
	}
	if raw, ok := present(m, "queue_name"); ok {
		if raw[0] != '"' {
			return nil, malformed("queue_name must be a string, got a JSON %s", jsonKind(raw[0]))
		}
		j.Queue = jsonscan.Unquote(raw)
	}
	for _, f := range [...]struct {
		key string
		dst *time.Time
	}{{"enqueue_time", &j.EnqueueTime}, {"defer_until", &j.DeferUntil}, {"expires", &j.Expires}} {
		raw, ok := present(m, f.key)
		if !ok {
			continue
		}
		if raw[0] != '"' {
			return nil, malformed("%s must be an ISO-8601 timestamp string or null, got a JSON %s", f.key, jsonKind(raw[0]))
		}
		t, perr := ParseTime(jsonscan.Unquote(raw))
		if perr != nil {
			return nil, malformed("%s: %v", f.key, perr)
		}
		*f.dst = t
	}
	return j, nil
}

// present returns a key's raw value unless it is missing or null.
func present(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := m[key]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

func requiredString(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok {
		return "", malformed("%s is missing", key)
	}
	if len(raw) == 0 {
		return "", malformed("%s is missing", key)
	}
	if raw[0] != '"' {
		return "", malformed("%s must be a string, got a JSON %s", key, jsonKind(raw[0]))
	}
	s := jsonscan.Unquote(raw)
	if s == "" {
		return "", malformed("%s is empty", key)
	}
	return s, nil
}

func container(m map[string]json.RawMessage, key string, open byte, what string) (json.RawMessage, error) {
	raw, ok := present(m, key)
	if !ok {
		if open == '[' {
			return json.RawMessage("[]"), nil
		}
		return json.RawMessage("{}"), nil
	}
	if raw[0] != open {
		return nil, malformed("%s must be %s, got a JSON %s", key, what, jsonKind(raw[0]))
	}
	return raw, nil
}

// jsonKind names the JSON type that starts with c (the first byte of a valid JSON value).
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

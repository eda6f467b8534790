package wire

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// golden is what Python's json.dumps writes for sampleJob (generated with CPython 3.11).
const golden = `{"job_id": "3b241101e2bb42558caf4136c566a962", "function": "send_email", ` +
	`"args": ["a@b.c", 3, 1.5, true, null, {"nested": ["\u00e9", "\ud83d\ude00", "quote\"", "tab\t", "<&>/", "\u007f\u0001"]}], ` +
	`"kwargs": {"subject": "Gr\u00fc\u00dfe", "n": 1, "empty": {}, "list": []}, "job_try": 2, ` +
	`"enqueue_time": "2026-01-15T10:30:00.123456+00:00", "start_time": null, "end_time": null, "result": null, ` +
	`"error": null, "status": "queued", "queue_name": "emails", "defer_until": "2026-01-15T10:30:05+00:00", ` +
	`"expires": "2026-01-16T10:30:00.123456+00:00"}`

func sampleJob(t *testing.T) *Job {
	return &Job{
		ID:       "3b241101e2bb42558caf4136c566a962",
		Function: "send_email",
		// Go-style input (compact, raw UTF-8, Go's own escapes) must come out in Python's style.
		Args:        json.RawMessage("[\"a@b.c\",3,1.5,true,null,{\"nested\":[\"é\",\"😀\",\"quote\\\"\",\"tab\\t\",\"\\u003c\\u0026\\u003e\\/\",\"\x7f\\u0001\"]}]"),
		Kwargs:      json.RawMessage("{\n  \"subject\": \"Grüße\",\n  \"n\": 1,\n  \"empty\": { },\n  \"list\": [ ]\n}"),
		Try:         2,
		EnqueueTime: mustTime(t, "2026-01-15T10:30:00.123456+00:00"),
		Queue:       "emails",
		DeferUntil:  mustTime(t, "2026-01-15T10:30:05+00:00"),
		Expires:     mustTime(t, "2026-01-16T10:30:00.123456+00:00"),
	}
}

func TestBodyGolden(t *testing.T) {
	t.Parallel()
	got := string(sampleJob(t).Body())
	if got != golden {
		t.Fatalf("body differs from Python's json.dumps\n got: %s\nwant: %s", got, golden)
	}
	// The body is valid JSON and decodes back to the same job.
	j, err := Decode([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if string(j.Body()) != golden {
		t.Fatalf("Body(Decode(golden)) != golden:\n%s", j.Body())
	}
}

func TestBodyDefaults(t *testing.T) {
	t.Parallel()
	j := &Job{ID: "x", Function: "f", EnqueueTime: time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)}
	want := `{"job_id": "x", "function": "f", "args": [], "kwargs": {}, "job_try": 1, ` +
		`"enqueue_time": "2026-01-15T10:30:00+00:00", "start_time": null, "end_time": null, "result": null, ` +
		`"error": null, "status": "queued", "queue_name": "", "defer_until": null, "expires": null}`
	if got := string(j.Body()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	base := func() *Job { return &Job{ID: "x", Function: "f"} }
	cases := []struct {
		name string
		mod  func(*Job)
		want string
	}{
		{"no id", func(j *Job) { j.ID = "" }, "job has no ID"},
		{"no function", func(j *Job) { j.Function = "" }, "job has no Function"},
		{"args object", func(j *Job) { j.Args = json.RawMessage(`{"a":1}`) }, "job args: not a JSON array, but a JSON object"},
		{"args invalid", func(j *Job) { j.Args = json.RawMessage(`[1,`) }, "job args: not valid JSON"},
		{"kwargs array", func(j *Job) { j.Kwargs = json.RawMessage(`[]`) }, "job kwargs: not a JSON object, but a JSON array"},
	}
	for _, c := range cases {
		j := base()
		c.mod(j)
		_, err := j.Encode()
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "job has no ID") {
			t.Errorf("Body of a job without ID: recovered %v", r)
		}
	}()
	(&Job{Function: "f"}).Body()
}

// pythonBody is a body exactly as rabbitmq-arq writes it (json.dumps of its job dict).
const pythonBody = `{"job_id": "9f1c2e0a7b5d4c3e8a1f0b2c3d4e5f60", "function": "send_email", "args": ["a@b.c"], ` +
	`"kwargs": {"subject": "x"}, "job_try": 1, "enqueue_time": "2026-01-15T10:30:00.123456+00:00", ` +
	`"start_time": null, "end_time": null, "result": null, "error": null, "status": "queued", ` +
	`"queue_name": "default", "defer_until": null, "expires": "2026-01-16T10:30:00.123456+00:00"}`

func TestDecodePythonBody(t *testing.T) {
	t.Parallel()
	j, err := Decode([]byte(pythonBody))
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "9f1c2e0a7b5d4c3e8a1f0b2c3d4e5f60" || j.Function != "send_email" || j.Queue != "default" || j.Try != 1 {
		t.Fatalf("decoded %+v", j)
	}
	if string(j.Args) != `["a@b.c"]` || string(j.Kwargs) != `{"subject": "x"}` {
		t.Fatalf("args %s kwargs %s", j.Args, j.Kwargs)
	}
	if want := time.Date(2026, 1, 15, 10, 30, 0, 123456000, time.UTC); !j.EnqueueTime.Equal(want) {
		t.Fatalf("enqueue_time %v, want %v", j.EnqueueTime, want)
	}
	if want := time.Date(2026, 1, 16, 10, 30, 0, 123456000, time.UTC); !j.Expires.Equal(want) {
		t.Fatalf("expires %v, want %v", j.Expires, want)
	}
	if !j.DeferUntil.IsZero() {
		t.Fatalf("defer_until %v, want zero", j.DeferUntil)
	}
	// Re-encoding gives the library's own bytes back.
	if got := string(j.Body()); got != pythonBody {
		t.Fatalf("re-encoded\n got %s\nwant %s", got, pythonBody)
	}
}

func TestDecodeLenient(t *testing.T) {
	t.Parallel()
	// Minimal body, compact, unknown keys, naive timestamps (Python's datetime.now().isoformat()).
	j, err := Decode([]byte(`{"function":"f","job_id":"id1","extra":{"x":[1,2]},"status":"in_progress",` +
		`"enqueue_time":"2026-01-15T10:30:00.5","defer_until":"2026-01-15T10:31:00","expires":null,"queue_name":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(j.Args) != "[]" || string(j.Kwargs) != "{}" || j.Try != 1 || j.Queue != "" || !j.Expires.IsZero() {
		t.Fatalf("defaults not applied: %+v", j)
	}
	if want := time.Date(2026, 1, 15, 10, 30, 0, 500000000, time.UTC); !j.EnqueueTime.Equal(want) || j.EnqueueTime.Location() != time.UTC {
		t.Fatalf("naive enqueue_time = %v, want %v UTC", j.EnqueueTime, want)
	}
	if want := time.Date(2026, 1, 15, 10, 31, 0, 0, time.UTC); !j.DeferUntil.Equal(want) {
		t.Fatalf("naive defer_until = %v, want %v", j.DeferUntil, want)
	}
	// null args/kwargs/job_try count as missing.
	j, err = Decode([]byte(`{"job_id":"a","function":"f","args":null,"kwargs":null,"job_try":null}`))
	if err != nil || string(j.Args) != "[]" || string(j.Kwargs) != "{}" || j.Try != 1 {
		t.Fatalf("nulls: %+v %v", j, err)
	}
	// A later try.
	j, err = Decode([]byte(`{"job_id":"a","function":"f","job_try":7}`))
	if err != nil || j.Try != 7 {
		t.Fatalf("job_try 7: %+v %v", j, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	ok := `"job_id": "a", "function": "f"`
	cases := []struct{ body, want string }{
		{``, "body is empty"},
		{"  \n", "body is empty"},
		{"{\"job_id\": \"\xff\"}", "body is not valid UTF-8"},
		{`{"job_id": "a"`, "body is not valid JSON: unexpected end of JSON input"},
		{`job_id=a`, "body is not valid JSON: invalid character 'j' looking for beginning of value"},
		{`{` + ok + `, "args": [` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `]}`, "body nests arrays or objects more than 10000 levels deep, the most a job may"},
		{`[1, 2]`, "body is a JSON array, not an object"},
		{`"text"`, "body is a JSON string, not an object"},
		{`null`, "body is a JSON null, not an object"},
		{`42`, "body is a JSON number, not an object"},
		{`{"function": "f"}`, "job_id is missing"},
		{`{"job_id": 12, "function": "f"}`, "job_id must be a string, got a JSON number"},
		{`{"job_id": null, "function": "f"}`, "job_id must be a string, got a JSON null"},
		{`{"job_id": "", "function": "f"}`, "job_id is empty"},
		{`{"job_id": "a"}`, "function is missing"},
		{`{"job_id": "a", "function": ["f"]}`, "function must be a string, got a JSON array"},
		{`{"job_id": "a", "function": ""}`, "function is empty"},
		{`{` + ok + `, "args": {"a": 1}}`, "args must be an array, got a JSON object"},
		{`{` + ok + `, "args": "a"}`, "args must be an array, got a JSON string"},
		{`{` + ok + `, "kwargs": []}`, "kwargs must be an object, got a JSON array"},
		{`{` + ok + `, "kwargs": 1}`, "kwargs must be an object, got a JSON number"},
		{`{` + ok + `, "job_try": 0}`, "job_try must be a positive integer, got 0"},
		{`{` + ok + `, "job_try": -1}`, "job_try must be a positive integer, got -1"},
		{`{` + ok + `, "job_try": 1.5}`, "job_try must be a positive integer, got 1.5"},
		{`{` + ok + `, "job_try": "1"}`, `job_try must be a positive integer, got "1"`},
		{`{` + ok + `, "job_try": 99999999999999999999}`, "job_try must be a positive integer, got 99999999999999999999"},
		{`{` + ok + `, "queue_name": 5}`, "queue_name must be a string, got a JSON number"},
		{`{` + ok + `, "enqueue_time": 1736937000}`, "enqueue_time must be an ISO-8601 timestamp string or null, got a JSON number"},
		{`{` + ok + `, "enqueue_time": "yesterday"}`, `enqueue_time: invalid timestamp "yesterday": want a date YYYY-MM-DD first`},
		{`{` + ok + `, "defer_until": "2026-02-30T00:00:00"}`, `defer_until: invalid timestamp "2026-02-30T00:00:00": day 30 is out of range for 2026-02`},
		{`{` + ok + `, "expires": "2026-01-15T25:00:00+00:00"}`, `expires: invalid timestamp "2026-01-15T25:00:00+00:00": time 25:00:00 is out of range`},
		{`{` + ok + `, "expires": "2026-01-15T10:00:00+24:00"}`, `expires: invalid timestamp "2026-01-15T10:00:00+24:00": offset is out of range (must be under 24 hours)`},
		{`{` + ok + `, "expires": true}`, "expires must be an ISO-8601 timestamp string or null, got a JSON boolean"},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.body))
		if err == nil {
			t.Errorf("Decode(%q) succeeded, want %q", c.body, c.want)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q) error %v does not wrap ErrMalformed", c.body, err)
		}
		if want := "malformed job message: " + c.want; err.Error() != want {
			t.Errorf("Decode(%q)\n got %q\nwant %q", c.body, err.Error(), want)
		}
	}
}

func TestDecodeErrorClipsLongValues(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 10000)
	_, err := Decode([]byte(`{"job_id": "a", "function": "f", "job_try": ` + long + `}`))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error not clipped: %d bytes", len(err.Error()))
	}
}

func TestNewJob(t *testing.T) {
	t.Parallel()
	if !regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`).MatchString(NewID()) {
		t.Fatalf("NewID %q is not uuid4 hex", NewID())
	}
	if NewID() == NewID() {
		t.Fatal("NewID repeats")
	}
	before := time.Now()
	j := NewJob("f", "q", json.RawMessage(`[1]`), nil)
	if j.Try != 1 || j.Queue != "q" || j.EnqueueTime.Before(before.Add(-time.Millisecond)) ||
		j.Expires.Sub(j.EnqueueTime) != DefaultExpiry || j.EnqueueTime.Location() != time.UTC {
		t.Fatalf("NewJob = %+v", j)
	}
	back, err := Decode(j.Body())
	if err != nil || back.ID != j.ID || !back.EnqueueTime.Equal(j.EnqueueTime) || !back.Expires.Equal(j.Expires) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

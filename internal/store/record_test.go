package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// originalFields are the record fields of rabbitmq-arq, in its order.
var originalFields = []string{
	"job_id", "status", "result", "error", "start_time", "end_time", "duration", "worker_id",
	"queue_name", "retry_count", "function_name", "args", "kwargs", "created_at", "expires_at",
}

// topLevelKeys returns the keys of a JSON object in document order.
func topLevelKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", data)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestRecordGolden(t *testing.T) {
	t.Parallel()
	utc := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	cet := time.FixedZone("CET", 3600)
	cases := []struct {
		name string
		rec  Record
		want string
	}{
		{
			name: "completed",
			rec: Record{
				JobID:         "abc123",
				Status:        StatusCompleted,
				Result:        json.RawMessage(`{"to": "a@b.c", "n": 1}`),
				StartTime:     utc("2026-01-15T10:30:00.123456Z"),
				EndTime:       utc("2026-01-15T10:30:05.323456Z"),
				Duration:      ptr(5.2),
				WorkerID:      "worker_001",
				QueueName:     "default",
				RetryCount:    0,
				FunctionName:  "my_task",
				Args:          json.RawMessage(`[1, 2, 3]`),
				Kwargs:        json.RawMessage(`{"key": "value"}`),
				CreatedAt:     time.Date(2026, 1, 15, 11, 29, 59, 500000000, cet),
				ExpiresAt:     utc("2026-01-16T10:30:05.323456Z"),
				JobTry:        1,
				Module:        "email",
				ModuleVersion: "sha256:ab",
				Outcome:       "success",
			},
			want: `{"job_id":"abc123","status":"completed","result":{"to":"a@b.c","n":1},"error":null,` +
				`"start_time":"2026-01-15T10:30:00.123456+00:00","end_time":"2026-01-15T10:30:05.323456+00:00",` +
				`"duration":5.2,"worker_id":"worker_001","queue_name":"default","retry_count":0,` +
				`"function_name":"my_task","args":[1,2,3],"kwargs":{"key":"value"},` +
				`"created_at":"2026-01-15T10:29:59.500000+00:00","expires_at":"2026-01-16T10:30:05.323456+00:00",` +
				`"job_try":1,"module":"email","module_version":"sha256:ab","outcome":"success"}`,
		},
		{
			name: "retrying",
			rec: Record{
				JobID:        "j2",
				Status:       StatusRetrying,
				Error:        FormatError("ConnectionError", "refused <html> & more"),
				StartTime:    utc("2026-01-15T10:30:00Z"),
				EndTime:      utc("2026-01-15T10:30:00.25Z"),
				Duration:     ptr(0.25),
				WorkerID:     "w",
				QueueName:    "q",
				RetryCount:   1,
				FunctionName: "f",
				CreatedAt:    time.Date(2026, 1, 15, 10, 29, 0, 0, time.UTC),
				JobTry:       2,
				Outcome:      "guest_error",
				ErrorKind:    "retriable",
				ErrorType:    "ConnectionError",
				ErrorMessage: "refused <html> & more",
				NextTryAt:    utc("2026-01-15T10:30:05Z"),
			},
			want: `{"job_id":"j2","status":"retrying","result":null,"error":"ConnectionError: refused <html> & more",` +
				`"start_time":"2026-01-15T10:30:00.000000+00:00","end_time":"2026-01-15T10:30:00.250000+00:00",` +
				`"duration":0.25,"worker_id":"w","queue_name":"q","retry_count":1,"function_name":"f",` +
				`"args":[],"kwargs":{},"created_at":"2026-01-15T10:29:00.000000+00:00","expires_at":null,` +
				`"job_try":2,"outcome":"guest_error","error_kind":"retriable","error_type":"ConnectionError",` +
				`"error_message":"refused <html> & more","next_try_at":"2026-01-15T10:30:05.000000+00:00"}`,
		},
		{
			name: "minimal",
			rec:  Record{JobID: "j3", Status: StatusQueued},
			want: `{"job_id":"j3","status":"queued","result":null,"error":null,"start_time":null,` +
				`"end_time":null,"duration":null,"worker_id":null,"queue_name":"","retry_count":0,` +
				`"function_name":"","args":[],"kwargs":{},"created_at":null,"expires_at":null}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rec.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("marshal:\n got %s\nwant %s", got, tc.want)
			}
			keys := topLevelKeys(t, got)
			if !reflect.DeepEqual(keys[:len(originalFields)], originalFields) {
				t.Fatalf("field order %v, want %v first", keys, originalFields)
			}
			// json.Marshal goes through MarshalJSON too (it re-escapes HTML, which is still JSON).
			if _, err := json.Marshal(tc.rec); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 8, 0, 0, 987654321, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	next := end.Add(time.Minute)
	exp := end.Add(24 * time.Hour)
	in := Record{
		JobID: "rt", Status: StatusFailed, Result: json.RawMessage(`[{"a":null}]`),
		Error: ptr("ValueError: bad"), StartTime: &start, EndTime: &end, Duration: ptr(1.5),
		WorkerID: "w1", QueueName: "q", RetryCount: 2, FunctionName: "f",
		Args: json.RawMessage(`["x"]`), Kwargs: json.RawMessage(`{"k":[1]}`), CreatedAt: start,
		ExpiresAt: &exp, JobTry: 3, Module: "m", ModuleVersion: "v", Outcome: "trap",
		ErrorKind: "non_retriable", ErrorType: "ValueError", ErrorMessage: "bad", NextTryAt: &next,
	}
	data, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out Record
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	// Timestamps keep microseconds.
	trunc := func(p *time.Time) *time.Time { v := p.Truncate(time.Microsecond).UTC(); return &v }
	want := in
	want.StartTime, want.EndTime, want.ExpiresAt, want.NextTryAt = trunc(in.StartTime), trunc(in.EndTime), trunc(in.ExpiresAt), trunc(in.NextTryAt)
	want.CreatedAt = *trunc(&in.CreatedAt)
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, want)
	}
	again, err := out.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("second marshal differs:\n%s\n%s", again, data)
	}
}

// A record as the Python library writes it: json.dumps separators, "Z" and naive timestamps,
// no job_try, and a field arqhost does not know.
func TestRecordUnmarshalPython(t *testing.T) {
	t.Parallel()
	py := `{"job_id": "abc", "status": "failed", "result": null, "error": "ValueError: nope",
		"start_time": "2025-01-15T10:30:00Z", "end_time": "2025-01-15T10:30:05.2",
		"duration": 5.2, "worker_id": null, "queue_name": "default", "retry_count": 2,
		"function_name": "my_task", "args": [1, 2], "kwargs": {"k": "v"},
		"created_at": "2025-01-15 10:29:00.5+01:00", "expires_at": null, "future_field": {"x": 1}}`
	var r Record
	if err := json.Unmarshal([]byte(py), &r); err != nil {
		t.Fatal(err)
	}
	if r.JobID != "abc" || r.Status != StatusFailed || r.Result != nil || r.Error == nil || *r.Error != "ValueError: nope" {
		t.Fatalf("bad record %+v", r)
	}
	if r.RetryCount != 2 || r.JobTry != 3 {
		t.Fatalf("retry_count %d job_try %d, want 2 and 3", r.RetryCount, r.JobTry)
	}
	if !r.StartTime.Equal(time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)) ||
		!r.EndTime.Equal(time.Date(2025, 1, 15, 10, 30, 5, 200000000, time.UTC)) ||
		!r.CreatedAt.Equal(time.Date(2025, 1, 15, 9, 29, 0, 500000000, time.UTC)) {
		t.Fatalf("timestamps %v %v %v", r.StartTime, r.EndTime, r.CreatedAt)
	}
	if r.WorkerID != "" || r.ExpiresAt != nil || string(r.Args) != "[1, 2]" || string(r.Kwargs) != `{"k": "v"}` {
		t.Fatalf("bad record %+v", r)
	}

	// A non-string error is kept as its JSON text; a missing job_id is an error.
	if err := json.Unmarshal([]byte(`{"job_id":"x","status":"failed","error":{"type":"E"}}`), &r); err != nil || *r.Error != `{"type":"E"}` {
		t.Fatalf("object error: %v %v", err, r.Error)
	}
	if err := json.Unmarshal([]byte(`{"status":"queued"}`), &r); err == nil {
		t.Fatal("record without job_id accepted")
	}
	if err := json.Unmarshal([]byte(`{"job_id":"x","start_time":"yesterday"}`), &r); err == nil {
		t.Fatal("bad timestamp accepted")
	}
}

func TestRecordMarshalRejectsBadJSON(t *testing.T) {
	t.Parallel()
	for _, r := range []Record{
		{JobID: "a", Status: StatusQueued, Result: json.RawMessage(`{`)},
		{JobID: "a", Status: StatusQueued, Args: json.RawMessage(`{"not":"array"}`)},
		{JobID: "a", Status: StatusQueued, Kwargs: json.RawMessage(`[1]`)},
	} {
		if _, err := r.MarshalJSON(); err == nil {
			t.Errorf("%+v marshalled", r)
		}
	}
	// NaN duration is written as null rather than failing.
	nan := Record{JobID: "a", Status: StatusQueued, Duration: ptr(0.0)}
	*nan.Duration = *nan.Duration / *nan.Duration
	data, err := nan.MarshalJSON()
	if err != nil || !strings.Contains(string(data), `"duration":null`) {
		t.Fatalf("NaN duration: %s %v", data, err)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"2026-01-15T10:30:00.123456+00:00": base.Add(123456 * time.Microsecond),
		"2026-01-15T10:30:00+00:00":        base,
		"2026-01-15T10:30:00Z":             base,
		"2026-01-15T10:30:00.5Z":           base.Add(500 * time.Millisecond),
		"2026-01-15T12:30:00+02:00":        base,
		"2026-01-15T05:30:00.000001-05:00": base.Add(time.Microsecond),
		"2026-01-15T12:30:00+0200":         base,
		"2026-01-15T10:30:00":              base,
		"2026-01-15T10:30:00.123456":       base.Add(123456 * time.Microsecond),
		"2026-01-15 10:30:00.25":           base.Add(250 * time.Millisecond),
		" 2026-01-15T10:30:00Z ":           base,
	}
	for in, want := range cases {
		got, err := ParseTime(in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-01-15", "2026-13-01T00:00:00Z", "10:30:00"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
	if got := FormatTime(time.Date(2026, 1, 15, 11, 30, 0, 1500, time.FixedZone("X", 3600))); got != "2026-01-15T10:30:00.000001+00:00" {
		t.Errorf("FormatTime = %s", got)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for _, st := range []Status{StatusQueued, StatusInProgress, StatusRetrying} {
		if st.Terminal() || !st.Valid() {
			t.Errorf("%s: terminal %v valid %v", st, st.Terminal(), st.Valid())
		}
	}
	for _, st := range []Status{StatusCompleted, StatusFailed, StatusAborted} {
		if !st.Terminal() || !st.Valid() {
			t.Errorf("%s: terminal %v valid %v", st, st.Terminal(), st.Valid())
		}
	}
	if Status("done").Valid() || Status("").Valid() || Status("done").Terminal() {
		t.Error("unknown status accepted")
	}
	if !(StatusQueued.rank() < StatusInProgress.rank() && StatusInProgress.rank() < StatusRetrying.rank() &&
		StatusRetrying.rank() < StatusCompleted.rank()) {
		t.Error("rank order")
	}
	if *FormatError("ValueError", "bad") != "ValueError: bad" || *FormatError("Timeout", "") != "Timeout" {
		t.Error("FormatError")
	}
}

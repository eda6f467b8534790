package wire

import (
	"testing"
	"time"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts re-encodes to a body
// that decodes to the same job and re-encodes to the same bytes. Seeds: the f.Add calls below
// and testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(golden))
	f.Add([]byte(pythonBody))
	f.Add([]byte(`{"job_id":"a","function":"f"}`))
	f.Add([]byte(`{"job_id":"\ud800","function":"f","args":["\udc00\ud83d\ude00"],"kwargs":{"k":{"":[]}}}`))
	f.Add([]byte(`{"job_id":"a","function":"f","enqueue_time":"2026-01-15T10:30:00.123456789-23:59","expires":"0001-01-01T00:00:00+05:00"}`))
	f.Add([]byte(`{"job_id":"a","function":"f","job_try":9223372036854775807}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		j, err := Decode(body)
		if err != nil {
			if j != nil {
				t.Fatalf("Decode returned a job with an error: %v", err)
			}
			return
		}
		b, err := j.Encode()
		if err != nil {
			t.Fatalf("a decoded job does not encode: %v", err)
		}
		j2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v\n%s", err, b)
		}
		if j2.ID != j.ID || j2.Function != j.Function || j2.Try != j.Try || j2.Queue != j.Queue {
			t.Fatalf("round trip changed the job: %+v -> %+v", j, j2)
		}
		for _, p := range [][2]time.Time{{j.EnqueueTime, j2.EnqueueTime}, {j.DeferUntil, j2.DeferUntil}, {j.Expires, j2.Expires}} {
			if !p[0].Truncate(time.Microsecond).Equal(p[1]) {
				t.Fatalf("round trip changed a time: %v -> %v", p[0], p[1])
			}
		}
		if b2 := j2.Body(); string(b2) != string(b) {
			t.Fatalf("Body is not stable:\n%s\n%s", b, b2)
		}
	})
}

package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	arq "github.com/arqhost/arqhost/sdk/go"
)

// run runs a job natively and decodes its output.
func run(t *testing.T, function string, try int, args, kwargs string) (result json.RawMessage, jobErr map[string]any) {
	t.Helper()
	input := fmt.Sprintf(`{"job_id":"j1","function":%q,"job_try":%d,"enqueue_time":"2026-01-15T10:30:00Z",`+
		`"queue_name":"arq:queue","worker_id":"w1","args":%s,"kwargs":%s}`, function, try, args, kwargs)
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  map[string]any  `json:"error"`
	}
	if err := json.Unmarshal(arq.Invoke([]byte(input)), &out); err != nil {
		t.Fatal(err)
	}
	return out.Result, out.Error
}

func TestSendEmail(t *testing.T) {
	res, jobErr := run(t, "send_email", 1, `["ann@example.com"]`, `{"subject":"hi","body":"hello"}`)
	if jobErr != nil {
		t.Fatalf("error %v", jobErr)
	}
	var sent Sent
	if err := json.Unmarshal(res, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.To != "ann@example.com" || sent.Subject != "hi" {
		t.Errorf("result %s", res)
	}
	if at, err := time.Parse(time.RFC3339, sent.SentAt); err != nil || time.Since(at) > time.Minute {
		t.Errorf("sent_at %q", sent.SentAt)
	}
}

func TestSendEmailRetries(t *testing.T) {
	for try := 1; try <= 3; try++ {
		_, jobErr := run(t, "send_email", try, `["fail@example.com","hi","hello"]`, `{}`)
		switch {
		case try <= 2 && (jobErr == nil || jobErr["kind"] != "retry" || jobErr["retry_after_ms"] != 5000.0):
			t.Errorf("try %d: error %v, want a retry after 5000 ms", try, jobErr)
		case try > 2 && jobErr != nil:
			t.Errorf("try %d: error %v, want success", try, jobErr)
		}
	}
}

func TestNoopAndEcho(t *testing.T) {
	if res, jobErr := run(t, "noop", 1, `[]`, `{}`); jobErr != nil || string(res) != "null" {
		t.Errorf("noop: %s %v", res, jobErr)
	}
	if res, jobErr := run(t, "echo", 1, `[]`, `{"value":{"a":[1,"b",null]}}`); jobErr != nil || string(res) != `{"a":[1,"b",null]}` {
		t.Errorf("echo: %s %v", res, jobErr)
	}
}

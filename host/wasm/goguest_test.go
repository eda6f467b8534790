package wasm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arqhost/arqhost/abi"
)

func TestGoGuestTasks(t *testing.T) {
	t.Parallel()
	e, logs := newEngine(t, Config{})
	email := load(t, e, example(t, "email"), Limits{})
	data := load(t, e, example(t, "data"), Limits{})
	if got := strings.Join(email.Tasks(), ","); got != "send_email,noop,echo" {
		t.Fatalf("email tasks: %s", got)
	}

	in := job("send_email", `["ann@example.com"]`, `{"subject":"hi","body":"hello"}`)
	in.JobID = "job-ok"
	o := email.Invoke(context.Background(), in)
	if o.Kind != Success || !strings.Contains(string(o.Result), `"to":"ann@example.com"`) {
		t.Fatalf("send_email: %s %s %+v", o.Kind, o.Result, o.Error)
	}
	if !strings.Contains(logs.String(), `"msg":"sending email","origin":"guest","job_id":"job-ok","task":"send_email","module":"email"`) {
		t.Fatalf("guest log record missing or untagged:\n%s", logs.String())
	}

	// The seed README's retry: an address with "fail" asks for a retry in 5 s on tries 1 and 2.
	for try, want := range map[int]Kind{1: GuestError, 2: GuestError, 3: Success} {
		in := job("send_email", `["fail@example.com","s","b"]`, `{}`)
		in.JobTry = try
		o := email.Invoke(context.Background(), in)
		if o.Kind != want {
			t.Fatalf("try %d: %s, want %s", try, o.Kind, want)
		}
		if want == GuestError && (o.Error.Kind != abi.KindRetry || o.Error.RetryAfterMs != 5000) {
			t.Fatalf("try %d: %+v, want retry after 5000 ms", try, o.Error)
		}
	}

	o = email.Invoke(context.Background(), job("send_email", `["a","b","c","d"]`, `{}`))
	if o.Kind != GuestError || o.Error.Kind != abi.KindPermanent || o.Error.Type != "TypeError" ||
		!strings.Contains(o.Error.Message, "takes 3 arguments but 4 were given") {
		t.Fatalf("bad arguments: %s %+v", o.Kind, o.Error)
	}

	o = data.Invoke(context.Background(), job("process_data", `[{"a":1,"b":2}]`, `{}`))
	var res struct {
		Processed bool `json:"processed"`
		Count     int  `json:"count"`
	}
	if o.Kind != Success || json.Unmarshal(o.Result, &res) != nil || !res.Processed || res.Count != 2 {
		t.Fatalf("process_data: %s %s", o.Kind, o.Result)
	}
}

func TestGoGuestMisbehaviour(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	h := load(t, e, fixture(t, "hostile"), Limits{Timeout: 500 * time.Millisecond})
	small := load(t, e, fixture(t, "hostile"), Limits{MemoryPages: 1024, Timeout: time.Minute})
	o := small.Invoke(context.Background(), job("hoard", `[200]`, `{}`))
	if o.Kind != LimitExceeded || o.Reason != "memory" || !strings.Contains(o.Detail, "64 MiB") || !strings.Contains(o.Detail, "out of memory") {
		t.Errorf("hoard: %s %q %q", o.Kind, o.Reason, clip(o.Detail, 300))
	}
	cases := []struct {
		task, args string
		kind       Kind
		reason     string
		detail     string
	}{
		{"spin", `[]`, Timeout, "time limit", ""},
		{"sleep", `["1h"]`, Timeout, "time limit", ""},
		{"crash", `[]`, Trap, "exit code 3", "hostile: about to crash"},
	}
	for _, c := range cases {
		start := time.Now()
		o := h.Invoke(context.Background(), job(c.task, c.args, `{}`))
		if o.Kind != c.kind || !strings.Contains(o.Reason, c.reason) || !strings.Contains(o.Detail, c.detail) {
			t.Errorf("%s: %s %q %q, want %s %q %q", c.task, o.Kind, o.Reason, o.Detail, c.kind, c.reason, c.detail)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: took %s", c.task, took)
		}
		if strings.Contains(o.Detail, "abandoned") {
			t.Errorf("%s: the guest was not stopped, only abandoned: %s", c.task, o.Detail)
		}
	}
	o = h.Invoke(context.Background(), job("panic", `[]`, `{}`))
	if o.Kind != GuestError || o.Error.Type != "Panic" {
		t.Errorf("panic: %s %+v", o.Kind, o.Error)
	}
	o = h.Invoke(context.Background(), job("sleep", `["10ms"]`, `{}`))
	if o.Kind != Success || string(o.Result) != `"slept 10ms"` {
		t.Errorf("short sleep: %s %s %s", o.Kind, o.Reason, o.Result)
	}
}

func TestGoGuestSandbox(t *testing.T) {
	t.Setenv("ARQHOST_SECRET", "hunter2")
	e, _ := newEngine(t, Config{})
	h := load(t, e, fixture(t, "hostile"), Limits{})
	o := h.Invoke(context.Background(), job("escape", `[]`, `{}`))
	if o.Kind != Success {
		t.Fatalf("escape: %s %s", o.Kind, o.Reason)
	}
	var got struct {
		ReadFile   string   `json:"read_file"`
		ReadDir    string   `json:"read_dir"`
		WriteFile  string   `json:"write_file"`
		Dial       string   `json:"dial"`
		DirEntries int      `json:"dir_entries"`
		Env        []string `json:"env"`
		Args       int      `json:"args"`
		Home       string   `json:"home"`
	}
	if err := json.Unmarshal(o.Result, &got); err != nil {
		t.Fatal(err)
	}
	if got.ReadFile == "" || got.ReadDir == "" || got.WriteFile == "" || got.Dial == "" || got.DirEntries != 0 || len(got.Env) != 0 || got.Home != "" || got.Args != 0 {
		t.Fatalf("the guest reached the host: %+v", got)
	}
	if strings.Contains(string(o.Result), "hunter2") {
		t.Fatal("host environment leaked into the guest")
	}
}

func TestMemoryLimitBelowModuleMinimumIsRefused(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, Config{})
	_, err := e.LoadFile(context.Background(), example(t, "email"), Limits{MemoryPages: 2})
	if err == nil || !strings.Contains(err.Error(), "needs at least") || !strings.Contains(err.Error(), "email.wasm") {
		t.Fatalf("got %v", err)
	}
}

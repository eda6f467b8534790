package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/wire"
)

const (
	badinputAMQPURL  = "amqp://guest:guest@127.0.0.1:5672/"
	badinputRedisURL = "redis://127.0.0.1:6379/0"
	badinputCaseHdr  = "x-badinput-case" // a header of our own, which the DLQ copy must keep
	badinputDLQWait  = 30 * time.Second  // how long the DLQ may take to receive every bad message
	badinputJobsWait = 60 * time.Second  // how long the good jobs may take to complete
)

// badCase is one message a producer should never have sent, and what the worker must say about it
// in the dead-letter copy's headers.
type badCase struct {
	name    string
	body    []byte
	errType string   // x-error-type
	outcome string   // x-arqhost-outcome
	message []string // substrings of x-error-message
	reason  []string // substrings of x-arqhost-reason
	jobID   string   // a well-formed job: its record must read failed
}

// TestMalformedMessagesGoToTheDLQ publishes every kind of bad message a producer might send,
// between good jobs, to one worker: each bad one must land in the DLQ with its original bytes and
// headers that say what was wrong, and every good job must complete.
func TestMalformedMessagesGoToTheDLQ(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx := context.Background()

	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	id := "arqrel-badinput-" + hex.EncodeToString(rnd[:])
	queue, prefix := id, id
	t.Cleanup(func() { badinputCleanup(t, queue, prefix) })

	// The modules: a private copy of the Go example module email.wasm.
	src := os.Getenv("ARQHOST_EXAMPLES")
	if src == "" {
		src = filepath.Join("..", "build", "examples")
	}
	wasmBytes, err := os.ReadFile(filepath.Join(src, "email.wasm"))
	if err != nil {
		t.Fatalf("%v: run `make modules` first", err)
	}
	modules := t.TempDir()
	if err := os.WriteFile(filepath.Join(modules, "email.wasm"), wasmBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	// The worker. Argument errors and unknown tasks are dead-lettered at once by the default
	// policy; the short backoff only keeps the test short if one were retried (it would then show
	// as x-arqhost-tries > 1).
	logs := &syncBuffer{}
	retry := host.DefaultRetryPolicy()
	retry.Backoff, retry.MaxBackoff = 100*time.Millisecond, time.Second
	w, err := host.New(ctx, host.Config{
		RabbitMQURL: badinputAMQPURL, RedisURL: badinputRedisURL, KeyPrefix: prefix,
		Queues: []string{queue}, Modules: modules, Concurrency: 4, Retry: retry,
		JobTimeout: 30 * time.Second, ShutdownGrace: 5 * time.Second,
		CacheDir: filepath.Join(os.TempDir(), "arqhost-test-cache"),
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil { // New declared the topology; Start consumes
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", badinputClipLog(logs.String(), 20000))
		}
	})

	c, err := client.New(ctx, client.Config{RabbitMQURL: badinputAMQPURL, RedisURL: badinputRedisURL, KeyPrefix: prefix, Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	cases := badinputCases(queue)

	// A publisher of raw bodies: the default exchange, routing key = queue, persistent, confirmed.
	conn, err := amqp.Dial(badinputAMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := pch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	publish := func(i int, bc badCase) {
		t.Helper()
		dc, err := pch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, MessageId: badinputMsgID(i), Body: bc.body,
			Headers: amqp.Table{badinputCaseHdr: bc.name},
		})
		if err != nil {
			t.Fatalf("publish %s: %v", bc.name, err)
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if ok, err := dc.WaitContext(cctx); err != nil || !ok {
			t.Fatalf("publish %s: not confirmed by the broker (ok %v, err %v)", bc.name, ok, err)
		}
	}

	// Good jobs before, between and after the bad ones: noop, and one valid echo job whose body is
	// over 4 MiB (it must complete and return its argument unchanged).
	big := strings.Repeat("0123456789abcdef", 4<<20/16)
	var good []*client.Job
	enqueue := func(task string, opts ...client.Option) {
		t.Helper()
		j, err := c.Enqueue(ctx, task, opts...)
		if err != nil {
			t.Fatalf("enqueue %s: %v", task, err)
		}
		good = append(good, j)
	}
	enqueue("noop")
	for i, bc := range cases {
		publish(i, bc)
		if i%4 == 3 {
			enqueue("noop")
		}
		if i == len(cases)/2 {
			enqueue("echo", client.Args{big})
		}
	}
	enqueue("noop")
	enqueued := len(cases) + len(good)

	var problems []string
	fail := func(format string, a ...any) {
		problems = append(problems, fmt.Sprintf(format, a...))
	}

	// Every good job completes: the worker kept serving through the bad input.
	completed := 0
	wctx, cancel := context.WithTimeout(ctx, badinputJobsWait)
	defer cancel()
	for _, j := range good {
		res, err := j.Wait(wctx)
		switch {
		case res == nil:
			fail("good job %s (%s) has no result: %v", j.ID, j.Function, err)
		case res.Status != client.StatusCompleted:
			fail("good job %s (%s) is %s: %v", j.ID, j.Function, res.Status, err)
		default:
			completed++
			if j.Function == "echo" {
				var got string
				if err := json.Unmarshal(res.Result, &got); err != nil || got != big {
					fail("the 4 MiB echo job returned %d bytes that are not its argument (%v)", len(res.Result), err)
				}
			}
		}
	}

	// Every bad message arrives in the DLQ, once.
	dlq := broker.NamesFor(queue, broker.QueueOptions{}).DLQ
	gch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	found := make(map[int]amqp.Delivery, len(cases))
	var extra []string
	deadline := time.Now().Add(badinputDLQWait)
	for len(found) < len(cases) && time.Now().Before(deadline) {
		m, ok, err := gch.Get(dlq, true)
		if err != nil {
			t.Fatalf("basic.get on %s: %v", dlq, err)
		}
		if !ok {
			time.Sleep(50 * time.Millisecond) // polling interval, not a measurement
			continue
		}
		i := badinputIndex(m.MessageId, len(cases))
		if _, dup := found[i]; i < 0 || dup {
			extra = append(extra, fmt.Sprintf("%q (headers %v, %d bytes)", m.MessageId, m.Headers[badinputCaseHdr], len(m.Body)))
			continue
		}
		found[i] = m
	}
	// Anything else already there (a good job dead-lettered, a copy made twice) is a failure too.
	for {
		m, ok, err := gch.Get(dlq, true)
		if err != nil || !ok {
			break
		}
		extra = append(extra, fmt.Sprintf("%q (headers %v, %d bytes)", m.MessageId, m.Headers[badinputCaseHdr], len(m.Body)))
	}
	for _, e := range extra {
		fail("unexpected message in the DLQ: %s", e)
	}

	for i, bc := range cases {
		m, ok := found[i]
		if !ok {
			fail("%s: not in the DLQ after %s", bc.name, badinputDLQWait)
			continue
		}
		for _, p := range badinputCheck(bc, m) {
			fail("%s: %s", bc.name, p)
		}
		if bc.jobID != "" {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			res, _ := c.Job(bc.jobID).Wait(rctx)
			cancel()
			if res == nil || res.Status != client.StatusFailed || res.ErrorType != bc.errType {
				fail("%s: record %+v, want status failed with error type %s", bc.name, res, bc.errType)
			}
		}
	}
	for _, p := range problems {
		t.Error(p)
	}

	names := make([]string, len(cases))
	for i, bc := range cases {
		names[i] = bc.name
	}
	record(t, row{
		Area: "bad input", Scenario: "malformed and ill-typed messages go to the DLQ",
		Enqueued: enqueued, Completed: completed, DLQ: len(found),
		Lost: enqueued - completed - len(found),
		Notes: fmt.Sprintf("%d bad messages, %d kinds: %s; each in the DLQ with its original bytes, x-error-type, "+
			"x-error-message and x-arqhost-reason saying what was wrong; the 4 MiB malformed body (job_id missing) is "+
			"dead-lettered, and a valid 4 MiB echo job completes among %d good jobs; argument errors and unknown tasks "+
			"are dead-lettered on their first try by the default policy (backoff shortened to 100 ms, never used)",
			len(cases), badinputKinds, strings.Join(names, ", "), len(good)),
		Pass: len(problems) == 0 && completed == len(good) && len(found) == len(cases),
		Took: time.Since(start),
	})
}

// badinputKinds counts the kinds of bad message: the two job_try cases are one kind, and so are the
// two wrong argument counts of echo.
const badinputKinds = 17

// badinputCases returns the bad messages, in the order they are published.
func badinputCases(queue string) []badCase {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	id := func(what string) string { return "badinput-" + what + "-" + tag }
	raw := func(s string) []byte { return []byte(s) }
	malformed := func(name string, body []byte, want ...string) badCase {
		return badCase{name: name, body: body, errType: "MalformedMessage", outcome: "malformed", message: want, reason: want}
	}
	wellFormed := func(name, function, args, errType, outcome string, message, reason []string) badCase {
		j := wire.NewJob(function, queue, json.RawMessage(args), nil)
		j.ID = id(strings.ReplaceAll(name, " ", "-"))
		return badCase{name: name, body: j.Body(), errType: errType, outcome: outcome, message: message, reason: reason, jobID: j.ID}
	}
	tail := `, "job_try": 1, "enqueue_time": "2026-01-15T10:30:00.123456+00:00", "queue_name": "` + queue + `"}`

	// 4 MiB of a valid JSON body whose job has no job_id.
	var huge bytes.Buffer
	huge.WriteString(`{"function": "echo", "args": ["`)
	huge.WriteString(strings.Repeat("x", 4<<20))
	huge.WriteString(`"], "kwargs": {}` + tail)
	// Arrays nested 100,000 deep inside args: valid JSON, far beyond any parser's depth limit.
	var deep bytes.Buffer
	deep.WriteString(`{"job_id": "` + id("deep") + `", "function": "echo", "args": [`)
	deep.WriteString(strings.Repeat("[", 100_000))
	deep.WriteString(strings.Repeat("]", 100_000))
	deep.WriteString(`], "kwargs": {}` + tail)

	return []badCase{
		malformed("not JSON", raw("this is { not JSON at all"), "not valid JSON"),
		malformed("JSON array", raw(`[{"job_id": "`+id("array")+`", "function": "noop", "args": [], "kwargs": {}}]`), "JSON array, not an object"),
		malformed("JSON string", raw(`"noop"`), "JSON string, not an object"),
		malformed("job_id a number", raw(`{"job_id": 12345, "function": "noop", "args": [], "kwargs": {}`+tail), "job_id must be a string", "number"),
		malformed("function missing", raw(`{"job_id": "`+id("nofunction")+`", "args": [], "kwargs": {}`+tail), "function is missing"),
		malformed("job_id missing", raw(`{"function": "noop", "args": [], "kwargs": {}`+tail), "job_id is missing"),
		malformed("empty function", raw(`{"job_id": "`+id("emptyfunction")+`", "function": "", "args": [], "kwargs": {}`+tail), "function is empty"),
		malformed("args an object", raw(`{"job_id": "`+id("argsobject")+`", "function": "echo", "args": {"value": 1}, "kwargs": {}`+tail), "args must be an array", "object"),
		malformed("kwargs an array", raw(`{"job_id": "`+id("kwargsarray")+`", "function": "echo", "args": [], "kwargs": [1]`+tail), "kwargs must be an object", "array"),
		malformed(`job_try "2"`, raw(`{"job_id": "`+id("trystring")+`", "function": "noop", "args": [], "kwargs": {}, "job_try": "2"}`), "job_try must be a positive integer", `"2"`),
		malformed("job_try -1", raw(`{"job_id": "`+id("trynegative")+`", "function": "noop", "args": [], "kwargs": {}, "job_try": -1}`), "job_try must be a positive integer", "-1"),
		malformed("4 MiB body without job_id", huge.Bytes(), "job_id is missing"),
		malformed("args nested 100,000 deep", deep.Bytes(), "nests arrays or objects more than 10000 levels deep"),
		malformed("invalid UTF-8", raw(`{"job_id": "`+id("utf8")+`", "function": "echo", "args": ["caf`+"\xe9\xff\xfe"+`"], "kwargs": {}`+tail), "not valid UTF-8"),
		wellFormed("unknown task", "no_such_task_"+tag, `[]`, "UnknownTask", "unknown_task",
			[]string{"no_such_task_" + tag}, []string{"no module", "no_such_task_" + tag, "not retried"}),
		wellFormed("echo()", "echo", `[]`, "TypeError", "guest_error",
			[]string{"echo()", "missing required argument", `"value"`}, []string{"permanent"}),
		wellFormed("echo(1, 2, 3)", "echo", `[1, 2, 3]`, "TypeError", "guest_error",
			[]string{"echo()", "takes 1 argument but 3 were given"}, []string{"permanent"}),
		wellFormed("send_email(1, 2, 3)", "send_email", `[1, 2, 3]`, "TypeError", "guest_error",
			[]string{"send_email()", `"to"`, "expected string, got number"}, []string{"permanent"}),
		malformed("zero-length body", nil, "body is empty"),
	}
}

// badinputCheck lists what is wrong with a bad message's DLQ copy.
func badinputCheck(bc badCase, m amqp.Delivery) []string {
	var p []string
	if !bytes.Equal(m.Body, bc.body) {
		p = append(p, fmt.Sprintf("the DLQ copy's body (%d bytes) is not the original (%d bytes)", len(m.Body), len(bc.body)))
	}
	str := func(k string) string { s, _ := m.Headers[k].(string); return s }
	if got := str(badinputCaseHdr); got != bc.name {
		p = append(p, fmt.Sprintf("the original header %s is %q, want %q", badinputCaseHdr, got, bc.name))
	}
	if got := str(wire.HeaderErrorType); got != bc.errType {
		p = append(p, fmt.Sprintf("%s = %q, want %q", wire.HeaderErrorType, got, bc.errType))
	}
	if got := str(wire.HeaderOutcome); got != bc.outcome {
		p = append(p, fmt.Sprintf("%s = %q, want %q", wire.HeaderOutcome, got, bc.outcome))
	}
	if got := str(wire.HeaderErrorCategory); got != wire.CategoryNonRetriable {
		p = append(p, fmt.Sprintf("%s = %q, want %q", wire.HeaderErrorCategory, got, wire.CategoryNonRetriable))
	}
	if str(wire.HeaderFailedAt) == "" || str(wire.HeaderWorker) == "" {
		p = append(p, fmt.Sprintf("%s or %s missing: %v", wire.HeaderFailedAt, wire.HeaderWorker, m.Headers))
	}
	for _, h := range []struct {
		key  string
		want []string
	}{{wire.HeaderErrorMessage, bc.message}, {wire.HeaderReason, bc.reason}} {
		got := str(h.key)
		for _, w := range h.want {
			if !strings.Contains(got, w) {
				p = append(p, fmt.Sprintf("%s %q does not mention %q", h.key, got, w))
			}
		}
	}
	if bc.jobID != "" {
		if got := str(wire.HeaderJobID); got != bc.jobID {
			p = append(p, fmt.Sprintf("%s = %q, want %q", wire.HeaderJobID, got, bc.jobID))
		}
		if got := m.Headers[wire.HeaderTries]; got != int64(1) {
			p = append(p, fmt.Sprintf("%s = %v, want 1 (dead-lettered on its first try)", wire.HeaderTries, got))
		}
	}
	return p
}

func badinputMsgID(i int) string { return fmt.Sprintf("badinput-%02d", i) }

// badinputIndex is the case number of a DLQ copy's message id, or -1.
func badinputIndex(msgID string, n int) int {
	for i := 0; i < n; i++ {
		if msgID == badinputMsgID(i) {
			return i
		}
	}
	return -1
}

// badinputCleanup deletes the queue's topology and the prefix's keys.
func badinputCleanup(t *testing.T, queue, prefix string) {
	ctx := context.Background()
	if conn, err := broker.Dial(ctx, badinputAMQPURL, broker.DialOptions{}); err == nil {
		if ch, err := conn.Channel(); err == nil {
			if err := broker.DeleteAll(ch, queue, broker.QueueOptions{}); err != nil {
				t.Logf("cleanup: %v", err)
			}
			_ = ch.Close()
		}
		_ = conn.Close()
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

func badinputClipLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

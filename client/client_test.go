package client_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/wire"
)

const amqpURL = "amqp://guest:guest@127.0.0.1:5672/"

func setup(t *testing.T) (*client.Client, string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	q := "arqtest.client." + hex.EncodeToString(b[:])
	c, err := client.New(context.Background(), client.Config{RabbitMQURL: amqpURL, RedisURL: "redis://127.0.0.1:6379/0",
		KeyPrefix: "arqtest:" + q, Queue: q, ResultTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		conn, err := amqp.Dial(amqpURL)
		if err != nil {
			return
		}
		defer conn.Close()
		if ch, err := conn.Channel(); err == nil {
			_ = broker.DeleteAll(ch, q, broker.QueueOptions{})
		}
	})
	return c, q
}

func get(t *testing.T, queue string) amqp.Delivery {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		m, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no message")
	return amqp.Delivery{}
}

func TestEnqueuePublishesCompatibleDurableMessage(t *testing.T) {
	t.Parallel()
	c, q := setup(t)
	j, err := c.Enqueue(context.Background(), "send_email", client.Args{"ann@example.com"}, client.Kwargs{"subject": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(j.ID) {
		t.Fatalf("job id %q is not a uuid4 hex", j.ID)
	}
	m := get(t, q)
	if m.DeliveryMode != amqp.Persistent || m.MessageId != j.ID || m.ContentType != "application/json" {
		t.Fatalf("properties: mode %d id %q type %q", m.DeliveryMode, m.MessageId, m.ContentType)
	}
	if n, ok := wire.RetryCount(m.Headers); !ok || n != 0 {
		t.Fatalf("x-retry-count %v", m.Headers)
	}
	body := string(m.Body)
	for _, want := range []string{`"job_id": "` + j.ID + `"`, `"function": "send_email"`, `"args": ["ann@example.com"]`,
		`"kwargs": {"subject": "hi"}`, `"job_try": 1`, `"status": "queued"`, `"queue_name": "` + q + `"`, `"defer_until": null`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	st, err := j.Status(context.Background())
	if err != nil || st != client.StatusQueued {
		t.Fatalf("status %s %v", st, err)
	}
}

func TestDeferredJobCarriesDeferUntilAndLaterExpiry(t *testing.T) {
	t.Parallel()
	c, q := setup(t)
	before := time.Now()
	j, err := c.Enqueue(context.Background(), "noop", client.Delay(200*time.Millisecond), client.Expires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := get(t, q)
	if time.Since(before) < 200*time.Millisecond {
		t.Fatal("a delayed job arrived early")
	}
	job, err := wire.Decode(m.Body)
	if err != nil || job.ID != j.ID {
		t.Fatal(err)
	}
	if d := job.DeferUntil.Sub(before); d < 199*time.Millisecond || d > time.Second { // microsecond precision on the wire
		t.Fatalf("defer_until %s after enqueue", d)
	}
	if d := job.Expires.Sub(job.DeferUntil); d != time.Hour {
		t.Fatalf("expiry counts from when the job is due: %s", d)
	}
}

// A nil Args or Kwargs means none ([] and {}), not null.
func TestNilArgsAndKwargs(t *testing.T) {
	t.Parallel()
	c, queue := setup(t)
	var args client.Args
	var kwargs client.Kwargs
	if _, err := c.Enqueue(context.Background(), "t", args, kwargs); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueBatch(context.Background(), []client.Request{{Task: "t", Options: []client.Option{args, kwargs}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		d := get(t, queue)
		if !strings.Contains(string(d.Body), `"args": []`) || !strings.Contains(string(d.Body), `"kwargs": {}`) {
			t.Fatalf("body %s", d.Body)
		}
	}
}

func TestBadOptionsAreClearErrors(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	for _, tc := range []struct {
		task string
		opts []client.Option
		want string
	}{
		{"", nil, "empty task name"},
		{"t", []client.Option{client.ArgsJSON(`{"a":1}`)}, "args must be a JSON array"},
		{"t", []client.Option{client.KwargsJSON(`[1]`)}, "kwargs must be a JSON object"},
		{"t", []client.Option{client.Args{make(chan int)}}, "args"},
		{"t", []client.Option{client.ID("")}, "empty job id"},
		{"t", []client.Option{client.Delay(2 * 366 * 24 * time.Hour)}, "delay"},
	} {
		if _, err := c.Enqueue(context.Background(), tc.task, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want %q", tc.task, tc.opts, err, tc.want)
		}
	}
}

func TestDeduplicatedAndBatchEnqueue(t *testing.T) {
	t.Parallel()
	c, q := setup(t)
	a, err := c.Enqueue(context.Background(), "noop", client.ID("same"))
	if err != nil || a.Existing {
		t.Fatal(a, err)
	}
	b, err := c.Enqueue(context.Background(), "noop", client.ID("same"))
	if err != nil || !b.Existing || b.ID != "same" {
		t.Fatal(b, err)
	}
	jobs, err := c.EnqueueBatch(context.Background(), []client.Request{
		{Task: "noop"}, {Task: "noop", Options: []client.Option{client.ID("same")}}, {Task: "echo", Options: []client.Option{client.Args{1}}},
	})
	if err != nil || len(jobs) != 3 || jobs[0].Existing || !jobs[1].Existing || jobs[2].Existing {
		t.Fatalf("batch: %v %v", jobs, err)
	}
	// One message for "same", one for each fresh batch job.
	conn, _ := amqp.Dial(amqpURL)
	defer conn.Close()
	ch, _ := conn.Channel()
	qi, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil || qi.Messages != 3 {
		t.Fatalf("queue holds %d messages (%v), want 3", qi.Messages, err)
	}
}

func TestStatsShowNoSecrets(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	st, err := c.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	if !strings.Contains(string(b), "arqtest:") || strings.Contains(strings.ToLower(string(b)), "password") {
		t.Fatalf("stats: %s", b)
	}
}

func TestAbortAndDeleteNeedAStore(t *testing.T) {
	t.Parallel()
	c, err := client.New(context.Background(), client.Config{RabbitMQURL: amqpURL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Job("x").Abort(context.Background()); err != client.ErrNoResultStore {
		t.Fatalf("abort without a store: %v", err)
	}
	if _, err := c.Results(context.Background(), []string{"x"}); err != client.ErrNoResultStore {
		t.Fatalf("results without a store: %v", err)
	}
}

package host_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/brokertest"
)

func TestBrokerConnectionLossLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.WorkerID = "reconnect-" + e.queue
	var mu sync.Mutex
	successes := map[string]int{}
	cfg.Hooks.OnJobEnd = func(ctx context.Context, job host.JobInfo, o *wasm.Outcome) {
		if o.Kind == wasm.Success {
			mu.Lock()
			successes[job.ID]++
			mu.Unlock()
		}
	}
	e.worker(cfg)
	c := e.client()
	const n = 200
	reqs := make([]client.Request, n)
	for i := range reqs {
		reqs[i] = client.Request{Task: "sleep", Options: []client.Option{client.Args{"5ms"}}}
	}
	jobs, err := c.EnqueueBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	// Let some finish, then cut the worker's connection mid-stream.
	wait(t, jobs[20], 20*time.Second)
	if brokertest.CloseConnections(t, "arqhost worker "+cfg.WorkerID) == 0 {
		t.Fatal("the worker's connection was not found")
	}
	for _, j := range jobs {
		if res, err := wait(t, j, 60*time.Second); err != nil || res.Status != client.StatusCompleted {
			t.Fatalf("job %s: %v", j.ID, err)
		}
	}
	time.Sleep(500 * time.Millisecond) // any redelivery would have run by now
	if !strings.Contains(e.logs.String(), "reconnected to RabbitMQ") {
		t.Error("the worker never reconnected")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, j := range jobs {
		if successes[j.ID] != 1 {
			t.Errorf("job %s completed %d times", j.ID, successes[j.ID])
		}
	}
}

func TestQuorumQueues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Quorum = true
	e.worker(cfg)
	c, err := client.New(context.Background(), client.Config{RabbitMQURL: amqpURL, RedisURL: redisURL, KeyPrefix: e.prefix, Queue: e.queue, Quorum: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now, _ := c.Enqueue(context.Background(), "echo", client.Args{"now"})
	later, _ := c.Enqueue(context.Background(), "echo", client.Args{"later"}, client.Delay(300*time.Millisecond))
	for _, j := range []*client.Job{now, later} {
		if res, err := wait(t, j, 10*time.Second); err != nil || res.Status != client.StatusCompleted {
			t.Fatalf("%v", err)
		}
	}
}

func TestWithoutResultStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.RedisURL = ""
	var done atomic.Int32
	cfg.Hooks.OnJobEnd = func(ctx context.Context, job host.JobInfo, o *wasm.Outcome) {
		if o.Kind == wasm.Success {
			done.Add(1)
		}
	}
	e.worker(cfg)
	c, err := client.New(context.Background(), client.Config{RabbitMQURL: amqpURL, Queue: e.queue})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 5; i++ {
		if _, err := c.Enqueue(context.Background(), "noop"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Enqueue(context.Background(), "noop", client.ID("x")); err == nil {
		t.Fatal("a caller-chosen id without a result store must be refused (it cannot be deduplicated)")
	}
	if _, err := c.Job("x").Wait(context.Background()); err == nil {
		t.Fatal("waiting without a result store must fail")
	}
	deadline := time.Now().Add(10 * time.Second)
	for done.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if done.Load() != 5 {
		t.Fatalf("%d of 5 jobs ran", done.Load())
	}
}

func TestLifecycleHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	var events []string
	var mu sync.Mutex
	add := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	cfg.Hooks = host.Hooks{
		OnStartup:  func(ctx context.Context, w *host.Worker) error { add("startup"); return nil },
		OnShutdown: func(ctx context.Context, w *host.Worker) { add("shutdown") },
		OnJobStart: func(ctx context.Context, j host.JobInfo) { add("start " + j.Function) },
		OnJobEnd: func(ctx context.Context, j host.JobInfo, o *wasm.Outcome) {
			add("end " + j.Function + " " + o.Kind.String())
		},
	}
	w, err := host.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	j, _ := e.client().Enqueue(context.Background(), "noop")
	wait(t, j, 10*time.Second)
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"startup", "start noop", "end noop success", "shutdown"}
	if len(events) != len(want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events %v, want %v", events, want)
		}
	}
}

func TestConsumerResumesAfterChannelClosedByBroker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(e.config())
	// Deleting the queue under the consumer makes the broker cancel it (no connection loss).
	ch := amqpChannel(t)
	if _, err := ch.QueueDelete(e.queue, false, false, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logs.String(), "consuming again") {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not resume consuming:\n%s", e.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	j, err := e.client().Enqueue(context.Background(), "noop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, j, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/wire"
)

func TestImmediateJobEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(e.config())
	c := e.client()
	j, err := c.Enqueue(context.Background(), "send_email",
		client.Args{"ann@example.com"}, client.Kwargs{"subject": "Welcome", "body": "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := wait(t, j, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	if err := json.Unmarshal(res.Result, &out); err != nil || out["to"] != "ann@example.com" {
		t.Fatalf("result %s: %v", res.Result, err)
	}
	if res.Status != client.StatusCompleted || res.ModuleVersion == "" || res.Module != "email" || res.WorkerID == "" ||
		res.StartTime == nil || res.EndTime == nil || res.Duration == nil || res.RetryCount != 0 || res.FunctionName != "send_email" {
		t.Fatalf("record incomplete: %+v", res)
	}
}

// dlqGet takes one message from the env's DLQ, waiting up to d.
func (e *env) dlqGet(d time.Duration) amqp.Delivery {
	e.t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m, ok, err := ch.Get(broker.NamesFor(e.queue, broker.QueueOptions{}).DLQ, true)
		if err != nil {
			e.t.Fatal(err)
		}
		if ok {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatal("nothing arrived in the DLQ")
	return amqp.Delivery{}
}

func TestPermanentErrorGoesToDLQWithReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(e.config())
	j, err := e.client().Enqueue(context.Background(), "refuse", client.Args{"bad input"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := wait(t, j, 10*time.Second)
	var jerr *client.JobError
	if !errors.As(err, &jerr) || res.Status != client.StatusFailed || res.ErrorType != "ValueError" || res.JobTry != 1 {
		t.Fatalf("status %s err %v record %+v", res.Status, err, res)
	}
	m := e.dlqGet(5 * time.Second)
	job, err := wire.Decode(m.Body)
	if err != nil || job.ID != j.ID {
		t.Fatalf("DLQ body is not the original job: %v %s", err, m.Body)
	}
	for k, want := range map[string]any{
		wire.HeaderErrorType: "ValueError", wire.HeaderErrorCategory: "non_retriable", wire.HeaderJobID: j.ID,
		wire.HeaderOutcome: "guest_error", wire.HeaderModule: "hostile", wire.HeaderTries: int64(1),
	} {
		if m.Headers[k] != want {
			t.Errorf("header %s = %v, want %v", k, m.Headers[k], want)
		}
	}
	if v, _ := m.Headers[wire.HeaderModuleVersion].(string); len(v) != 64 {
		t.Errorf("module version header %q", v)
	}
	if msg, _ := m.Headers[wire.HeaderErrorMessage].(string); msg != "bad input" {
		t.Errorf("error message header %q", msg)
	}
	// The reason names the guest's own error, not only the policy's verdict.
	if r, _ := m.Headers[wire.HeaderReason].(string); r != "ValueError: bad input; permanent is not retried" {
		t.Errorf("reason header %q", r)
	}
}

func TestRetriesHonourMaxTriesAndBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Retry.Backoff = 300 * time.Millisecond
	var mu sync.Mutex
	var starts []time.Time
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
	}
	e.worker(cfg)
	j, err := e.client().Enqueue(context.Background(), "fail", client.Args{"flaky"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := wait(t, j, 20*time.Second)
	if err == nil || res.Status != client.StatusFailed || res.JobTry != 3 || res.RetryCount != 2 {
		t.Fatalf("status %s try %d err %v", res.Status, res.JobTry, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 3 {
		t.Fatalf("ran %d times, want exactly MaxTries = 3", len(starts))
	}
	// Backoff: try 2 waits 300 ms ±25%, try 3 waits 600 ms ±25% (never less).
	for i, min := range []time.Duration{225 * time.Millisecond, 450 * time.Millisecond} {
		if gap := starts[i+1].Sub(starts[i]); gap < min {
			t.Errorf("gap before try %d: %s, want at least %s", i+2, gap, min)
		}
	}
	m := e.dlqGet(5 * time.Second)
	if m.Headers[wire.HeaderErrorCategory] != "retriable" || m.Headers[wire.HeaderTries] != int64(3) {
		t.Errorf("DLQ headers after exhausted retries: %v", m.Headers)
	}
}

func TestExplicitRetrySucceedsOnLastAllowedTry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(e.config()) // MaxTries 3
	j, err := e.client().Enqueue(context.Background(), "flaky", client.Kwargs{"succeed_on": 3, "delay_ms": 200})
	if err != nil {
		t.Fatal(err)
	}
	// While the retry waits, the status reads retrying.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := j.Status(context.Background())
		if err == nil && st == client.StatusRetrying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw status retrying (last %s, %v)", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := wait(t, j, 10*time.Second)
	if err != nil || string(res.Result) != "3" || res.JobTry != 3 {
		t.Fatalf("status %s result %s err %v", res.Status, res.Result, err)
	}
}

func TestTimeoutIsRetriedThenDeadLettered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Retry.MaxTries = 2
	e.worker(cfg)
	// The env's modules time out after 2 s.
	j, err := e.client().Enqueue(context.Background(), "sleep", client.Args{"1h"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := wait(t, j, 20*time.Second)
	if err == nil || res.Status != client.StatusFailed || res.Outcome != "timeout" || res.JobTry != 2 {
		t.Fatalf("status %s outcome %s try %d err %v", res.Status, res.Outcome, res.JobTry, err)
	}
	if m := e.dlqGet(5 * time.Second); m.Headers[wire.HeaderOutcome] != "timeout" {
		t.Fatalf("DLQ outcome header %v", m.Headers[wire.HeaderOutcome])
	}
}

// publishRaw publishes a body as another producer would.
func (e *env) publishRaw(body []byte, headers amqp.Table) {
	e.t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := ch.PublishWithContext(context.Background(), "", e.queue, false, false, amqp.Publishing{Headers: headers, Body: body}); err != nil {
		e.t.Fatal(err)
	}
}

func TestUnknownTaskAndMalformedBodyGoToDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.worker(e.config())
	c := e.client()
	j, err := c.Enqueue(context.Background(), "no_such_task")
	if err != nil {
		t.Fatal(err)
	}
	res, _ := wait(t, j, 10*time.Second)
	if res.Status != client.StatusFailed || res.ErrorType != "UnknownTask" || !strings.Contains(res.ErrorMessage, "no_such_task") {
		t.Fatalf("unknown task record: %+v", res)
	}
	if m := e.dlqGet(5 * time.Second); m.Headers[wire.HeaderOutcome] != "unknown_task" {
		t.Fatalf("unknown task DLQ headers %v", m.Headers)
	}
	raw := []byte("{this is not json")
	e.publishRaw(raw, amqp.Table{"x-custom": "kept"})
	m := e.dlqGet(5 * time.Second)
	if string(m.Body) != string(raw) || m.Headers["x-custom"] != "kept" || m.Headers[wire.HeaderErrorType] != "MalformedMessage" {
		t.Fatalf("malformed DLQ copy: %q %v", m.Body, m.Headers)
	}
	if _, ok := m.Headers[wire.HeaderJobID]; ok {
		t.Fatalf("a body without a readable job_id got an %s header: %v", wire.HeaderJobID, m.Headers)
	}
	// A body that is a JSON object with a job_id but no function: the DLQ copy names the job.
	e.publishRaw([]byte(`{"job_id": "half-a-job", "args": []}`), nil)
	if m := e.dlqGet(5 * time.Second); m.Headers[wire.HeaderJobID] != "half-a-job" || m.Headers[wire.HeaderErrorType] != "MalformedMessage" {
		t.Fatalf("malformed DLQ copy with a job_id: %v", m.Headers)
	}
	// The worker keeps serving.
	j, _ = c.Enqueue(context.Background(), "noop")
	if _, err := wait(t, j, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	_ = w
}

func TestDelaysFireInOrderWithoutHeadOfLineBlocking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	ran := map[string]time.Time{}
	cfg := e.config()
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) {
		mu.Lock()
		ran[job.ID] = time.Now()
		mu.Unlock()
	}
	e.worker(cfg)
	c := e.client()
	start := time.Now()
	long, err := c.Enqueue(context.Background(), "noop", client.Delay(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	short, err := c.Enqueue(context.Background(), "noop", client.Delay(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wait(t, long, 15*time.Second)
	wait(t, short, 15*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for _, x := range []struct {
		j    *client.Job
		want time.Duration
	}{{short, time.Second}, {long, 3 * time.Second}} {
		got := ran[x.j.ID].Sub(start)
		if got < x.want || got > x.want+700*time.Millisecond {
			t.Errorf("job delayed %s ran after %s", x.want, got)
		}
	}
}

func TestDeferUntilArrivingEarlyIsHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ranAt atomic.Int64
	cfg := e.config()
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) { ranAt.Store(time.Now().UnixNano()) }
	e.worker(cfg)
	c := e.client()
	// A producer that puts defer_until in the body but publishes at once (no delay queue).
	due := time.Now().Add(1500 * time.Millisecond)
	job := &wire.Job{ID: "early-" + e.queue, Function: "noop", Try: 1, EnqueueTime: time.Now(), Queue: e.queue, DeferUntil: due}
	e.publishRaw(job.Body(), amqp.Table{wire.HeaderRetryCount: int64(0)})
	res, err := wait(t, c.Job(job.ID), 10*time.Second)
	if err != nil || res.Status != client.StatusCompleted {
		t.Fatal(err)
	}
	if at := time.Unix(0, ranAt.Load()); at.Before(due) {
		t.Fatalf("ran %s before its defer_until", due.Sub(at))
	}
}

func TestExpiredJobDoesNotRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	runs := countRuns(&cfg)
	c := e.client()
	// Enqueued with a 200 ms expiry while no worker runs; the worker starts later.
	j, err := c.Enqueue(context.Background(), "noop", client.Expires(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	e.worker(cfg)
	res, err := wait(t, j, 10*time.Second)
	if err == nil || res.Status != client.StatusFailed || res.Outcome != "expired" || runs.Load() != 0 {
		t.Fatalf("status %s outcome %s runs %d err %v", res.Status, res.Outcome, runs.Load(), err)
	}
}

func TestBurstWaitsForPendingRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	j, err := c.Enqueue(context.Background(), "flaky", client.Kwargs{"succeed_on": 2, "delay_ms": 1500})
	if err != nil {
		t.Fatal(err)
	}
	e.runBurst(e.config())
	// It stopped only after the retry, which waited 1.5 s in the delay topology, had run.
	res, err := c.Job(j.ID).Info(context.Background())
	if err != nil || res.Status != client.StatusCompleted || res.JobTry != 2 {
		t.Fatalf("burst worker stopped with the job %+v (%v)", res, err)
	}
}

// TestBurstWaitsForLegacyDelayLevels: a job still waiting in a classic delay level of an earlier
// build (arqhost.delay.{q}.q{L}) is work to come; the burst worker runs it, then deletes the level.
func TestBurstWaitsForLegacyDelayLevels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ch := amqpChannel(t)
	level := "arqhost.delay." + e.queue + ".q20"
	t.Cleanup(func() { _, _ = ch.QueueDelete(level, false, false, false) })
	// Shaped like the legacy levels where it matters here: classic, a TTL, dead-lettering on
	// towards the queue.
	if _, err := ch.QueueDeclare(level, true, false, false, false, amqp.Table{"x-message-ttl": int64(1500),
		"x-dead-letter-exchange": "", "x-dead-letter-routing-key": e.queue}); err != nil {
		t.Fatal(err)
	}
	job := &wire.Job{ID: "legacy-" + e.queue, Function: "noop", Try: 1, EnqueueTime: time.Now(), Queue: e.queue}
	if err := ch.PublishWithContext(context.Background(), "", level, true, false, amqp.Publishing{Body: job.Body(), DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
	e.runBurst(e.config())
	res, err := e.client().Job(job.ID).Info(context.Background())
	if err != nil || res.Status != client.StatusCompleted {
		t.Fatalf("burst worker stopped with the legacy job %+v (%v)", res, err)
	}
	if _, err := ch.QueueDeclarePassive(level, true, false, false, false, nil); err == nil {
		t.Fatal("the emptied legacy level was not deleted")
	}
}

func TestShutdownMidJobLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.ShutdownGrace = 300 * time.Millisecond
	started := make(chan struct{}, 1)
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) {
		select {
		case started <- struct{}{}:
		default:
		}
	}
	w, err := host.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	slow, _ := c.Enqueue(context.Background(), "sleep", client.Args{"1500ms"})
	var queued []*client.Job
	for i := 0; i < 20; i++ {
		j, _ := c.Enqueue(context.Background(), "noop")
		queued = append(queued, j)
	}
	<-started
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Interrupted by the grace period, the slow job went back to the queue; a new worker runs it
	// and everything else.
	cfg.ShutdownGrace = 5 * time.Second
	e.worker(cfg)
	for _, j := range append(queued, slow) {
		if res, err := wait(t, j, 20*time.Second); err != nil || res.Status != client.StatusCompleted {
			t.Fatalf("job %s (%s): %v", j.ID, j.Function, err)
		}
	}
}

func TestConcurrencyNeverExceedsLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Concurrency = 3
	cfg.Prefetch = 50
	var now, peak atomic.Int32
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
	}
	cfg.Hooks.OnJobEnd = func(ctx context.Context, job host.JobInfo, o *wasm.Outcome) { now.Add(-1) }
	e.worker(cfg)
	waitAll(t, enqueueMany(t, e.client(), 30, "sleep", client.Args{"20ms"}), 20*time.Second)
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want exactly the limit 3", p)
	}
}

func TestBatchResultsWithMissingID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(e.config())
	c := e.client()
	reqs := make([]client.Request, 10)
	for i := range reqs {
		reqs[i] = client.Request{Task: "echo", Options: []client.Option{client.Args{i}}}
	}
	jobs, err := c.EnqueueBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		wait(t, j, 10*time.Second)
	}
	ids := []string{jobs[0].ID, "missing-id", jobs[9].ID}
	res, err := c.Results(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0] == nil || string(res[0].Result) != "0" || res[1] != nil || res[2] == nil || string(res[2].Result) != "9" {
		t.Fatalf("results: %+v", res)
	}
}

func TestNoQueuedStatusBehindCompleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	cfg.Concurrency = 8
	e.worker(cfg)
	c := e.client()
	var wg sync.WaitGroup
	jobs := make([]*client.Job, 500)
	errs := make(chan error, 500)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < 500; i += 10 {
				j, err := c.Enqueue(context.Background(), "noop")
				if err != nil {
					errs <- err
					return
				}
				jobs[i] = j
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if res, err := wait(t, j, 30*time.Second); err != nil || res.Status != client.StatusCompleted {
			t.Fatalf("job %s: %v", j.ID, err)
		}
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	res, err := c.Results(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r == nil || r.Status != client.StatusCompleted {
			t.Fatalf("job %d: %+v", i, r)
		}
		if st, err := jobs[i].Status(context.Background()); err != nil || st != client.StatusCompleted {
			t.Fatalf("status key of job %d: %s %v", i, st, err)
		}
	}
}

func TestDuplicateJobIDRunsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	runs := countRuns(&cfg)
	e.worker(cfg)
	c := e.client()
	first, err := c.Enqueue(context.Background(), "echo", client.ID("order-42"), client.Args{"first"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Enqueue(context.Background(), "echo", client.ID("order-42"), client.Args{"second"})
	if err != nil || !second.Existing || second.ID != first.ID {
		t.Fatalf("second enqueue: %+v %v", second, err)
	}
	res, _ := wait(t, first, 10*time.Second)
	third, err := c.Enqueue(context.Background(), "echo", client.ID("order-42"), client.Args{"third"})
	if err != nil || !third.Existing {
		t.Fatalf("enqueue after completion: %+v %v", third, err)
	}
	time.Sleep(300 * time.Millisecond)
	if runs.Load() != 1 || string(res.Result) != `"first"` {
		t.Fatalf("runs %d result %s", runs.Load(), res.Result)
	}
}

func TestTwoWorkersShareAQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	by := map[string]int{}
	for _, name := range []string{"w1", "w2"} {
		cfg := e.config()
		cfg.WorkerID = name
		cfg.Prefetch = 1
		cfg.Concurrency = 1
		cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) {
			mu.Lock()
			by[name]++
			mu.Unlock()
		}
		e.worker(cfg)
	}
	waitAll(t, enqueueMany(t, e.client(), 40, "sleep", client.Args{"10ms"}), 20*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if by["w1"]+by["w2"] != 40 || by["w1"] == 0 || by["w2"] == 0 {
		t.Fatalf("jobs per worker: %v", by)
	}
}

func TestRabbitmqArqProducerMessageRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.worker(e.config())
	c := e.client()
	id := "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	now := time.Now().UTC()
	// Exactly what rabbitmq-arq publishes: Python's json.dumps spacing, transient, no message_id.
	body := fmt.Sprintf(`{"job_id": %q, "function": "send_email", "args": ["py@example.com"], "kwargs": {"subject": "from python", "body": "hi"}, "job_try": 1, "enqueue_time": %q, "start_time": null, "end_time": null, "result": null, "error": null, "status": "queued", "queue_name": %q, "defer_until": null, "expires": %q}`,
		id, now.Format("2006-01-02T15:04:05.000000+00:00"), e.queue, now.Add(24*time.Hour).Format("2006-01-02T15:04:05.000000+00:00"))
	e.publishRaw([]byte(body), amqp.Table{"x-retry-count": int32(0)})
	res, err := wait(t, c.Job(id), 10*time.Second)
	if err != nil || !strings.Contains(string(res.Result), "py@example.com") {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestAbortQueuedAndRunningJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	runs := countRuns(&cfg)
	c := e.client()
	deferred, err := c.Enqueue(context.Background(), "noop", client.Delay(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := deferred.Abort(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.worker(cfg)
	res, err := wait(t, deferred, 10*time.Second)
	if err == nil || res.Status != client.StatusAborted || runs.Load() != 0 {
		t.Fatalf("deferred job: %s runs %d %v", res.Status, runs.Load(), err)
	}
	running, _ := c.Enqueue(context.Background(), "sleep", client.Args{"30s"})
	for runs.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := running.Abort(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err = wait(t, running, 10*time.Second)
	if err == nil || res.Status != client.StatusAborted || time.Since(start) > 5*time.Second {
		t.Fatalf("running job: %s after %s: %v", res.Status, time.Since(start), err)
	}
}

func TestPythonRetryCountHeaderCountsTries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config() // MaxTries 3
	runs := countRuns(&cfg)
	e.worker(cfg)
	// rabbitmq-arq re-publishes a failed job with the body unchanged (job_try 1) and
	// x-retry-count + 1: this one has been tried twice already, so one try is left.
	job := &wire.Job{ID: "pyretry-" + e.queue, Function: "fail", Args: json.RawMessage(`["x"]`), Try: 1, EnqueueTime: time.Now(), Queue: e.queue}
	e.publishRaw(job.Body(), amqp.Table{wire.HeaderRetryCount: int32(2)})
	res, err := wait(t, e.client().Job(job.ID), 10*time.Second)
	if err == nil || res.Status != client.StatusFailed || res.JobTry != 3 || runs.Load() != 1 {
		t.Fatalf("status %s try %d runs %d", res.Status, res.JobTry, runs.Load())
	}
}

func TestStaleEarlierTryDoesNotRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config()
	runs := countRuns(&cfg)
	e.worker(cfg)
	c := e.client()
	// Try 2 of a job is running (its record says so) when a lost ack brings try 1 back.
	j, err := c.Enqueue(context.Background(), "flaky", client.Kwargs{"succeed_on": 2, "delay_ms": 1000})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if rec, err := j.Info(context.Background()); err == nil && rec.Status == client.StatusRetrying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no retry scheduled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stale := &wire.Job{ID: j.ID, Function: "flaky", Kwargs: json.RawMessage(`{"succeed_on": 2, "delay_ms": 1000}`), Try: 1, EnqueueTime: time.Now(), Queue: e.queue}
	e.publishRaw(stale.Body(), nil)
	res, err := wait(t, j, 10*time.Second)
	if err != nil || res.JobTry != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	time.Sleep(200 * time.Millisecond)
	if runs.Load() != 2 {
		t.Fatalf("ran %d times, want 2 (try 1 once, try 2 once)", runs.Load())
	}
}

func TestBurstTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if _, err := c.Enqueue(context.Background(), "noop", client.Delay(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Burst, cfg.BurstTimeout = true, 500*time.Millisecond
	w, err := host.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := w.Run(context.Background()); !errors.Is(err, host.ErrBurstTimeout) || time.Since(start) > 5*time.Second {
		t.Fatalf("Run returned %v after %s", err, time.Since(start))
	}
}

// TestDuplicateDeliveryWhileHandled: two copies of one job (at-least-once dead-lettering after a
// broker restart can make them) arrive together; the worker runs the job once and acks the copy.
func TestDuplicateDeliveryWhileHandled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config() // in_progress recorded only after 50 ms: both copies would pass the record check
	runs := countRuns(&cfg)
	job := &wire.Job{ID: "dup-" + e.queue, Function: "sleep", Args: json.RawMessage(`["300ms"]`), Try: 1, EnqueueTime: time.Now(), Queue: e.queue}
	c := e.client()
	e.worker(cfg) // declares the queue
	e.publishRaw(job.Body(), nil)
	e.publishRaw(job.Body(), nil)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
	res, err := wait(t, c.Job(job.ID), 10*time.Second)
	if err != nil || res.Status != client.StatusCompleted {
		t.Fatalf("%v %+v", err, res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "acknowledging the duplicate") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("ran %d times, want 1", n)
	}
	if !strings.Contains(e.logs.String(), "this worker is already handling a delivery of this job") {
		t.Fatal("the duplicate was not logged as such")
	}
}

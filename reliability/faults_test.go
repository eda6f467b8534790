package reliability

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
)

// mixed enqueues n jobs, nine in ten no-ops and one in ten 30 ms sleeps, interleaved, so that jobs
// are running at any moment a fault strikes.
func (s *scenario) mixed(n int, opts ...client.Option) []string {
	s.t.Helper()
	var ids []string
	for len(ids) < n {
		k := min(450, n-len(ids))
		ids = append(ids, s.enqueue(k-k/10, "noop")...)
		ids = append(ids, s.enqueue(k/10, "sleep", "30ms")...)
	}
	return ids
}

// swap installs a new version of a module file (the same code with a custom section added, so
// its digest changes) the way an operator should: write aside, rename over.
func (s *scenario) swap(file string, n int) {
	s.t.Helper()
	path := filepath.Join(s.modules, file)
	data, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	name := fmt.Sprintf("arqrel-swap-%d", n)
	section := append(append([]byte{byte(len(name))}, name...), byte(n)) // with one byte of payload:
	// wazero reads an empty custom section at the end of a module as truncated
	data = append(data, 0, byte(len(section))) // custom section id 0, size (< 128)
	data = append(data, section...)
	tmp := filepath.Join(s.modules, "."+file+".new")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		s.t.Fatal(err)
	}
}

// notes counts log lines of interest across the scenario's workers.
func (s *scenario) notes(msgs map[string]string) string {
	var parts []string
	for label, msg := range msgs {
		if n := len(s.logLines(msg)); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, label))
		}
	}
	return strings.Join(parts, ", ")
}

var redeliveryNotes = map[string]string{
	"duplicate deliveries skipped":             "job already finished; acknowledging the duplicate delivery without running it",
	"copies acked while the first was handled": "this worker is already handling a delivery of this job; acknowledging the duplicate",
	"jobs returned to the queue":               "job interrupted by shutdown; returning it to the queue",
	"module versions swapped in":               moduleReplaced,
}

const moduleReplaced = "module replaced: new jobs run on the new version, running ones finish on the old"

// kill -9 of a worker in the middle of a stream of jobs, repeatedly, with a hot swap of the module
// between two kills; then a new worker finishes. A job whose result was stored before its worker
// died is acknowledged without running again when it comes back; one that was not runs again,
// and only its last run stores a result.
func TestKillNineMidStream(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "kill9", "email.wasm", "hostile.wasm")
	n, kills := size(1500, 20000), size(2, 8)
	ids := s.mixed(n)
	start := time.Now()
	for k := 1; k <= kills; k++ {
		w := s.start()
		s.waitCompleted(ids, k*n/(kills+1), 3*time.Minute)
		if k == 1 {
			s.swap("email.wasm", k)
			s.waitLog(moduleReplaced, time.Minute)
		}
		w.kill9()
	}
	last := s.start()
	s.waitTerminal(ids, 5*time.Minute)
	if !last.stop(30 * time.Second) {
		t.Error("the last worker did not stop within 30 s of SIGTERM")
	}
	r := s.account(ids, nil)
	r.Scenario = fmt.Sprintf("kill -9 of the worker %d times mid-stream (a hot swap between kills), then a new worker", kills)
	r.Took = time.Since(start)
	r.Notes = s.notes(redeliveryNotes)
	r.Pass = r.Completed == len(ids) && r.DLQ == 0
	record(t, r)
}

// Redis away for a while during processing: no delivery is acknowledged without its result. A
// worker retries storing a finished job's result for up to 30 s before it returns the job to the
// queue (where it would run again); an outage shorter than that delays results and loses nothing.
// Checks before a run that fail return the job to the queue untouched. A hot swap happens during
// the outage.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "redis", "email.wasm", "hostile.wasm")
	p := newProxy(t, "127.0.0.1:6379")
	// The long outage outlasts the 30 s a worker keeps retrying a result: those jobs go back to
	// the queue and run again once Redis is back, and only that run's result is stored.
	n, outage := size(1500, 20000), size(3*time.Second, 40*time.Second)
	ids := s.mixed(n)
	start := time.Now()
	w := s.start("--redis-url", "redis://"+p.addr()+"/0")
	s.cutMidStream(w, p, ids, outage)
	r := s.account(ids, nil)
	r.Scenario = fmt.Sprintf("Redis unreachable for %s mid-stream (a hot swap during it)", outage)
	r.Took = time.Since(start)
	r.Notes = s.notes(map[string]string{
		"results stored after retrying":       "cannot record the job's result yet; trying again",
		"jobs returned untouched (no record)": "cannot read the job's record; returning the job to the queue",
		"module versions swapped in":          moduleReplaced,
		"duplicate deliveries skipped":        redeliveryNotes["duplicate deliveries skipped"],
	})
	r.Pass = r.Completed == len(ids) && r.DLQ == 0
	record(t, r)
}

// A worker started while Redis is unreachable waits for it, up to its connection timeout
// (--connection-timeout, 30 s by default), and consumes nothing meanwhile; past the timeout it
// exits with status 5 (unreachable), and the jobs stay queued for the next worker.
func TestWorkerStartedBeforeRedis(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "redis-first", "email.wasm", "hostile.wasm")
	p := newProxy(t, "127.0.0.1:6379")
	p.cut()
	ids := s.mixed(size(500, 5000))
	start := time.Now()
	redisArgs := []string{"--redis-url", "redis://" + p.addr() + "/0"}

	gaveUp := s.start(append(redisArgs, "--connection-timeout", "2s")...)
	select {
	case <-gaveUp.done:
	case <-time.After(time.Minute):
		t.Fatal("a worker without Redis was still running a minute after its 2 s connection timeout")
	}
	var exit *exec.ExitError
	if !errors.As(gaveUp.err, &exit) || exit.ExitCode() != 5 {
		t.Errorf("a worker that gave up on Redis exited with %v, want status 5", gaveUp.err)
	}
	if st := s.statuses(ids); st["queued"] != len(ids) {
		t.Errorf("jobs touched by a worker that never reached Redis: %v", st)
	}

	outage := size(2*time.Second, 10*time.Second)
	const retrying = "cannot reach Redis, retrying"
	before := len(s.logLines(retrying)) // the first worker's
	w := s.start(redisArgs...)
	for deadline := time.Now().Add(time.Minute); len(s.logLines(retrying)) == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second worker never said it was waiting for Redis")
		}
	}
	// Swapped while the worker, its modules loaded, waits for Redis: the watcher's first scan at
	// start serves the new version.
	s.swap("email.wasm", 1)
	time.Sleep(outage)
	p.restore()
	s.waitLog(moduleReplaced, time.Minute)
	s.waitTerminal(ids, 5*time.Minute)
	if !w.stop(30 * time.Second) {
		t.Error("the worker did not stop within 30 s of SIGTERM")
	}
	r := s.account(ids, nil)
	r.Scenario = fmt.Sprintf("workers started while Redis is unreachable: one gives up after its 2 s connection timeout (exit 5), one waits %s for Redis (a hot swap meanwhile)", outage)
	r.Took = time.Since(start)
	r.Notes = s.notes(map[string]string{
		"Redis connection attempts before it came up": retrying,
		"module versions swapped in":                  moduleReplaced,
	})
	r.Pass = r.Completed == len(ids) && r.DLQ == 0 && exit != nil && exit.ExitCode() == 5
	record(t, r)
}

// The broker away while jobs are queued, delayed and running. In the small run the worker's
// connection goes through a proxy that is cut (other tests share the broker); the long run
// restarts RabbitMQ itself (rabbitmqctl stop_app / start_app) and runs before the parallel tests,
// alone. Classic and quorum queues.
func TestBrokerOutage(t *testing.T) {
	for _, quorum := range []bool{false, true} {
		kind := "classic"
		if quorum {
			kind = "quorum"
		}
		t.Run(kind, func(t *testing.T) {
			s := newScenario(t, "broker-"+kind, "email.wasm", "hostile.wasm")
			if quorum { // the client declared a classic queue: start over with quorum ones
				s.quorum(t)
			}
			n := size(1000, 10000)
			ids := s.mixed(n)
			delayed := s.enqueueWith(size(100, 1000), "noop", []client.Option{client.Delay(3 * time.Second)})
			all := append(append([]string(nil), ids...), delayed...)
			start := time.Now()
			args := []string{}
			if quorum {
				args = append(args, "--quorum")
			}
			var p *proxy
			if !*long {
				p = newProxy(t, "127.0.0.1:5672")
				args = append(args, "--rabbitmq-url", "amqp://guest:guest@"+p.addr()+"/")
			}
			w := s.start(args...)
			s.waitCompleted(all, n/3, 3*time.Minute)
			how := ""
			if *long {
				how = "RabbitMQ restarted (stop_app, 5 s, start_app)"
				rabbitmqctl(t, "stop_app")
				s.swap("email.wasm", 1)
				time.Sleep(5 * time.Second)
				rabbitmqctl(t, "start_app")
			} else {
				how = "the worker's broker connection cut for 2 s"
				p.cut()
				s.swap("email.wasm", 1)
				time.Sleep(2 * time.Second)
				p.restore()
			}
			s.waitTerminal(all, 5*time.Minute)
			if !w.stop(30 * time.Second) {
				t.Error("the worker did not stop within 30 s of SIGTERM")
			}
			r := s.account(all, nil)
			r.Scenario = fmt.Sprintf("%s with jobs queued, delayed (%d) and running; %s queues", how, len(delayed), kind)
			r.Took = time.Since(start)
			r.Notes = s.notes(map[string]string{
				"reconnections":                            "consuming again",
				"duplicate deliveries skipped":             redeliveryNotes["duplicate deliveries skipped"],
				"copies acked while the first was handled": redeliveryNotes["copies acked while the first was handled"],
				"module versions swapped in":               moduleReplaced,
			})
			r.Pass = r.Completed == len(all) && r.DLQ == 0
			record(t, r)
		})
	}
}

// The broker unreachable for longer than a worker keeps trying to publish a finished job's retry
// (30 s), with jobs asking for retries all along. The worker's connection goes through a proxy
// that is cut. A job whose retry could not be published is not recorded as retrying; its
// delivery, unacknowledged, comes back once the broker does, and that try runs again. A job whose
// result was stored but whose ack was lost comes back and is acknowledged without running.
func TestBrokerOutageBeyondRetries(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "broker-away", "email.wasm", "hostile.wasm")
	n, outage := size(1000, 10000), size(3*time.Second, 40*time.Second)
	var ids, flaky []string
	for len(ids)+len(flaky) < n { // one job in ten asks for one retry, 200 ms later
		ids = append(ids, s.mixed(min(450, n-len(ids)-len(flaky)))...)
		flaky = append(flaky, s.enqueueWith(45, "flaky", []client.Option{client.Kwargs{"succeed_on": 2, "delay_ms": 200}})...)
	}
	all := append(append([]string(nil), ids...), flaky...)
	p := newProxy(t, "127.0.0.1:5672")
	start := time.Now()
	w := s.start("--rabbitmq-url", "amqp://guest:guest@"+p.addr()+"/")
	s.cutMidStream(w, p, all, outage)
	r := s.account(all, nil)
	r.Scenario = fmt.Sprintf("the worker's broker connection cut for %s, %d jobs asking for a retry", outage, len(flaky))
	if outage > 30*time.Second {
		r.Scenario = fmt.Sprintf("the worker's broker connection cut for %s (beyond the 30 s of publish retries), %d jobs asking for a retry", outage, len(flaky))
	}
	r.Took = time.Since(start)
	r.Notes = s.notes(map[string]string{
		"retries published after trying again": "cannot publish the job's retry or dead-letter copy yet; trying again",
		"jobs given back after 30 s":           "cannot publish the job's retry or dead-letter copy; returning the job to the queue",
		"reconnections":                        "consuming again",
		"duplicate deliveries skipped":         redeliveryNotes["duplicate deliveries skipped"],
		"module versions swapped in":           moduleReplaced,
	})
	r.Pass = r.Completed == len(all) && r.DLQ == 0
	record(t, r)
}

// cutMidStream cuts the proxy p of worker w once a third of ids have completed, swaps a module
// during the cut, restores p after outage, then waits for every job and for w to stop.
func (s *scenario) cutMidStream(w *worker, p *proxy, ids []string, outage time.Duration) {
	s.t.Helper()
	s.waitCompleted(ids, len(ids)/3, 3*time.Minute)
	p.cut()
	s.swap("email.wasm", 1)
	time.Sleep(outage)
	p.restore()
	s.waitTerminal(ids, 5*time.Minute)
	if !w.stop(30 * time.Second) {
		s.t.Error("the worker did not stop within 30 s of SIGTERM")
	}
}

// quorum re-creates the scenario's client with quorum queues.
func (s *scenario) quorum(t *testing.T) {
	t.Helper()
	_ = s.client.Close()
	c, err := client.New(t.Context(), client.Config{RabbitMQURL: amqpURL, RedisURL: redisURL, KeyPrefix: s.prefix, Queue: s.queue, Quorum: true})
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
}

func rabbitmqctl(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Graceful shutdown: SIGTERM while jobs run, some of which finish within the grace period and some
// of which do not. The first finish and are recorded; the others are interrupted and go back to
// the queue, and the next worker runs them again, from the start. The module is swapped while
// they run.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "shutdown", "email.wasm", "hostile.wasm")
	short := s.enqueue(6, "sleep", "1s") // still running at SIGTERM, after the swap
	long := s.enqueue(2, "sleep", "4s")
	all := append(append([]string(nil), short...), long...)
	start := time.Now()
	w := s.start("--shutdown-grace", "1500ms", "--in-progress-after", "0")
	deadline := time.Now().Add(time.Minute)
	for s.statuses(all)["in_progress"] < len(all) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // all 8 run at once (concurrency 8)
	}
	// A hot swap while they run: they finish, or are interrupted, on the version they started on.
	s.swap("hostile.wasm", 1)
	s.waitLog(moduleReplaced, 30*time.Second)
	if !w.stop(30 * time.Second) {
		t.Fatal("the worker did not stop within 30 s of SIGTERM")
	}
	first := s.statuses(short)
	interrupted := len(s.logLines(redeliveryNotes["jobs returned to the queue"]))
	next := s.start()
	s.waitTerminal(all, 2*time.Minute)
	if !next.stop(30 * time.Second) {
		t.Error("the second worker did not stop within 30 s of SIGTERM")
	}
	r := s.account(all, nil)
	r.Scenario = "SIGTERM with 6 jobs finishing inside the 1.5 s grace and 2 running 4 s, a hot swap while they run"
	r.Took = time.Since(start)
	r.Notes = fmt.Sprintf("the first worker recorded %d of the 6 short jobs and returned %d jobs to the queue; the next ran them", first["completed"], interrupted)
	r.Pass = r.Completed == len(all) && first["completed"] == len(short) && interrupted == len(long)
	record(t, r)
}

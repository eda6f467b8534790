package reliability

import (
	"github.com/arqhost/arqhost/internal/syncbuf"

	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/store"
)

// The fault scenarios run real worker processes (the arqhost binary, so that kill -9 is real)
// against the local RabbitMQ and Redis, sometimes through a TCP proxy the test can cut. Each
// scenario has its own queue and Redis key prefix and removes them.

const (
	amqpURL  = "amqp://guest:guest@127.0.0.1:5672/"
	redisURL = "redis://127.0.0.1:6379/0"
)

// binary is the arqhost command the workers run (make arqhost builds it).
func binary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ARQHOST_BIN")
	if p == "" {
		p = "../build/arqhost"
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("the arqhost binary is missing (%v): run `make arqhost`", err)
	}
	return abs
}

// example is the path of an example module or test fixture (make modules builds them):
// $ARQHOST_EXAMPLES (../build/examples), then $ARQHOST_FIXTURES (../build/fixtures).
func example(t *testing.T, file string) string {
	t.Helper()
	for _, d := range [][2]string{{"ARQHOST_EXAMPLES", "../build/examples"}, {"ARQHOST_FIXTURES", "../build/fixtures"}} {
		dir := os.Getenv(d[0])
		if dir == "" {
			dir = d[1]
		}
		p, err := filepath.Abs(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("module %s not found in the examples or fixtures: run `make modules`", file)
	return ""
}

// scenario is one fault scenario's queue, key prefix, modules directory, client and workers.
type scenario struct {
	t       *testing.T
	name    string
	queue   string
	prefix  string
	modules string
	logs    string // directory of the workers' logs
	client  *client.Client
	store   *store.Store

	mu      sync.Mutex
	workers []*worker
}

func newScenario(t *testing.T, name string, modules ...string) *scenario {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := "arqrel-" + name + "-" + hex.EncodeToString(b[:])
	s := &scenario{t: t, name: name, queue: id, prefix: id, modules: t.TempDir(), logs: t.TempDir()}
	for _, m := range modules {
		data, err := os.ReadFile(example(t, m))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.modules, m), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{RabbitMQURL: amqpURL, RedisURL: redisURL, KeyPrefix: s.prefix, Queue: s.queue})
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	st, err := store.Open(ctx, redisURL, store.Options{Prefix: s.prefix})
	if err != nil {
		t.Fatal(err)
	}
	s.store = st
	t.Cleanup(s.cleanup)
	return s
}

func (s *scenario) cleanup() {
	s.mu.Lock()
	ws := s.workers
	s.mu.Unlock()
	for _, w := range ws {
		w.kill9()
	}
	if conn, err := amqp.Dial(amqpURL); err == nil {
		if ch, err := conn.Channel(); err == nil {
			_ = broker.DeleteAll(ch, s.queue, broker.QueueOptions{})
		}
		_ = conn.Close()
	}
	ctx := context.Background()
	rdb := s.store.Client()
	iter := rdb.Scan(ctx, 0, s.prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		rdb.Unlink(ctx, keys[:n]...)
		keys = keys[n:]
	}
	_ = s.client.Close()
	_ = s.store.Close()
	if s.t.Failed() {
		for _, w := range ws {
			if b, err := os.ReadFile(w.log); err == nil {
				s.t.Logf("log of %s (last 4 KiB):\n%s", w.name, tail(b, 4096))
			}
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// worker is one worker process.
type worker struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs a worker process on the scenario's queue and modules, with JSON logs in a file. args
// add to or override the defaults (later flags win).
func (s *scenario) start(args ...string) *worker {
	s.t.Helper()
	s.mu.Lock()
	n := len(s.workers) + 1
	s.mu.Unlock()
	w := &worker{name: fmt.Sprintf("worker-%d", n), log: filepath.Join(s.logs, fmt.Sprintf("worker-%d.log", n)), done: make(chan struct{})}
	out, err := os.Create(w.log)
	if err != nil {
		s.t.Fatal(err)
	}
	all := append([]string{"worker",
		"--rabbitmq-url", amqpURL, "--redis-url", redisURL, "--queue", s.queue, "--key-prefix", s.prefix,
		"--modules", s.modules, "--log-format", "json", "--worker-name", s.name + "-" + w.name,
		"--concurrency", "8", "--prefetch", "200", "--retry-backoff", "200ms", "--shutdown-grace", "10s",
		"--cache-dir", filepath.Join(os.TempDir(), "arqrel-cache"),
	}, args...)
	w.cmd = exec.Command(binary(s.t), all...)
	w.cmd.Stdout, w.cmd.Stderr = out, out
	if err := w.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		out.Close()
		close(w.done)
	}()
	s.mu.Lock()
	s.workers = append(s.workers, w)
	s.mu.Unlock()
	return w
}

// kill9 kills the worker with SIGKILL and waits for it to be gone.
func (w *worker) kill9() {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

// stop sends SIGTERM and waits up to d for the worker to exit; it reports whether it did.
func (w *worker) stop(d time.Duration) bool {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		return true
	case <-time.After(d):
		return false
	}
}

// logLines returns the JSON log records of every worker of the scenario with the given message.
func (s *scenario) logLines(msg string) []map[string]any {
	s.mu.Lock()
	ws := append([]*worker(nil), s.workers...)
	s.mu.Unlock()
	var out []map[string]any
	for _, w := range ws {
		f, err := os.Open(w.log)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := sc.Bytes()
			if !strings.Contains(string(line), msg) {
				continue
			}
			var rec map[string]any
			if json.Unmarshal(line, &rec) == nil && rec["msg"] == msg {
				out = append(out, rec)
			}
		}
		f.Close()
	}
	return out
}

// enqueue sends n jobs of task with args (EnqueueBatch, 500 at a time) and returns their ids.
func (s *scenario) enqueue(n int, task string, args ...any) []string {
	s.t.Helper()
	return s.enqueueWith(n, task, nil, args...)
}

// enqueueWith is enqueue with options (a delay, say).
func (s *scenario) enqueueWith(n int, task string, opts []client.Option, args ...any) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := make([]string, 0, n)
	for len(ids) < n {
		reqs := make([]client.Request, min(500, n-len(ids)))
		for i := range reqs {
			reqs[i] = client.Request{Task: task, Options: append([]client.Option{client.Args(args)}, opts...)}
		}
		jobs, err := s.client.EnqueueBatch(ctx, reqs)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// statuses reads the records of ids: how many read each status.
func (s *scenario) statuses(ids []string) map[store.Status]int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[store.Status]int{}
	for i := 0; i < len(ids); i += 1000 {
		recs, err := s.store.GetMany(ctx, ids[i:min(i+1000, len(ids))])
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range recs {
			if r == nil {
				out[""]++
			} else {
				out[r.Status]++
			}
		}
	}
	return out
}

// waitTerminal waits until every job of ids has a terminal record, or d passes.
func (s *scenario) waitTerminal(ids []string, d time.Duration) map[store.Status]int {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := s.statuses(ids)
		if st[store.StatusCompleted]+st[store.StatusFailed]+st[store.StatusAborted] == len(ids) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitCompleted waits until at least n jobs of ids read completed (or d passes).
func (s *scenario) waitCompleted(ids []string, n int, d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s.statuses(ids)[store.StatusCompleted] >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%d jobs did not complete within %s", n, d)
}

// waitLog waits until some worker of the scenario has logged msg, failing the test after d.
func (s *scenario) waitLog(msg string, d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for len(s.logLines(msg)) == 0 {
		if time.Now().After(deadline) {
			s.t.Fatalf("no worker logged %q within %s", msg, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dlq counts the messages in the scenario's dead-letter queue.
func (s *scenario) dlq() int {
	s.t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		s.t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(broker.NamesFor(s.queue, broker.QueueOptions{}).DLQ, true, false, false, false, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return q.Messages
}

// account counts the scenario's jobs: completed (record), completed twice (more than one "job
// completed" log line, which a worker writes once the result is stored), dead-lettered, and lost:
// without a final record (completed, failed or aborted). failing are the ids expected to fail;
// Unexpected counts jobs whose final record is not the one expected (a success that failed, or
// the other way round), which the scenario's pass mark takes into account.
func (s *scenario) account(ids []string, failing map[string]bool) row {
	s.t.Helper()
	r := row{Area: "faults", Enqueued: len(ids)}
	counts := map[string]int{}
	for _, rec := range s.logLines("job completed") {
		if id, ok := rec["job_id"].(string); ok {
			counts[id]++
		}
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for id, n := range counts {
		if want[id] && n > 1 {
			r.Twice++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	final := 0
	for i := 0; i < len(ids); i += 1000 {
		part := ids[i:min(i+1000, len(ids))]
		recs, err := s.store.GetMany(ctx, part)
		if err != nil {
			s.t.Fatal(err)
		}
		for k, rec := range recs {
			if rec == nil || !rec.Status.Terminal() {
				continue
			}
			final++
			if rec.Status == store.StatusCompleted {
				r.Completed++
			}
			if (rec.Status == store.StatusCompleted) == failing[part[k]] {
				r.Unexpected++
			}
		}
	}
	r.DLQ = s.dlq()
	r.Lost = len(ids) - final
	return r
}

// size picks the small or the long value.
func size[T any](small, big T) T {
	if *long {
		return big
	}
	return small
}

// proxy is a TCP proxy to target that the test can cut: cut closes every connection and refuses
// new ones until restore.
type proxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			_ = c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(u, c)
		go pipe(c, u)
	}
}

// cut closes every proxied connection and refuses new ones.
func (p *proxy) cut() {
	p.down.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *proxy) restore() { p.down.Store(false) }

var _ = redis.Nil

// syncBuffer collects output from several goroutines (internal/syncbuf).
type syncBuffer = syncbuf.Buffer

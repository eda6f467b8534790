package host_test

import (
	"github.com/arqhost/arqhost/internal/syncbuf"

	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
)

const (
	amqpURL  = "amqp://guest:guest@127.0.0.1:5672/"
	redisURL = "redis://127.0.0.1:6379/0"
)

// env is one test's private corner of the shared services: its own queue and key prefix, removed
// when the test ends, so that tests run in parallel.
type env struct {
	t      *testing.T
	queue  string
	prefix string
	dir    string // the modules directory
	reg    *registry.Registry
	logs   *syncBuffer
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func newEnv(t *testing.T) *env {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := strings.ToLower(nonWord.ReplaceAllString(t.Name(), "-")) + "-" + hex.EncodeToString(b[:])
	e := &env{t: t, queue: "arqtest." + id, prefix: "arqtest:" + id, logs: &syncBuffer{}}
	t.Cleanup(e.cleanup)
	return e
}

func (e *env) cleanup() {
	ctx := context.Background()
	if conn, err := broker.Dial(ctx, amqpURL, broker.DialOptions{}); err == nil {
		if ch, err := conn.Channel(); err == nil {
			_ = broker.DeleteAll(ch, e.queue, broker.QueueOptions{})
			_ = ch.Close()
		}
		_ = conn.Close()
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, e.prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// modulesDir returns a directory holding the example and test modules.
func (e *env) modulesDir() string {
	e.t.Helper()
	if e.dir != "" {
		return e.dir
	}
	dir := e.t.TempDir()
	for _, m := range []struct{ env, sub, name string }{
		{"ARQHOST_EXAMPLES", "examples", "email"},
		{"ARQHOST_EXAMPLES", "examples", "data"},
		{"ARQHOST_FIXTURES", "fixtures", "hostile"},
	} {
		src := os.Getenv(m.env)
		if src == "" {
			src = filepath.Join("..", "build", m.sub)
		}
		b, err := os.ReadFile(filepath.Join(src, m.name+".wasm"))
		if err != nil {
			e.t.Fatalf("%v: run `make modules` first", err)
		}
		if err := os.WriteFile(filepath.Join(dir, m.name+".wasm"), b, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.dir = dir
	return dir
}

// modules returns a registry of the modules of modulesDir, shared by the env's workers.
func (e *env) modules() *registry.Registry {
	e.t.Helper()
	if e.reg != nil {
		return e.reg
	}
	dir := e.modulesDir()
	eng, err := wasm.NewEngine(wasm.Config{CacheDir: filepath.Join(os.TempDir(), "arqhost-test-cache"), Concurrency: 8,
		Defaults: wasm.Limits{Timeout: 2 * time.Second}})
	if err != nil {
		e.t.Fatal(err)
	}
	reg, err := registry.Load(context.Background(), eng, dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.reg = reg
	e.t.Cleanup(func() {
		_ = reg.Close(context.Background())
		_ = eng.Close(context.Background())
	})
	return reg
}

// config is a worker configuration for the env; change fields before calling worker.
func (e *env) config() host.Config {
	return host.Config{
		RabbitMQURL: amqpURL, RedisURL: redisURL, KeyPrefix: e.prefix,
		Queues: []string{e.queue}, Concurrency: 4, Registry: e.modules(),
		Retry: host.RetryPolicy{MaxTries: 3, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second,
			Retry: host.DefaultRetryPolicy().Retry},
		ShutdownGrace: 5 * time.Second,
		BurstInterval: 100 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// worker starts a worker; it is stopped when the test ends.
func (e *env) worker(cfg host.Config) *host.Worker {
	e.t.Helper()
	w, err := host.New(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = w.Stop(context.Background()) })
	return w
}

func (e *env) client() *client.Client {
	e.t.Helper()
	c, err := client.New(context.Background(), client.Config{RabbitMQURL: amqpURL, RedisURL: redisURL, KeyPrefix: e.prefix, Queue: e.queue})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// wait waits for a job's result, failing the test after d.
func wait(t *testing.T, j *client.Job, d time.Duration) (*client.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res, err := j.Wait(ctx)
	if err != nil && res == nil {
		t.Fatalf("job %s (%s): %v", j.ID, j.Function, err)
	}
	return res, err
}

// countRuns counts the jobs a worker configured with cfg starts.
func countRuns(cfg *host.Config) *atomic.Int32 {
	var runs atomic.Int32
	cfg.Hooks.OnJobStart = func(ctx context.Context, job host.JobInfo) { runs.Add(1) }
	return &runs
}

// enqueueMany enqueues n copies of a job.
func enqueueMany(t *testing.T, c *client.Client, n int, task string, opts ...client.Option) []*client.Job {
	t.Helper()
	jobs := make([]*client.Job, 0, n)
	for i := 0; i < n; i++ {
		j, err := c.Enqueue(context.Background(), task, opts...)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// waitAll waits for every job's result.
func waitAll(t *testing.T, jobs []*client.Job, d time.Duration) {
	t.Helper()
	for _, j := range jobs {
		wait(t, j, d)
	}
}

// syncBuffer collects output from several goroutines (internal/syncbuf).
type syncBuffer = syncbuf.Buffer

// amqpChannel opens a plain AMQP channel, as another program would; closed when the test ends.
func amqpChannel(t *testing.T) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// runBurst starts a burst-mode worker and waits for it to stop by itself.
func (e *env) runBurst(cfg host.Config) {
	e.t.Helper()
	cfg.Burst = true
	cfg.BurstTimeout = 30 * time.Second
	w := e.worker(cfg)
	select {
	case <-w.Done():
	case <-time.After(30 * time.Second):
		e.t.Fatal("burst worker did not stop")
	}
}

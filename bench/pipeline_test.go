package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
)

// BenchmarkDrain measures the whole pipeline: b.N no-op jobs are enqueued in batches (not timed),
// then a worker (concurrency 8, prefetch 200, results stored in Redis, timeout enforced) drains the
// queue. ns/op is the time per job; jobs/s is reported too. Issue 8 builds the full comparison
// against the broker's own ceiling.
func BenchmarkDrain(b *testing.B) {
	for _, g := range []struct{ name, env, sub, file, task string }{
		{"wat", "ARQHOST_FIXTURES", "fixtures", "noop", "wat_noop"},
		{"go", "ARQHOST_EXAMPLES", "examples", "email", "noop"},
	} {
		b.Run(g.name, func(b *testing.B) {
			dir := b.TempDir()
			code, err := os.ReadFile(modulePath(b, g.env, g.sub, g.file))
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, g.file+".wasm"), code, 0o644); err != nil {
				b.Fatal(err)
			}
			queue, prefix := enqueueJobs(b, g.task, b.N)
			defer cleanup(queue)
			ctx := context.Background()
			var done atomic.Int64
			finished := make(chan struct{})
			total := int64(b.N)
			w, err := host.New(ctx, host.Config{
				RedisURL: "redis://127.0.0.1:6379/0", KeyPrefix: prefix, ResultTTL: time.Minute, Queues: []string{queue},
				Modules: dir, Concurrency: 8, Prefetch: 200, CacheDir: b.TempDir(),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Hooks: host.Hooks{OnJobEnd: func(ctx context.Context, j host.JobInfo, o *wasm.Outcome) {
					if done.Add(1) == total {
						close(finished)
					}
				}},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := w.Start(ctx); err != nil {
				b.Fatal(err)
			}
			<-finished
			elapsed := time.Since(start)
			b.StopTimer()
			_ = w.Stop(ctx)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
		})
	}
}

// enqueueJobs enqueues n jobs of task, in batches of 1000, on a new queue with its own key prefix,
// and returns both. Remove the queue with cleanup.
func enqueueJobs(b *testing.B, task string, n int) (queue, prefix string) {
	var id [4]byte
	_, _ = rand.Read(id[:])
	queue, prefix = "arqbench."+hex.EncodeToString(id[:]), "arqbench:"+hex.EncodeToString(id[:])
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{RedisURL: "redis://127.0.0.1:6379/0", KeyPrefix: prefix, Queue: queue, ResultTTL: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for sent := 0; sent < n; {
		k := min(1000, n-sent)
		reqs := make([]client.Request, k)
		for i := range reqs {
			reqs[i] = client.Request{Task: task}
		}
		if _, err := c.EnqueueBatch(ctx, reqs); err != nil {
			cleanup(queue)
			b.Fatal(err)
		}
		sent += k
	}
	return queue, prefix
}

func cleanup(queue string) {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_ = broker.DeleteAll(ch, queue, broker.QueueOptions{})
	}
}

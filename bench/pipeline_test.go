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
			var id [4]byte
			_, _ = rand.Read(id[:])
			queue, prefix := "arqbench."+hex.EncodeToString(id[:]), "arqbench:"+hex.EncodeToString(id[:])
			defer cleanup(queue)
			ctx := context.Background()
			c, err := client.New(ctx, client.Config{RedisURL: "redis://127.0.0.1:6379/0", KeyPrefix: prefix, Queue: queue, ResultTTL: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for sent := 0; sent < b.N; {
				n := min(1000, b.N-sent)
				reqs := make([]client.Request, n)
				for i := range reqs {
					reqs[i] = client.Request{Task: g.task}
				}
				if _, err := c.EnqueueBatch(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				sent += n
			}
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

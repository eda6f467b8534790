package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/redis/go-redis/v9"
)

// The drains: an arqhost worker (host.New on a directory holding one module, -concurrency,
// -prefetch, results stored in Redis with a 60 s TTL, the default job timeout enforced) drains
// -n jobs enqueued beforehand with client.EnqueueBatch (untimed). The clock runs from Start to the
// moment the last job's result is stored (the store announces each terminal record on its done
// channel, which the benchmark subscribes to); then every job's record is checked to read
// "completed".

// drainCase is one task drained.
type drainCase struct {
	key   string // short name, used by the summary
	label string
	file  string // module file, relative to -examples
	task  string
	args  string // the job's positional arguments as a JSON array; "" for none
}

// dataArgs is the small JSON input of the process_data tasks.
const dataArgs = `[{"customer":"ann@example.com","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"total":42.5,"paid":true,"tags":["new","web"]}]`

var drainCases = []drainCase{
	{"rust_noop", "(a) Rust no-op", "rust_email.wasm", "rust_noop", ""},
	{"noop", "(b) Go no-op", "email.wasm", "noop", ""},
	{"process_data", "(c) Go process_data (5-key object)", "data.wasm", "process_data", dataArgs},
	{"rust_process_data", "(c') Rust rust_process_data (same input)", "rust_data.wasm", "rust_process_data", dataArgs},
}

// drainResult is one drainCase's runs.
type drainResult struct {
	drainCase
	rateResult
	moduleSize int64
}

// runThroughput runs the ceiling (ceiling.go) and the drains, interleaved: each run measures the
// ceiling and then every drain once, so that a noisy stretch of the machine touches all of them
// rather than one, and the ratios stay meaningful. Either part may be left out.
func runThroughput(ctx context.Context, e *env, ceiling, drains bool) (*rateResult, []*drainResult) {
	var ceil *rateResult
	if ceiling {
		ceil = &rateResult{name: "ceiling", n: e.opts.n}
	}
	var out []*drainResult
	if drains {
		want := map[string]bool{}
		for _, t := range strings.Split(e.opts.tasks, ",") {
			want[strings.TrimSpace(t)] = true
		}
		for _, dc := range drainCases {
			if !want[dc.key] {
				continue
			}
			r := &drainResult{drainCase: dc, rateResult: rateResult{name: dc.task, n: e.opts.n}}
			if st, err := os.Stat(filepath.Join(e.opts.examples, dc.file)); err == nil {
				r.moduleSize = st.Size()
			}
			out = append(out, r)
		}
	}
	progress("throughput: %d jobs per drain, worker concurrency %d, prefetch %d; the ceiling and %d drains, x %d runs",
		e.opts.n, e.opts.concurrency, e.opts.prefetch, len(out), e.opts.runs)
	for run := range e.opts.runs {
		progress("throughput: run %d of %d", run+1, e.opts.runs)
		if ceil != nil && ctx.Err() == nil {
			rate, err := e.ceilingOnce(ctx)
			ceil.add(rate, err)
			if err == nil {
				ceil.cpu = append(ceil.cpu, e.lastCPU)
				progress("    CPU per job: %.0f us here, %.0f us RabbitMQ, %.0f us Redis", e.lastCPU[0], e.lastCPU[1], e.lastCPU[2])
			}
		}
		for _, r := range out {
			if ctx.Err() != nil {
				break
			}
			rate, err := e.drainOnce(ctx, r.drainCase)
			r.add(rate, err)
			if err == nil {
				r.cpu = append(r.cpu, e.lastCPU)
				progress("    CPU per job: %.0f us here, %.0f us RabbitMQ, %.0f us Redis", e.lastCPU[0], e.lastCPU[1], e.lastCPU[2])
			}
		}
	}
	return ceil, out
}

// drainOnce enqueues n jobs of dc, then times a fresh worker draining them.
func (e *env) drainOnce(ctx context.Context, dc drainCase) (float64, error) {
	n := e.opts.n
	queue, prefix := names("drain")
	defer e.cleanup(queue, prefix)
	dir, err := e.moduleDir(filepath.Join(e.opts.examples, dc.file))
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	c, err := e.newClient(ctx, queue, prefix, true)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var opts []client.Option
	if dc.args != "" {
		opts = append(opts, client.ArgsJSON(dc.args))
	}
	ids, err := enqueueAll(ctx, c, n, dc.task, opts...)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}

	var failMu sync.Mutex
	var failures int
	var firstFailure string
	// Every terminal record is announced on the done channel once it is stored.
	sub := e.rdb.Subscribe(ctx, prefix+":events:done")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return 0, fmt.Errorf("subscribe: %w", err)
	}
	announced := sub.Channel(redis.WithChannelSize(n + 100))
	w, err := host.New(ctx, host.Config{
		RabbitMQURL: e.opts.amqpURL, RedisURL: e.opts.redisURL, KeyPrefix: prefix, ResultTTL: resultTTL,
		Queues: []string{queue}, Modules: dir, CacheDir: e.cacheDir,
		Concurrency: e.opts.concurrency, Prefetch: e.opts.prefetch, Logger: e.quiet,
		Hooks: host.Hooks{OnJobEnd: func(_ context.Context, j host.JobInfo, o *wasm.Outcome) {
			if o.Kind != wasm.Success {
				failMu.Lock()
				if failures++; failures == 1 {
					firstFailure = fmt.Sprintf("%s: %s %v", j.ID, o.Kind, o.Err())
				}
				failMu.Unlock()
			}
		}},
	})
	if err != nil {
		return 0, err
	}
	quiesce()
	stopProfile := e.profile()
	cpu0 := cpuClock()
	start := time.Now()
	if err := w.Start(ctx); err != nil {
		stopProfile()
		return 0, err
	}
	timeout := time.NewTimer(drainTimeout(n))
	defer timeout.Stop()
	seen := make(map[string]bool, n)
	for len(seen) < n {
		select {
		case m := <-announced:
			seen[m.Payload] = true
		case <-timeout.C:
			stopProfile()
			_ = w.Stop(context.Background())
			return 0, fmt.Errorf("timed out after %d of %d results", len(seen), n)
		case <-ctx.Done():
			stopProfile()
			_ = w.Stop(context.Background())
			return 0, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	e.lastCPU = cpuClock().sub(cpu0).perJob(n)
	stopProfile()
	if err := w.Stop(context.Background()); err != nil {
		return 0, fmt.Errorf("stop: %w", err)
	}
	if failures > 0 {
		return 0, fmt.Errorf("%d of %d jobs failed (first: %s)", failures, n, firstFailure)
	}
	if err := verifyCompleted(ctx, c, ids); err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
)

// Latency: enqueue-to-result time of the Go no-op task at a steady offered load: by default half,
// and then a quarter, of the end-to-end maximum (latencyMax; -latency-loads, -latency-rate). An open-loop pacer starts job i at t0 + i/rate whatever
// happened to the earlier ones; each job's goroutine calls client.Enqueue (the queued record, the
// publish and its confirmation) and then Job.Wait (one Redis GET, then the shared pub/sub
// subscription announces the result). The latency is the time from calling Enqueue to Wait
// returning the completed record; the time to the task's end (the OnJobEnd hook, before the result
// is written) is recorded too, to tell the worker's part from the client's. A warm-up of half a second of load, not recorded, lets the worker
// create its instances first.

// latencyRun is one run's figures.
type latencyRun struct {
	jobs               int
	achieved           float64 // jobs/s started in fact
	finished           float64 // jobs/s whose results came back, first start to last result
	p50, p90, p99, max time.Duration
	endP50, endP99     time.Duration // to the task's end (OnJobEnd), before the result is stored
	maxLag             time.Duration // how far behind its schedule the pacer fell at worst
}

// latencyLoad is the runs at one offered load.
type latencyLoad struct {
	fraction float64 // of the Go no-op drain's median
	rate     float64 // jobs/s offered
	runs     []latencyRun
	errs     []string
}

// latencyResult is every load of the latency scenario; the first is the headline.
type latencyResult struct {
	base  float64 // the rate the fractions are of
	loads []*latencyLoad
}

func runLatencyScenario(ctx context.Context, e *env, base float64, fractions []float64) *latencyResult {
	res := &latencyResult{base: base}
	for _, f := range fractions {
		l := &latencyLoad{fraction: f, rate: base * f}
		res.loads = append(res.loads, l)
		progress("latency: Go no-op at %.0f jobs/s offered (%.2f of %.0f) for %s, x %d runs", l.rate, f, base, e.opts.latencyDuration, e.opts.runs)
		for range e.opts.runs {
			if ctx.Err() != nil {
				break
			}
			r, err := e.latencyOnce(ctx, l.rate)
			if err != nil {
				l.errs = append(l.errs, err.Error())
				progress("  latency: error: %v", err)
				continue
			}
			l.runs = append(l.runs, r)
			progress("  latency: %d jobs started at %.0f/s, finished at %.0f/s: p50 %s, p99 %s, max %s",
				r.jobs, r.achieved, r.finished, ms(r.p50), ms(r.p99), ms(r.max))
		}
	}
	return res
}

// latencyMax measures the end-to-end maximum the latency loads are fractions of: the same worker
// and client, with 256 goroutines each enqueueing a job and waiting for its result, then the next,
// for -latency-duration. Producing and consuming at once, on the same two cores, sustains less than
// a drain of a full queue, where nothing is being published.
func (e *env) latencyMax(ctx context.Context) (float64, error) {
	r, err := e.latencyOnce(ctx, 0)
	return r.finished, err
}

// latencyOnce runs one latency measurement with a fresh worker and client: jobs offered at rate
// (open loop), or for rate 0 the closed loop of latencyMax.
func (e *env) latencyOnce(ctx context.Context, rate float64) (latencyRun, error) {
	queue, prefix := names("latency")
	defer e.cleanup(queue, prefix)
	dir, err := e.moduleDir(filepath.Join(e.opts.examples, "email.wasm"))
	if err != nil {
		return latencyRun{}, err
	}
	defer os.RemoveAll(dir)
	c, err := e.newClient(ctx, queue, prefix, true)
	if err != nil {
		return latencyRun{}, err
	}
	defer c.Close()
	var ends sync.Map // job id -> when its task returned
	w, err := host.New(ctx, host.Config{
		RabbitMQURL: e.opts.amqpURL, RedisURL: e.opts.redisURL, KeyPrefix: prefix, ResultTTL: resultTTL,
		Queues: []string{queue}, Modules: dir, CacheDir: e.cacheDir,
		Concurrency: e.opts.concurrency, Prefetch: e.opts.prefetch, Logger: e.quiet,
		Hooks: host.Hooks{OnJobEnd: func(_ context.Context, j host.JobInfo, _ *wasm.Outcome) {
			ends.Store(j.ID, time.Now())
		}},
	})
	if err != nil {
		return latencyRun{}, err
	}
	if err := w.Start(ctx); err != nil {
		return latencyRun{}, err
	}
	defer w.Stop(context.Background())

	// oneJob enqueues a job and waits for its result; it returns the time to the result and the
	// time to the end of the task.
	oneJob := func() (time.Duration, time.Duration, error) {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		start := time.Now()
		j, err := c.Enqueue(wctx, "noop")
		if err != nil {
			return 0, 0, err
		}
		if _, err := j.Wait(wctx); err != nil {
			return 0, 0, err
		}
		d := time.Since(start)
		end, ok := ends.LoadAndDelete(j.ID)
		if !ok {
			return 0, 0, fmt.Errorf("job %s: a result but no OnJobEnd", j.ID)
		}
		return d, end.(time.Time).Sub(start), nil
	}
	// pace starts count jobs at rate, each on its own goroutine, and measures them.
	pace := func(count int) (latencyRun, error) {
		lat, toEnd := make([]time.Duration, count), make([]time.Duration, count)
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		var lastEnd time.Time
		r := latencyRun{jobs: count, achieved: rate}
		interval := time.Duration(float64(time.Second) / rate)
		t0 := time.Now()
		var last time.Time
		for i := range count {
			due := t0.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			} else {
				r.maxLag = max(r.maxLag, -d)
			}
			if ctx.Err() != nil {
				break
			}
			last = time.Now()
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, e, err := oneJob()
				now := time.Now()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				lat[i], toEnd[i] = d, e
				if now.After(lastEnd) {
					lastEnd = now
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return r, fmt.Errorf("%d of %d jobs: %w", len(errs), count, errs[0])
		}
		if count > 1 && last.After(t0) {
			r.achieved = float64(count-1) / last.Sub(t0).Seconds()
		}
		r.finished = float64(count) / lastEnd.Sub(t0).Seconds()
		slices.Sort(lat)
		slices.Sort(toEnd)
		r.p50, r.p90, r.p99, r.max = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), lat[len(lat)-1]
		r.endP50, r.endP99 = percentile(toEnd, 50), percentile(toEnd, 99)
		return r, ctx.Err()
	}

	if rate == 0 { // closed loop: as fast as 256 producers get results back
		if _, err := pace(200); err != nil {
			return latencyRun{}, fmt.Errorf("warm-up: %w", err)
		}
		var done atomic.Int64
		var firstErr error
		var mu sync.Mutex
		var wg sync.WaitGroup
		t0 := time.Now()
		until := t0.Add(e.opts.latencyDuration)
		for range 256 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(until) && ctx.Err() == nil {
					if _, _, err := oneJob(); err != nil {
						mu.Lock()
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
						return
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return latencyRun{}, firstErr
		}
		return latencyRun{jobs: int(done.Load()), finished: float64(done.Load()) / time.Since(t0).Seconds()}, ctx.Err()
	}
	if _, err := pace(max(100, int(rate/2))); err != nil {
		return latencyRun{}, fmt.Errorf("warm-up: %w", err)
	}
	return pace(max(10, int(rate*e.opts.latencyDuration.Seconds())))
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
)

// Delays: -delay-n Go no-op jobs, each with a delay drawn uniformly between -delay-min and
// -delay-max (so enqueued in random order of due time), are enqueued with client.At in batches of
// 100 while one worker runs. Each job's scheduled time is the time given to client.At (truncated
// to the microsecond, as the message carries it), kept in a map by job id; the OnJobStart hook
// records when each job started. Lateness is start minus scheduled time; a job that started before
// its scheduled time ran early. The scenario lasts at least -delay-max, so it runs once.

// latenessBuckets are the upper bounds of the lateness histogram.
var latenessBuckets = []time.Duration{time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, time.Second}

// delayBands are the upper bounds of the delay ranges lateness is also broken down by.
var delayBands = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second}

// delaysResult is the one run of the delays scenario.
type delaysResult struct {
	n                      int
	minDelay, maxDelay     time.Duration
	enqueueTime, totalTime time.Duration
	p50, p99, max, min     time.Duration // lateness
	early                  int
	buckets                []int       // counts per latenessBuckets, plus one for the rest
	bands                  []delayBand // lateness by the job's delay
	err                    string
}

// delayBand is the lateness of the jobs whose delay was in [from, to).
type delayBand struct {
	from, to           time.Duration
	jobs, early        int
	p50, p99, max, min time.Duration
}

func runDelaysScenario(ctx context.Context, e *env) *delaysResult {
	o := e.opts
	progress("delays: %d Go no-op jobs, delays uniform in [%s, %s], one worker; runs once (at least %s)", o.delayN, o.delayMin, o.delayMax, o.delayMax)
	r, err := e.delaysOnce(ctx)
	if err != nil {
		r.err = err.Error()
		progress("  delays: error: %v", err)
		return r
	}
	progress("  delays: lateness p50 %s, p99 %s, max %s; %d early", ms(r.p50), ms(r.p99), ms(r.max), r.early)
	return r
}

func (e *env) delaysOnce(ctx context.Context) (*delaysResult, error) {
	o := e.opts
	res := &delaysResult{n: o.delayN, minDelay: o.delayMin, maxDelay: o.delayMax}
	queue, prefix := names("delays")
	defer e.cleanup(queue, prefix)
	dir, err := e.moduleDir(filepath.Join(o.examples, "email.wasm"))
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	c, err := e.newClient(ctx, queue, prefix, true)
	if err != nil {
		return res, err
	}
	defer c.Close()

	var mu sync.Mutex
	starts := make(map[string]time.Time, o.delayN)
	var ended, failed, duplicates int
	var firstFailure string
	finished := make(chan struct{})
	w, err := host.New(ctx, host.Config{
		RabbitMQURL: o.amqpURL, RedisURL: o.redisURL, KeyPrefix: prefix, ResultTTL: resultTTL,
		Queues: []string{queue}, Modules: dir, CacheDir: e.cacheDir,
		Concurrency: o.concurrency, Prefetch: o.prefetch, Logger: e.quiet,
		Hooks: host.Hooks{
			OnJobStart: func(_ context.Context, j host.JobInfo) {
				now := time.Now()
				mu.Lock()
				defer mu.Unlock()
				if _, ok := starts[j.ID]; ok {
					duplicates++
					return
				}
				starts[j.ID] = now
			},
			OnJobEnd: func(_ context.Context, j host.JobInfo, out *wasm.Outcome) {
				mu.Lock()
				defer mu.Unlock()
				if out.Kind != wasm.Success {
					if failed++; failed == 1 {
						firstFailure = fmt.Sprintf("%s: %s %v", j.ID, out.Kind, out.Err())
					}
				}
				if ended++; ended == o.delayN {
					close(finished)
				}
			},
		},
	})
	if err != nil {
		return res, err
	}
	if err := w.Start(ctx); err != nil {
		return res, err
	}
	defer w.Stop(context.Background())

	// Enqueue, keeping each job's scheduled time by id.
	begin := time.Now()
	scheduled := make(map[string]time.Time, o.delayN)
	delays := make(map[string]time.Duration, o.delayN)
	span := max(o.delayMax-o.delayMin, 1)
	for len(scheduled) < o.delayN {
		reqs := make([]client.Request, min(100, o.delayN-len(scheduled)))
		ats, ds := make([]time.Time, len(reqs)), make([]time.Duration, len(reqs))
		now := time.Now()
		for i := range reqs {
			ds[i] = o.delayMin + rand.N(span)
			ats[i] = now.Add(ds[i]).Truncate(time.Microsecond)
			reqs[i] = client.Request{Task: "noop", Options: []client.Option{client.At(ats[i])}}
		}
		jobs, err := c.EnqueueBatch(ctx, reqs)
		if err != nil {
			return res, fmt.Errorf("enqueue: %w", err)
		}
		for i, j := range jobs {
			scheduled[j.ID], delays[j.ID] = ats[i], ds[i]
		}
	}
	res.enqueueTime = time.Since(begin)
	progress("  delays: enqueued %d jobs in %s; waiting for them to run", o.delayN, res.enqueueTime.Round(time.Millisecond))

	timeout := time.NewTimer(o.delayMax + 2*time.Minute)
	defer timeout.Stop()
	select {
	case <-finished:
	case <-timeout.C:
		mu.Lock()
		defer mu.Unlock()
		return res, fmt.Errorf("timed out: %d of %d jobs ran", ended, o.delayN)
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.totalTime = time.Since(begin)

	mu.Lock()
	defer mu.Unlock()
	if failed > 0 {
		return res, fmt.Errorf("%d of %d jobs failed (first: %s)", failed, o.delayN, firstFailure)
	}
	lateness := make([]time.Duration, 0, len(scheduled))
	res.buckets = make([]int, len(latenessBuckets)+1)
	var bounds []time.Duration // the bands' upper bounds
	for _, b := range delayBands {
		if b > o.delayMin && b < o.delayMax {
			bounds = append(bounds, b)
		}
	}
	bounds = append(bounds, o.delayMax+1)
	byBand := make([][]time.Duration, len(bounds))
	for id, at := range scheduled {
		s, ok := starts[id]
		if !ok {
			return res, fmt.Errorf("job %s never started", id)
		}
		l := s.Sub(at)
		lateness = append(lateness, l)
		band, _ := slices.BinarySearch(bounds, delays[id]+1) // the first bound above the delay
		byBand[band] = append(byBand[band], l)
		if l < 0 {
			res.early++
		}
		b, _ := slices.BinarySearch(latenessBuckets, l)
		res.buckets[b]++
	}
	slices.Sort(lateness)
	res.p50, res.p99 = percentile(lateness, 50), percentile(lateness, 99)
	res.min, res.max = lateness[0], lateness[len(lateness)-1]
	from := o.delayMin
	for i, ls := range byBand {
		b := delayBand{from: from, to: min(bounds[i], o.delayMax), jobs: len(ls)}
		from = bounds[i]
		if len(ls) == 0 {
			continue
		}
		slices.Sort(ls)
		b.p50, b.p99, b.min, b.max = percentile(ls, 50), percentile(ls, 99), ls[0], ls[len(ls)-1]
		for _, l := range ls {
			if l < 0 {
				b.early++
			}
		}
		res.bands = append(res.bands, b)
	}
	if duplicates > 0 {
		return res, fmt.Errorf("%d jobs started more than once", duplicates)
	}
	return res, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The ceiling: what RabbitMQ and Redis do for a job queue with no Wasm and no arqhost code at all.
// A plain amqp091 consumer (prefetch -prefetch) drains -n pre-published persistent job bodies
// (arqhost's own bodies for a no-op job, about 300 bytes), writes a ~300-byte result per job to
// Redis with SET EX 60, pipelined 100 at a time, and acknowledges with multiple=true after each
// pipeline. This is how rabbitmq-facts.md measured the broker's ceiling; arqhost is compared with
// it in the same run, the runs interleaved with the drains' (runThroughput, drain.go).

// ceilingBatch is the number of jobs per Redis pipeline and per multiple ack.
const ceilingBatch = 100

// rateResult is a rate (jobs/s) measured over several runs.
type rateResult struct {
	name string
	runs []float64 // jobs/s of each run that succeeded
	errs []string  // what went wrong in the runs that did not
	n    int       // jobs per run
	note string
	cpu  [][3]float64 // per successful run: CPU us per job of this process, RabbitMQ, Redis
}

// cpuMedians are the medians over the runs of the CPU microseconds per job of this process,
// RabbitMQ and Redis.
func (r *rateResult) cpuMedians() (out [3]float64, ok bool) {
	if r == nil || len(r.cpu) == 0 {
		return out, false
	}
	for i := range out {
		var v []float64
		for _, c := range r.cpu {
			v = append(v, c[i])
		}
		out[i] = median(v)
	}
	return out, true
}

func (r *rateResult) median() float64 {
	if r == nil {
		return 0
	}
	return median(r.runs)
}

// add records one run's outcome.
func (r *rateResult) add(rate float64, err error) {
	if err != nil {
		r.errs = append(r.errs, err.Error())
		progress("  %s: error: %v", r.name, err)
		return
	}
	r.runs = append(r.runs, rate)
	progress("  %s: %.0f jobs/s", r.name, rate)
}

// ceilingResult is the value written per job: about 300 bytes of JSON, like a small result record.
var ceilingResult = func() string {
	s := `{"job_id":"0123456789abcdef0123456789abcdef","status":"completed","function":"noop","result":null,` +
		`"job_try":1,"worker_id":"ceiling","queue_name":"bench","start_time":"2026-11-26T12:00:00.000001+00:00",` +
		`"end_time":"2026-11-26T12:00:00.000002+00:00","pad":"`
	return s + strings.Repeat("x", max(0, 298-len(s))) + `"}`
}()

// ceilingOnce publishes n bodies (untimed), then times the plain consumer draining them.
func (e *env) ceilingOnce(ctx context.Context) (float64, error) {
	n := e.opts.n
	queue, prefix := names("ceiling")
	defer e.deleteKeys(prefix)
	defer e.deletePlainQueue(queue)
	if err := e.declarePlain(queue); err != nil {
		return 0, err
	}
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = jobBody(queue, "noop")
	}
	if err := e.publishConfirmed(ctx, queue, bodies, 1000, false); err != nil {
		return 0, fmt.Errorf("publish: %w", err)
	}

	ch, err := e.conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	if err := ch.Qos(e.opts.prefetch, 0, false); err != nil {
		return 0, err
	}
	quiesce()
	cpu0 := cpuClock()
	start := time.Now()
	deliveries, err := ch.Consume(queue, "ceiling", false, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	pipe := e.rdb.Pipeline()
	timeout := time.NewTimer(drainTimeout(n))
	defer timeout.Stop()
	for count := 0; count < n; {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return 0, errors.New("consumer closed by the broker")
			}
			pipe.Set(ctx, prefix+":result:"+strconv.Itoa(count), ceilingResult, resultTTL)
			count++
			if count%ceilingBatch == 0 || count == n {
				if _, err := pipe.Exec(ctx); err != nil {
					return 0, fmt.Errorf("redis pipeline: %w", err)
				}
				if err := d.Ack(true); err != nil {
					return 0, fmt.Errorf("ack: %w", err)
				}
			}
		case <-timeout.C:
			return 0, fmt.Errorf("timed out after %d of %d jobs", count, n)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	e.lastCPU = cpuClock().sub(cpu0).perJob(n)
	_ = ch.Cancel("ceiling", false)
	return float64(n) / elapsed.Seconds(), nil
}

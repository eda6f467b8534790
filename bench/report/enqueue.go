package main

import (
	"context"
	"fmt"
	"time"
)

// Enqueueing: the arqhost client against a plain amqp091 publisher sending the same bodies
// (persistent, confirm mode). Each variant publishes to a fresh queue; the queue's declaration
// (arqhost's includes the 36 delay levels) happens before the clock starts. The variants of one
// run follow each other, so that machine noise spreads over all of them.

// enqueueVariant is one way of enqueueing.
type enqueueVariant struct {
	key, label string
	sequential bool // uses -seq-n jobs instead of -n
	run        func(ctx context.Context, e *env, n int) (time.Duration, error)
}

var enqueueVariants = []enqueueVariant{
	{"plain_async", "plain amqp091, confirms, async window 1000 (reference)", false, plainPublish(1000, false)},
	{"plain_async_arqmsg", "the same, with arqhost's message properties, header and mandatory flag", false, plainPublish(1000, true)},
	{"plain_seq", "plain amqp091, confirms, one at a time", true, plainPublish(1, false)},
	{"enqueue", "client.Enqueue, sequential, result store", true, clientEnqueue},
	{"batch", "client.EnqueueBatch, batches of 1000, result store", false, clientBatch(true)},
	{"batch_nostore", "client.EnqueueBatch, batches of 1000, no result store", false, clientBatch(false)},
}

// enqueueResult is the runs of every variant, in enqueueVariants' order.
type enqueueResult struct {
	variants []enqueueVariant
	rates    []*rateResult
}

// rate returns the result of the variant named key.
func (r *enqueueResult) rate(key string) *rateResult {
	if r == nil {
		return nil
	}
	for i, v := range r.variants {
		if v.key == key {
			return r.rates[i]
		}
	}
	return nil
}

func runEnqueueScenario(ctx context.Context, e *env) *enqueueResult {
	progress("enqueue: %d jobs batched / %d sequential, x %d runs", e.opts.n, e.opts.seqN, e.opts.runs)
	res := &enqueueResult{variants: enqueueVariants}
	for _, v := range enqueueVariants {
		n := e.opts.n
		if v.sequential {
			n = e.opts.seqN
		}
		res.rates = append(res.rates, &rateResult{name: v.key, n: n})
	}
	for range e.opts.runs {
		for i, v := range enqueueVariants {
			if ctx.Err() != nil {
				return res
			}
			r := res.rates[i]
			quiesce()
			stopProfile := e.profile()
			cpu0 := cpuClock()
			elapsed, err := v.run(ctx, e, r.n)
			cpu := cpuClock().sub(cpu0).perJob(r.n)
			stopProfile()
			if err != nil {
				r.add(0, err)
				continue
			}
			r.add(float64(r.n)/elapsed.Seconds(), nil)
			r.cpu = append(r.cpu, cpu)
			progress("    CPU per job: %.0f us here, %.0f us RabbitMQ, %.0f us Redis", cpu[0], cpu[1], cpu[2])
		}
	}
	return res
}

// plainPublish publishes n arqhost job bodies with plain amqp091, confirms on, keeping at most
// window unconfirmed; with arqMsg, as arqhost's messages (see publishConfirmed).
func plainPublish(window int, arqMsg bool) func(ctx context.Context, e *env, n int) (time.Duration, error) {
	return func(ctx context.Context, e *env, n int) (time.Duration, error) {
		queue, _ := names("publish")
		defer e.deletePlainQueue(queue)
		if err := e.declarePlain(queue); err != nil {
			return 0, err
		}
		bodies := make([][]byte, n)
		for i := range bodies {
			bodies[i] = jobBody(queue, "noop")
		}
		start := time.Now()
		if err := e.publishConfirmed(ctx, queue, bodies, window, arqMsg); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
}

// clientEnqueue calls client.Enqueue n times, one after the other.
func clientEnqueue(ctx context.Context, e *env, n int) (time.Duration, error) {
	queue, prefix := names("enqueue")
	defer e.cleanup(queue, prefix)
	c, err := e.newClient(ctx, queue, prefix, true)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Enqueue(ctx, "noop"); err != nil { // declares the topology, untimed
		return 0, err
	}
	start := time.Now()
	for i := range n {
		if _, err := c.Enqueue(ctx, "noop"); err != nil {
			return 0, fmt.Errorf("job %d: %w", i, err)
		}
	}
	return time.Since(start), nil
}

// clientBatch calls client.EnqueueBatch with batches of 1000, with or without a result store.
func clientBatch(withStore bool) func(ctx context.Context, e *env, n int) (time.Duration, error) {
	return func(ctx context.Context, e *env, n int) (time.Duration, error) {
		queue, prefix := names("enqueue")
		defer e.cleanup(queue, prefix)
		c, err := e.newClient(ctx, queue, prefix, withStore)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		if _, err := c.Enqueue(ctx, "noop"); err != nil { // declares the topology, untimed
			return 0, err
		}
		start := time.Now()
		if _, err := enqueueAll(ctx, c, n, "noop"); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
}

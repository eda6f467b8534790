package host

import (
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// consumer receives one queue's deliveries and hands each to a job goroutine. The broker sends at
// most Prefetch unacknowledged deliveries ahead (so at most that many goroutines exist per queue);
// the rest wait in the queue, where other workers can take them. How many jobs run at once is
// bounded in job.go (Worker.slots), not here: a job holds a slot only while its guest runs, so
// reading and writing its record overlaps with other jobs' guests.
//
// Deliveries are acknowledged through an acker (acker.go), which batches the acks of a channel.
type consumer struct {
	w     *Worker
	queue string

	mu      sync.Mutex
	ch      *amqp.Channel
	acks    *acker
	tag     string
	stopped bool
}

func (w *Worker) startConsumer(queue string) (*consumer, error) {
	c := &consumer{w: w, queue: queue}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// start opens a channel, sets its prefetch and consumes the queue.
func (c *consumer) start() error {
	ch, err := c.w.conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq channel: %w", err)
	}
	if err := ch.Qos(c.w.cfg.Prefetch, 0, false); err != nil {
		_ = ch.Close()
		return fmt.Errorf("set prefetch: %w", err)
	}
	tag := "arqhost-" + c.w.cfg.WorkerID + "-" + c.queue
	deliveries, err := ch.Consume(c.queue, tag, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return fmt.Errorf("consume %q: %w", c.queue, err)
	}
	acks := newAcker(ch, c.w.log.With("queue", c.queue), c.w.cfg.Prefetch)
	c.mu.Lock()
	c.ch, c.acks, c.tag = ch, acks, tag
	c.mu.Unlock()
	go c.loop(deliveries, acks)
	return nil
}

// resume consumes again after the deliveries stopped without Stop: the connection was lost, or the
// broker closed the channel (a channel error, a deleted queue). It retries with backoff until it
// succeeds or the worker stops, so that a worker never goes quietly idle.
func (c *consumer) resume() {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-time.After(backoff):
		case <-c.w.done:
			return
		}
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		if stopped || c.w.stopping.Load() {
			return
		}
		err := c.w.declare() // the queue may be gone (deleted by an operator)
		if err == nil {
			err = c.start()
		}
		if err == nil {
			c.w.log.Info("consuming again", "queue", c.queue)
			return
		}
		c.w.log.Warn("cannot consume yet; will try again", "queue", c.queue, "err", err, "in", backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *consumer) loop(deliveries <-chan amqp.Delivery, acks *acker) {
	w := c.w
	var gen sync.WaitGroup // this channel's jobs
	// Jobs run on goroutines that stay for the next delivery once done, so that their stacks,
	// grown by a job, are reused rather than grown again for every job; a delivery that finds
	// none idle starts another (at most Prefetch exist, as that many deliveries at most are held).
	work := make(chan amqp.Delivery)
	run := func(d amqp.Delivery) {
		w.handle(c.queue, d)
		w.inFlight.Add(-1)
		w.jobs.Done()
		gen.Done()
	}
	for d := range deliveries {
		d.Acknowledger = acks
		w.inFlight.Add(1)
		w.jobs.Add(1)
		gen.Add(1)
		if w.stopping.Load() {
			// Received after Stop began: back to the queue, untouched.
			_ = d.Nack(false, true)
			w.inFlight.Add(-1)
			w.jobs.Done()
			gen.Done()
			continue
		}
		select {
		case work <- d:
		default:
			go func() {
				run(d)
				for d := range work {
					run(d)
				}
			}()
		}
	}
	close(work)
	// The channel is gone or cancelled: once its jobs have settled, send their acks and stop the
	// acker (after a lost connection the sends fail, and the broker redelivers).
	go func() {
		gen.Wait()
		acks.close()
	}()
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if !stopped && !w.stopping.Load() {
		w.log.Warn("the broker stopped delivering; consuming again", "queue", c.queue)
		go c.resume()
	}
}

// cancel stops the broker sending more deliveries; the channel stays open so that running jobs
// can still ack (closing a channel right after acking can bring acked messages back on quorum
// queues).
func (c *consumer) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.ch != nil {
		_ = c.ch.Cancel(c.tag, false)
	}
}

func (c *consumer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acks != nil {
		c.acks.close() // the last acks go out before the channel closes
	}
	if c.ch != nil {
		_ = c.ch.Close()
		c.ch = nil
	}
}

func (w *Worker) stopConsumers() {
	w.mu.Lock()
	cs := append([]*consumer(nil), w.consumers...)
	w.mu.Unlock()
	for _, c := range cs {
		c.cancel()
	}
}

func (w *Worker) closeConsumerChannels() {
	w.mu.Lock()
	cs := append([]*consumer(nil), w.consumers...)
	w.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// instanceCollector exposes arqhost_instances from a callback read at every
// scrape.
type instanceCollector struct {
	desc *prometheus.Desc

	mu sync.Mutex
	fn func() []InstanceStat
}

func newInstanceCollector() *instanceCollector {
	return &instanceCollector{
		desc: prometheus.NewDesc(Namespace+"_instances",
			"Wasm module instances in the pool, by state.",
			[]string{"module", "version", "state"}, nil),
	}
}

func (c *instanceCollector) set(f func() []InstanceStat) {
	c.mu.Lock()
	c.fn = f
	c.mu.Unlock()
}

func (c *instanceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *instanceCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	f := c.fn
	c.mu.Unlock()
	if f == nil {
		return
	}
	rows, err := callInstances(f)
	if err != nil {
		return
	}
	type key struct{ module, version string }
	type val struct{ idle, busy int }
	sums := make(map[key]val, len(rows))
	var order []key
	for _, r := range rows {
		k := key{clean(r.Module), clean(r.Version)}
		v, ok := sums[k]
		if !ok {
			order = append(order, k)
		}
		v.idle += r.Idle
		v.busy += r.Busy
		sums[k] = v
	}
	for _, k := range order {
		v := sums[k]
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v.idle), k.module, k.version, "idle")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v.busy), k.module, k.version, "busy")
	}
}

func callInstances(f func() []InstanceStat) (rows []InstanceStat, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("instances callback panicked: %v", r)
		}
	}()
	return f(), nil
}

// queueCollector exposes arqhost_queue_messages and arqhost_queue_consumers
// from a broker callback whose result it caches for ttl. Failures are counted
// on errs and expose no queue series until the next call.
type queueCollector struct {
	messages, consumers *prometheus.Desc
	errs                prometheus.Counter
	ttl                 time.Duration
	now                 func() time.Time

	// mu serialises calls of fn: concurrent scrapes wait for the call in
	// progress and then share its result.
	mu      sync.Mutex
	fn      func() ([]QueueStat, error)
	fetched time.Time // end of the last call; zero when none is cached
	stats   []QueueStat
}

func newQueueCollector(errs prometheus.Counter) *queueCollector {
	return &queueCollector{
		messages: prometheus.NewDesc(Namespace+"_queue_messages",
			"Messages in a queue, by state, as reported by the broker.",
			[]string{"queue", "state"}, nil),
		consumers: prometheus.NewDesc(Namespace+"_queue_consumers",
			"Consumers attached to a queue, as reported by the broker.",
			[]string{"queue"}, nil),
		errs: errs,
		ttl:  QueueStatsTTL,
		now:  time.Now,
	}
}

func (c *queueCollector) set(f func() ([]QueueStat, error)) {
	c.mu.Lock()
	c.fn = f
	c.fetched = time.Time{}
	c.stats = nil
	c.mu.Unlock()
}

// Describe and Collect also cover the error counter, so that a scrape that fails to read the
// queues reports that failure in the same scrape (registered separately, the counter could be
// gathered before the queue callback ran).
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.consumers
	c.errs.Describe(ch)
}

// current returns the cached statistics, refreshing them first when they are
// older than ttl.
func (c *queueCollector) current() []QueueStat {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fn == nil {
		return nil
	}
	if !c.fetched.IsZero() && c.now().Sub(c.fetched) < c.ttl {
		return c.stats
	}
	stats, err := callQueues(c.fn)
	c.fetched = c.now()
	if err != nil {
		c.errs.Inc()
		c.stats = nil
		return nil
	}
	c.stats = stats
	return stats
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	rows := c.current()
	c.errs.Collect(ch)
	type val struct{ ready, delayed, dead, consumers int }
	sums := make(map[string]val, len(rows))
	var order []string
	for _, r := range rows {
		q := clean(r.Queue)
		v, ok := sums[q]
		if !ok {
			order = append(order, q)
		}
		v.ready += r.Ready
		v.delayed += r.Delayed
		v.dead += r.DeadLettered
		v.consumers += r.Consumers
		sums[q] = v
	}
	for _, q := range order {
		v := sums[q]
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(v.ready), q, "ready")
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(v.delayed), q, "delayed")
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(v.dead), q, "dead_lettered")
		ch <- prometheus.MustNewConstMetric(c.consumers, prometheus.GaugeValue, float64(v.consumers), q)
	}
}

func callQueues(f func() ([]QueueStat, error)) (rows []QueueStat, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, fmt.Errorf("queue stats callback panicked: %v", r)
		}
	}()
	return f()
}

// Package metrics holds the Prometheus metrics and the health endpoints of an
// arqhost worker.
//
// Every series is named arqhost_* and every label set is bounded: labels carry
// queue, task, module, version, outcome, class, reason or state, never a job
// id. Task names come from job messages, which a publisher controls, so the
// number of distinct task label values is capped (see MaxTaskLabels); values
// past the cap are reported as OverflowLabel.
//
// A nil *Metrics is valid: every method on it is a no-op, so callers need no
// nil checks.
package metrics

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric name.
const Namespace = "arqhost"

// MaxTaskLabels caps the number of distinct task label values a Metrics keeps.
// Once reached, new task names are reported as OverflowLabel so that a
// publisher sending arbitrary task names cannot grow the series count without
// bound.
const MaxTaskLabels = 1000

// OverflowLabel replaces task names past MaxTaskLabels.
const OverflowLabel = "_overflow"

// maxLabelLen bounds the length in bytes of any label value.
const maxLabelLen = 128

// QueueStatsTTL is how long the result of the QueueDepthFunc callback is reused
// before the callback is called again.
const QueueStatsTTL = 5 * time.Second

// Histogram buckets, in seconds. Exponential, rounded to three significant
// digits so that the le labels stay readable.
var (
	// JobDurationBuckets: 100µs .. 5min.
	JobDurationBuckets = expBuckets(100e-6, 300, 17)
	// LatenessBuckets: 1ms .. 60s.
	LatenessBuckets = expBuckets(1e-3, 60, 13)
	// InstantiationBuckets: 10µs .. 10s.
	InstantiationBuckets = expBuckets(10e-6, 10, 16)
)

// expBuckets returns count exponential bucket bounds from lo to hi inclusive,
// each rounded to three significant digits.
func expBuckets(lo, hi float64, count int) []float64 {
	b := prometheus.ExponentialBucketsRange(lo, hi, count)
	for i, v := range b {
		r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		if err == nil {
			b[i] = r
		}
	}
	return b
}

// InstanceStat is one row of the instance pool gauge: how many instances of a
// module version are idle and busy.
type InstanceStat struct {
	Module, Version string
	Idle, Busy      int
}

// QueueStat is one row of the queue gauges, as reported by the broker.
type QueueStat struct {
	Queue                        string
	Ready, Delayed, DeadLettered int
	Consumers                    int
}

// Metrics holds every arqhost series of one worker. Create it with New.
type Metrics struct {
	tasks *labelLimiter

	inFlight     *prometheus.GaugeVec
	jobs         *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	retries      *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	lateness     *prometheus.HistogramVec
	redeliveries *prometheus.CounterVec
	skipped      *prometheus.CounterVec

	instantiations   *prometheus.CounterVec
	instantiationDur *prometheus.HistogramVec
	swaps            *prometheus.CounterVec
	loadFailures     *prometheus.CounterVec

	instances   *instanceCollector
	queues      *queueCollector
	queueErrors prometheus.Counter
}

// New creates the arqhost metrics and registers them on reg. It panics if one
// of them is already registered there (New called twice on one registry).
// A nil reg registers nothing; the returned Metrics still works.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		tasks: newLabelLimiter(MaxTaskLabels),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "jobs_in_flight",
			Help: "Jobs currently being executed.",
		}, []string{"queue", "task"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "jobs_total",
			Help: "Jobs finished, by outcome.",
		}, []string{"queue", "task", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "job_duration_seconds",
			Help:    "Time from the start to the end of a job execution.",
			Buckets: JobDurationBuckets,
		}, []string{"queue", "task", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "job_retries_total",
			Help: "Jobs scheduled for another try, by error class.",
		}, []string{"queue", "task", "class"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "jobs_dead_lettered_total",
			Help: "Jobs sent to the dead-letter queue, by final outcome.",
		}, []string{"queue", "task", "outcome"}),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delayed_job_lateness_seconds",
			Help:    "How late a deferred job started after its defer_until.",
			Buckets: LatenessBuckets,
		}, []string{"queue"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "redeliveries_total",
			Help: "Messages received with the broker's redelivered flag set.",
		}, []string{"queue"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "jobs_skipped_total",
			Help: "Messages acknowledged without running the job, by reason.",
		}, []string{"queue", "reason"}),
		instantiations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "instantiations_total",
			Help: "Wasm module instances created.",
		}, []string{"module", "version"}),
		instantiationDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "instantiation_seconds",
			Help:    "Time to create a Wasm module instance.",
			Buckets: InstantiationBuckets,
		}, []string{"module"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "module_swaps_total",
			Help: "Hot swaps of a module to a new version.",
		}, []string{"module"}),
		loadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "module_load_failures_total",
			Help: "Failed attempts to load or compile a module.",
		}, []string{"module"}),
		queueErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "queue_stats_errors_total",
			Help: "Failed calls of the queue statistics callback.",
		}),
	}
	m.instances = newInstanceCollector()
	m.queues = newQueueCollector(m.queueErrors)
	if reg != nil {
		reg.MustRegister(
			m.inFlight, m.jobs, m.duration, m.retries, m.deadLettered,
			m.lateness, m.redeliveries, m.skipped,
			m.instantiations, m.instantiationDur, m.swaps, m.loadFailures,
			m.instances, m.queues,
		)
	}
	return m
}

// NewRegistry returns a fresh registry holding the standard Go runtime and
// process collectors. It does not hold the arqhost metrics: add them with
// New(reg), which gives back the *Metrics to record through.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// JobStarted adds one to arqhost_jobs_in_flight{queue,task}. Pair every call
// with one JobFinished carrying the same queue and task.
func (m *Metrics) JobStarted(queue, task string) {
	if m == nil {
		return
	}
	m.inFlight.WithLabelValues(clean(queue), m.tasks.value(task)).Inc()
}

// JobFinished ends a job started with JobStarted: it takes one from
// arqhost_jobs_in_flight{queue,task}, counts arqhost_jobs_total and observes
// arqhost_job_duration_seconds, both labelled {queue,task,outcome}. The module
// is accepted for the caller's convenience but is not a label of these series
// (a task maps to one module; per-module series are the runtime ones).
func (m *Metrics) JobFinished(queue, task, module, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	_ = module
	q, t, o := clean(queue), m.tasks.value(task), clean(outcome)
	m.inFlight.WithLabelValues(q, t).Dec()
	m.jobs.WithLabelValues(q, t, o).Inc()
	m.duration.WithLabelValues(q, t, o).Observe(seconds(d))
}

// JobRetried counts arqhost_job_retries_total{queue,task,class}.
func (m *Metrics) JobRetried(queue, task, class string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(clean(queue), m.tasks.value(task), clean(class)).Inc()
}

// JobDeadLettered counts arqhost_jobs_dead_lettered_total{queue,task,outcome}.
// Task is "" for a malformed message.
func (m *Metrics) JobDeadLettered(queue, task, outcome string) {
	if m == nil {
		return
	}
	m.deadLettered.WithLabelValues(clean(queue), m.tasks.value(task), clean(outcome)).Inc()
}

// DelayLateness observes arqhost_delayed_job_lateness_seconds{queue}: how late
// a deferred job started after its defer_until. Negative values count as 0.
func (m *Metrics) DelayLateness(queue string, late time.Duration) {
	if m == nil {
		return
	}
	m.lateness.WithLabelValues(clean(queue)).Observe(seconds(late))
}

// Redelivered counts arqhost_redeliveries_total{queue}.
func (m *Metrics) Redelivered(queue string) {
	if m == nil {
		return
	}
	m.redeliveries.WithLabelValues(clean(queue)).Inc()
}

// Skipped counts arqhost_jobs_skipped_total{queue,reason}; reason is one of
// already_done, stale_try, aborted, duplicate (a second delivery of a job this worker is already
// handling).
func (m *Metrics) Skipped(queue, reason string) {
	if m == nil {
		return
	}
	m.skipped.WithLabelValues(clean(queue), clean(reason)).Inc()
}

// Instantiated counts arqhost_instantiations_total{module,version} and
// observes arqhost_instantiation_seconds{module}.
func (m *Metrics) Instantiated(module, version string, d time.Duration) {
	if m == nil {
		return
	}
	mod := clean(module)
	m.instantiations.WithLabelValues(mod, clean(version)).Inc()
	m.instantiationDur.WithLabelValues(mod).Observe(seconds(d))
}

// ModuleSwapped counts arqhost_module_swaps_total{module}.
func (m *Metrics) ModuleSwapped(module string) {
	if m == nil {
		return
	}
	m.swaps.WithLabelValues(clean(module)).Inc()
}

// ModuleLoadFailed counts arqhost_module_load_failures_total{module}.
func (m *Metrics) ModuleLoadFailed(module string) {
	if m == nil {
		return
	}
	m.loadFailures.WithLabelValues(clean(module)).Inc()
}

// InstancesFunc sets the callback read at every scrape to expose
// arqhost_instances{module,version,state="idle"|"busy"}. It replaces any
// earlier callback; nil removes it. The callback must be cheap and safe for
// concurrent use. Rows with the same module and version are summed; a
// panicking callback exposes no instance series for that scrape.
func (m *Metrics) InstancesFunc(f func() []InstanceStat) {
	if m == nil {
		return
	}
	m.instances.set(f)
}

// QueueDepthFunc sets the callback that asks the broker for queue statistics,
// exposed as arqhost_queue_messages{queue,state="ready"|"delayed"|"dead_lettered"}
// and arqhost_queue_consumers{queue}. Its result is reused for QueueStatsTTL
// so that frequent scrapes do not hammer the broker. A callback that panics
// counts as failed; see QueueDepthFuncErr for the semantics of failures. It
// replaces any earlier callback; nil removes it.
func (m *Metrics) QueueDepthFunc(f func() []QueueStat) {
	if m == nil {
		return
	}
	if f == nil {
		m.queues.set(nil)
		return
	}
	m.queues.set(func() ([]QueueStat, error) { return f(), nil })
}

// QueueDepthFuncErr is QueueDepthFunc for a callback that reports failure with
// an error. A failed call (error or panic) adds one to
// arqhost_queue_stats_errors_total and exposes no queue series until the next
// call, QueueStatsTTL later; the scrape itself still succeeds. The callback
// should bound its own duration (well under the scrape timeout): concurrent
// scrapes wait for the one call in progress.
func (m *Metrics) QueueDepthFuncErr(f func() ([]QueueStat, error)) {
	if m == nil {
		return
	}
	m.queues.set(f)
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}

// clean makes s a valid, bounded label value: invalid UTF-8 is replaced (the
// client library panics on it) and the length is capped.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > maxLabelLen {
		cut := maxLabelLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// labelLimiter lets through at most limit distinct values; later new values
// become OverflowLabel. A value once admitted stays admitted, so a given
// value always maps to the same label.
type labelLimiter struct {
	mu    sync.RWMutex
	limit int
	seen  map[string]struct{}
}

func newLabelLimiter(limit int) *labelLimiter {
	return &labelLimiter{limit: limit, seen: make(map[string]struct{})}
}

func (l *labelLimiter) value(v string) string {
	v = clean(v)
	l.mu.RLock()
	_, ok := l.seen[v]
	l.mu.RUnlock()
	if ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= l.limit {
		return OverflowLabel
	}
	l.seen[v] = struct{}{}
	return v
}

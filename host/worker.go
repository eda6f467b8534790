// Package host is the arqhost worker: it consumes jobs from RabbitMQ, runs each on the Wasm module
// that serves its task, records the result in Redis, and retries or dead-letters what fails.
//
// A worker is built with New and driven with Start and Stop (or Run, which does both around a
// context). Everything it needs comes in a Config; the defaults follow the original rabbitmq-arq
// library. The pieces live one per file: consumer.go (RabbitMQ deliveries), job.go (one job from
// delivery to ack), retry.go (the retry policy), burst.go (burst mode), aborts.go (abort
// requests are handled in worker.go), hooks.go (embedders' callbacks).
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/control"
	"github.com/arqhost/arqhost/internal/metrics"
	"github.com/arqhost/arqhost/internal/store"
)

// Config configures a Worker. Zero fields take the defaults noted.
type Config struct {
	// RabbitMQURL is the broker (amqp:// or amqps://). Default amqp://guest:guest@127.0.0.1:5672/.
	RabbitMQURL string
	// RedisURL is the result store (redis://, rediss://, redis-sentinel://, redis-cluster://).
	// Empty disables result storage (and with it completion-once across redeliveries, deduplication
	// and aborts).
	RedisURL string
	// KeyPrefix of the result records in Redis. Default "rabbitmq_arq", the original library's.
	KeyPrefix string
	// ResultTTL is how long result records live. Default 24h.
	ResultTTL time.Duration
	// Queues to consume. Default ["default"].
	Queues []string
	// Quorum declares quorum queues instead of classic ones.
	Quorum bool
	// Concurrency is the most jobs running at once. Default 10.
	Concurrency int
	// Prefetch is how many unacknowledged deliveries the broker sends ahead, per queue (each queue
	// has its own consumer). Deliveries beyond Concurrency wait in the worker, invisible to other
	// workers. Default 100, and at least Concurrency.
	Prefetch int
	// Retry is the retry policy. Zero value: DefaultRetryPolicy().
	Retry RetryPolicy
	// JobTimeout is the default wall-clock limit of a job (a module's sidecar may override it).
	// Default 300s.
	JobTimeout time.Duration
	// Limits are the other default module limits (memory, instances, output size).
	Limits wasm.Limits
	// Modules is the directory of task modules (*.wasm); Registry may be given instead.
	Modules string
	// Registry is an already loaded set of modules. The worker does not close it, and sets its
	// Notify function.
	Registry *registry.Registry
	// WatchModules reloads the modules whenever a file of the modules directory is added, replaced
	// or removed (hot swap: registry.Registry.Reload). WatchDebounce is how quiet the directory
	// must be first (default 250ms); ModulesPoll, when positive, also rescans it at that interval,
	// for filesystems that do not report changes.
	WatchModules  bool
	WatchDebounce time.Duration
	ModulesPoll   time.Duration
	// CacheDir is wazero's compilation cache (see wasm.Config.CacheDir).
	CacheDir string
	// WorkerID names the worker in results, logs and DLQ headers. Default hostname-pid.
	WorkerID string
	// Burst makes the worker stop once its queues are empty, nothing runs and no job of its queues
	// waits in the delay topology; BurstTimeout bounds how long it runs in burst mode.
	Burst         bool
	BurstTimeout  time.Duration
	BurstInterval time.Duration // how often burst mode checks (default 500ms)
	// ShutdownGrace is how long Stop lets running jobs finish before interrupting them and returning
	// them to the queue. Default 30s.
	ShutdownGrace time.Duration
	// InProgressAfter is how long a job runs before its in_progress record is written to the
	// result store. Default 50ms: a job that ends sooner goes from queued straight to its outcome,
	// which saves a Redis write per job (a third of a short job's bookkeeping). A negative value
	// writes the record before every job starts, in one step with the check that the job is not
	// done already. Either way a duplicate delivery of a finished job is never run.
	InProgressAfter time.Duration
	// Hooks are called at points of the worker's and each job's life.
	Hooks Hooks
	// Logger receives the worker's records. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, receives the worker's Prometheus metrics (jobs by task and outcome,
	// durations, retries, dead-lettered jobs, queue depths, instances, instantiation time, delayed
	// jobs' lateness). See internal/metrics for the names.
	Metrics prometheus.Registerer
}

// DefaultInProgressAfter is Config.InProgressAfter's default.
const DefaultInProgressAfter = 50 * time.Millisecond

// ErrUnreachable is wrapped by the error of New when RabbitMQ or Redis cannot be reached.
var ErrUnreachable = errors.New("service unreachable")

type serviceError struct {
	what string
	err  error
}

func (e *serviceError) Error() string   { return e.what + ": " + e.err.Error() }
func (e *serviceError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

func (c *Config) setDefaults() {
	if c.RabbitMQURL == "" {
		c.RabbitMQURL = "amqp://guest:guest@127.0.0.1:5672/"
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "rabbitmq_arq"
	}
	if c.ResultTTL == 0 {
		c.ResultTTL = 24 * time.Hour
	}
	if len(c.Queues) == 0 {
		c.Queues = []string{"default"}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 100
	}
	if c.Prefetch < c.Concurrency {
		c.Prefetch = c.Concurrency
	}
	def := DefaultRetryPolicy()
	if c.Retry.MaxTries == 0 { // no policy given: the default one (a given Backoff of 0 means "at once")
		c.Retry.MaxTries = def.MaxTries
		if c.Retry.Backoff == 0 {
			c.Retry.Backoff = def.Backoff
		}
	}
	if c.Retry.Retry == nil {
		c.Retry.Retry = def.Retry
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = 300 * time.Second
	}
	if c.WorkerID == "" {
		host, _ := os.Hostname()
		c.WorkerID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if c.BurstInterval == 0 {
		c.BurstInterval = 500 * time.Millisecond
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.InProgressAfter == 0 {
		c.InProgressAfter = DefaultInProgressAfter
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Worker consumes and runs jobs. Start it once; Stop may be called any number of times.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	engine   *wasm.Engine
	registry *registry.Registry
	ownsReg  bool
	conn     *broker.Conn
	pub      *broker.Publisher
	store    *store.Store     // nil when result storage is disabled
	metrics  *metrics.Metrics // nil when metrics are off (its methods are no-ops then)

	slots    chan struct{} // one per job whose guest is running (Concurrency)
	ahead    chan struct{} // one per job begun and not yet run (2 x Concurrency; job.go)
	held     atomic.Int64  // early jobs being held until due (hold.go)
	jobs     sync.WaitGroup
	inFlight atomic.Int64 // deliveries received and not yet settled (acked or nacked)

	handlingMu sync.Mutex
	handling   map[handlingKey]*handling // job tries with a delivery being handled here (handling.go)

	legacyMu   sync.Mutex
	legacyGone map[string]bool // queues whose legacy classic delay levels are deleted (retireLegacy)

	mu           sync.Mutex
	running      map[string]context.CancelCauseFunc // job id -> cancel, for aborts
	recentAborts map[string]time.Time               // aborts of jobs that were not running when they came
	consumers    []*consumer
	stopAborts   func()
	stopWatch    func()
	control      *control.Server

	// jobsCtx is the parent of every job's context; cancelled when the shutdown grace ends.
	jobsCtx    context.Context
	cancelJobs context.CancelCauseFunc
	// life is the parent of background work (module reloads); cancelled when Stop begins.
	life    context.Context
	endLife context.CancelFunc

	started  atomic.Bool
	stopping atomic.Bool
	done     chan struct{} // closed when the worker has stopped
	stopErr  error
}

// errShutdown and errAborted are the causes of a job's context ending before it finished.
var (
	errShutdown = errors.New("worker shutting down")
	errAborted  = errors.New("job aborted")
)

// New prepares a worker: it loads the modules, connects to RabbitMQ and Redis, and declares the
// queues. It does not consume until Start. A service that cannot be reached is tried again, with
// backoff, until ctx ends (a refusal, such as wrong credentials, fails at once): give ctx a
// deadline, as the CLI does with --connection-timeout.
func New(ctx context.Context, cfg Config) (*Worker, error) {
	cfg.setDefaults()
	w := &Worker{cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.Concurrency),
		ahead:   make(chan struct{}, 2*cfg.Concurrency),
		running: make(map[string]context.CancelCauseFunc), recentAborts: make(map[string]time.Time),
		handling: make(map[handlingKey]*handling), legacyGone: make(map[string]bool),
		done: make(chan struct{})}
	w.jobsCtx, w.cancelJobs = context.WithCancelCause(context.WithoutCancel(ctx))
	w.life, w.endLife = context.WithCancel(context.WithoutCancel(ctx))
	ok := false
	defer func() {
		if !ok {
			w.closeResources(context.WithoutCancel(ctx))
		}
	}()
	if cfg.Metrics != nil {
		w.metrics = metrics.New(cfg.Metrics)
	}
	if err := w.loadModules(ctx); err != nil {
		return nil, err
	}
	w.registry.Notify(w.moduleEvent)
	if cfg.RedisURL != "" {
		s, err := store.Open(ctx, cfg.RedisURL, store.Options{Prefix: cfg.KeyPrefix, TTL: cfg.ResultTTL, Logger: w.log})
		if err != nil {
			return nil, &serviceError{"result store", err}
		}
		w.store = s
	}
	conn, err := broker.Dial(ctx, cfg.RabbitMQURL, broker.DialOptions{Name: "arqhost worker " + cfg.WorkerID, Logger: cfg.Logger})
	if err != nil {
		return nil, &serviceError{"rabbitmq", err}
	}
	w.conn = conn
	w.pub = broker.NewPublisher(conn)
	w.pub.Lead = broker.DefaultLead // workers hold early jobs until their defer_until (host/job.go)
	if err := w.declare(); err != nil {
		return nil, err
	}
	w.registerGauges()
	ok = true
	return w, nil
}

// registerGauges gives the metrics the callbacks they read at scrape time.
func (w *Worker) registerGauges() {
	if w.metrics == nil {
		return
	}
	w.metrics.InstancesFunc(func() []metrics.InstanceStat {
		var out []metrics.InstanceStat
		for _, m := range append(w.registry.Modules(), w.registry.Draining()...) {
			st := m.Stats()
			out = append(out, metrics.InstanceStat{Module: m.Name(), Version: m.ShortVersion(), Idle: st.Idle, Busy: st.Live - st.Idle})
		}
		return out
	})
	w.metrics.QueueDepthFuncErr(func() ([]metrics.QueueStat, error) {
		var out []metrics.QueueStat
		for _, q := range w.cfg.Queues {
			d, err := w.conn.Inspect(q, w.queueOptions())
			if err != nil {
				return out, err
			}
			out = append(out, metrics.QueueStat{Queue: q, Ready: d.Ready, Delayed: d.Delayed, DeadLettered: d.DeadLettered, Consumers: d.Consumers})
		}
		return out, nil
	})
}

// Ready reports whether the worker can take jobs: connected to RabbitMQ, with modules loaded.
// It backs the /readyz endpoint.
func (w *Worker) Ready() error {
	switch {
	case w.conn == nil || !w.conn.Connected():
		return errors.New("not connected to RabbitMQ")
	case len(w.registry.Tasks()) == 0:
		return errors.New("no task modules loaded")
	case w.stopping.Load():
		return errors.New("stopping")
	}
	return nil
}

func (w *Worker) loadModules(ctx context.Context) error {
	if w.cfg.Registry != nil {
		w.registry = w.cfg.Registry
		return nil
	}
	if w.cfg.Modules == "" {
		return errors.New("no modules: set Config.Modules to a directory of *.wasm task modules")
	}
	limits := w.cfg.Limits
	limits.Timeout = w.cfg.JobTimeout
	e, err := wasm.NewEngine(wasm.Config{CacheDir: w.cfg.CacheDir, Concurrency: w.cfg.Concurrency, Defaults: limits, Logger: w.log,
		OnInstantiate: w.metrics.Instantiated})
	if err != nil {
		return err
	}
	w.engine = e
	reg, err := registry.Load(ctx, e, w.cfg.Modules)
	if err != nil {
		return err
	}
	w.registry, w.ownsReg = reg, true
	return nil
}

func (w *Worker) queueOptions() broker.QueueOptions { return broker.QueueOptions{Quorum: w.cfg.Quorum} }

// declare declares every queue's topology.
func (w *Worker) declare() error {
	ch, err := w.conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq channel: %w", err)
	}
	defer ch.Close()
	for _, q := range w.cfg.Queues {
		if _, err := broker.Declare(ch, q, w.queueOptions()); err != nil {
			return fmt.Errorf("declare queue %q: %w", q, err)
		}
		if !w.retireLegacy(q) {
			w.log.Info("legacy classic delay levels still hold delayed jobs; they move into the queue as they fall due, and a later start or reconnection deletes the empty levels", "queue", q)
		}
	}
	return nil
}

// retireLegacy deletes queue's classic delay levels of earlier builds once they are empty
// (internal/broker/legacy.go) and reports whether none is left. Once they are gone it does not ask
// the broker again. Burst mode calls it too: jobs in those levels are work still to come.
func (w *Worker) retireLegacy(queue string) bool {
	w.legacyMu.Lock()
	defer w.legacyMu.Unlock()
	if w.legacyGone[queue] {
		return true
	}
	retired, err := w.conn.RetireLegacyLevels(queue)
	if err != nil {
		w.log.Warn("cannot delete the legacy classic delay levels", "queue", queue, "err", err)
		return false
	}
	w.legacyGone[queue] = retired
	return retired
}

// Start begins consuming. It returns once every queue has a consumer.
func (w *Worker) Start(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("worker already started")
	}
	if err := w.cfg.Hooks.startup(ctx, w); err != nil {
		return fmt.Errorf("on_startup hook: %w", err)
	}
	if w.store != nil {
		stop, err := w.store.SubscribeAborts(w.jobsCtx, w.abort)
		if err != nil {
			return fmt.Errorf("subscribe to aborts: %w", err)
		}
		w.stopAborts = stop
	}
	for _, q := range w.cfg.Queues {
		c, err := w.startConsumer(q)
		if err != nil {
			w.stopConsumers()
			return err
		}
		w.mu.Lock()
		w.consumers = append(w.consumers, c)
		w.mu.Unlock()
	}
	if err := w.startWatching(w.life); err != nil {
		w.stopConsumers()
		return err
	}
	w.startControl()
	go w.watchReconnects()
	if w.cfg.Burst {
		go w.runBurst()
	}
	for _, m := range w.registry.Modules() {
		w.log.Info("serving module", "module", m.Name(), "version", m.ShortVersion(), "tasks", m.Tasks())
	}
	w.log.Info("worker started", "worker_id", w.cfg.WorkerID, "queues", w.cfg.Queues,
		"concurrency", w.cfg.Concurrency, "prefetch", w.cfg.Prefetch, "tasks", w.registry.Tasks(),
		"result_store", w.store != nil)
	return nil
}

// Stop stops consuming, lets running jobs finish for up to the shutdown grace (or until ctx ends),
// then interrupts the rest and returns them to their queue. Deliveries received but not started
// go back to the queue too. Nothing is dropped. Stop may be called more than once.
func (w *Worker) Stop(ctx context.Context) error {
	if !w.stopping.CompareAndSwap(false, true) {
		<-w.done
		return w.stopErr
	}
	defer close(w.done)
	w.log.Info("worker stopping", "worker_id", w.cfg.WorkerID, "running", w.Running(), "grace", w.cfg.ShutdownGrace)
	w.endLife() // a reload in progress is abandoned (nothing is swapped)
	w.stopConsumers()
	w.mu.Lock()
	stopWatch, ctl := w.stopWatch, w.control
	w.mu.Unlock()
	if stopWatch != nil {
		stopWatch()
	}
	if ctl != nil {
		ctl.Stop()
	}
	finished := make(chan struct{})
	go func() { w.jobs.Wait(); close(finished) }()
	grace := time.NewTimer(w.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-finished:
	case <-grace.C:
		w.log.Warn("shutdown grace over: interrupting running jobs and returning them to the queue", "running", w.Running())
		w.cancelJobs(errShutdown)
		<-finished
	case <-ctx.Done():
		w.cancelJobs(errShutdown)
		<-finished
	}
	w.closeConsumerChannels()
	w.cfg.Hooks.shutdown(context.WithoutCancel(ctx), w)
	w.closeResources(context.WithoutCancel(ctx))
	w.log.Info("worker stopped", "worker_id", w.cfg.WorkerID)
	return w.stopErr
}

// Run starts the worker and stops it when ctx ends or, in burst mode, when the work is done.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		_ = w.Stop(context.WithoutCancel(ctx))
		return err
	}
	select {
	case <-ctx.Done():
		return w.Stop(context.WithoutCancel(ctx))
	case <-w.done:
		return w.stopErr
	}
}

// Done is closed once the worker has stopped (after Stop, or by itself in burst mode).
func (w *Worker) Done() <-chan struct{} { return w.done }

// Running is the number of jobs running now.
func (w *Worker) Running() int { return len(w.slots) }

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.WorkerID }

// Registry is the set of modules the worker runs.
func (w *Worker) Registry() *registry.Registry { return w.registry }

func (w *Worker) closeResources(ctx context.Context) {
	if w.stopAborts != nil {
		w.stopAborts()
	}
	if w.pub != nil {
		w.pub.Close()
	}
	if w.conn != nil {
		_ = w.conn.Close()
	}
	if w.store != nil {
		_ = w.store.Close()
	}
	if w.ownsReg && w.registry != nil {
		_ = w.registry.Close(ctx)
	}
	if w.engine != nil {
		_ = w.engine.Close(ctx)
	}
}

// abort interrupts a running job (called for every abort request published in Redis).
//
// An abort for a job that is not running here is remembered for a while: the job may be between
// its record lookup (which checks the abort flag) and its start.
func (w *Worker) abort(id string) {
	now := time.Now()
	w.mu.Lock()
	cancel := w.running[id]
	if cancel == nil {
		w.recentAborts[id] = now
		for k, at := range w.recentAborts {
			if now.Sub(at) > time.Minute {
				delete(w.recentAborts, k)
			}
		}
	}
	w.mu.Unlock()
	if cancel != nil {
		w.log.Info("aborting running job", "job_id", id)
		cancel(errAborted)
	}
}

// watchReconnects re-declares the topology after the broker connection came back.
func (w *Worker) watchReconnects() {
	reconnected := w.conn.NotifyReconnect()
	for {
		select {
		case <-w.done:
			return
		case _, ok := <-reconnected:
			if !ok || w.stopping.Load() {
				return
			}
			// The consumers resume by themselves (consumer.resume).
			w.log.Warn("reconnected to RabbitMQ: declaring queues again")
			if err := w.declare(); err != nil {
				w.log.Error("cannot declare queues after reconnecting", "err", err)
			}
		}
	}
}

package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/internal/jsonscan"
)

// Module is one loaded task module: its compiled code, the tasks it serves, its limits and its pool
// of instances. Invoke is safe for concurrent use.
type Module struct {
	engine  *Engine
	path    string
	name    string
	version string
	limits  Limits
	tasks   []string
	sdk     string
	flavor  string
	pool    *pool
	code    interface{ close(context.Context) error }
}

// Name is the module's file name without ".wasm".
func (m *Module) Name() string { return m.name }

// Path is the file the module was loaded from.
func (m *Module) Path() string { return m.path }

// Version is the hex SHA-256 of the module's bytes.
func (m *Module) Version() string { return m.version }

// ShortVersion is the first 12 hex digits of Version, for logs and tables.
func (m *Module) ShortVersion() string { return m.version[:12] }

// Tasks are the task names the module declared in its manifest.
func (m *Module) Tasks() []string { return append([]string(nil), m.tasks...) }

// Limits are the module's effective limits.
func (m *Module) Limits() Limits { return m.limits }

// Flavor is "native" for arqhost's own ABI and "extism" for a module built with an Extism PDK.
func (m *Module) Flavor() string { return m.flavor }

// SDK is the free-text "sdk" member of the module's manifest.
func (m *Module) SDK() string { return m.sdk }

// Stats is a snapshot of the module's instance pool.
func (m *Module) Stats() PoolStats { return m.pool.stats() }

// Retire prepares a module that has been replaced for its last jobs: its idle instances are closed
// and none is kept warm any more; jobs already holding the module still get instances.
func (m *Module) Retire(ctx context.Context) { m.pool.releaseIdle(ctx) }

// Close stops new jobs from starting on the module, waits for running ones to finish (or ctx to
// end), and releases every instance and the compiled code.
//
// If ctx ends first, Close returns its error and the compiled code is released in the background
// once the last running job has returned: it is never pulled from under a running guest.
func (m *Module) Close(ctx context.Context) error {
	if err := m.pool.close(ctx); err != nil {
		go func() {
			<-m.pool.drained
			_ = m.code.close(context.Background())
		}()
		return err
	}
	return m.code.close(context.WithoutCancel(ctx))
}

func (e *Engine) loadNative(ctx context.Context, m *Module, code *nativeCode) error {
	if err := checkNative(code.compiled, m.limits); err != nil {
		return err
	}
	m.flavor, m.code = "native", code
	sctx, cancel := context.WithTimeout(ctx, m.limits.setupTimeout())
	first, err := code.instantiate(sctx)
	cancel()
	if err != nil {
		return err
	}
	in := first.(*nativeInstance)
	ok := false
	defer func() {
		if !ok {
			in.close(ctx)
		}
	}()
	cctx, cancelCalls := context.WithTimeout(withCallState(ctx, &callState{module: m}), m.limits.setupTimeout())
	defer cancelCalls()
	v, err := in.call0(cctx, abi.ExportABIVersion)
	if err != nil {
		return fmt.Errorf("%s: %w", abi.ExportABIVersion, err)
	}
	if int32(v) != abi.Version {
		return fmt.Errorf("%w: the module speaks ABI version %d; this host runs version %d", ErrUnsupportedABI, int32(v), abi.Version)
	}
	packed, err := in.call0(cctx, abi.ExportManifest)
	if err != nil {
		return fmt.Errorf("%s: %w", abi.ExportManifest, err)
	}
	ptr, n := abi.Unpack(packed)
	if n > 1<<20 {
		return fmt.Errorf("%s returned %d bytes; a manifest may have at most 1 MiB", abi.ExportManifest, n)
	}
	b, readOK := in.mem.Read(ptr, n)
	if !readOK {
		return fmt.Errorf("%s returned a range outside memory", abi.ExportManifest)
	}
	man, err := parseManifest(b)
	if err != nil {
		return err
	}
	m.tasks, m.sdk = man.Tasks, man.SDK
	ok = true
	return e.startPool(ctx, m, code.instantiate, first)
}

// startPool gives m its pool, seeded with the instance used for validation, and warms it.
func (e *Engine) startPool(ctx context.Context, m *Module, newInstance func(context.Context) (instance, error), first instance) error {
	if hook := e.cfg.OnInstantiate; hook != nil {
		inner := newInstance
		newInstance = func(ctx context.Context) (instance, error) {
			start := time.Now()
			in, err := inner(ctx)
			if err == nil {
				hook(m.name, m.ShortVersion(), time.Since(start))
			}
			return in, err
		}
	}
	m.pool = newPool(m.limits.MinInstances, m.limits.MaxInstances, m.limits.setupTimeout(), newInstance, func(err error) {
		e.logger.Error("cannot instantiate module", "module", m.name, "version", m.ShortVersion(), "err", err)
	})
	m.pool.seed(first)
	if err := m.pool.warm(ctx); err != nil {
		_ = m.pool.close(ctx)
		return err
	}
	return nil
}

// Invoke runs one job on an instance of the module and returns its outcome. It waits for a free
// instance while all are busy (bounded by ctx); the module's timeout starts when the job does.
// The caller's ctx ending stops the job and yields a Canceled outcome.
func (m *Module) Invoke(ctx context.Context, in *abi.Input) Outcome {
	if in == nil {
		return m.tag(Outcome{Kind: UnknownTask, Reason: "no job input"})
	}
	input, err := encodeInput(in)
	if err != nil {
		// Only malformed args or kwargs (json.RawMessage) can fail here: the caller's fault.
		return m.tag(Outcome{Kind: GuestError, Error: &abi.Error{Kind: abi.KindPermanent, Type: "InputError",
			Message: "cannot encode job input: " + err.Error()}})
	}
	return m.InvokeRaw(ctx, in.JobID, in.Function, input)
}

// InvokeRaw is Invoke for an input that is already encoded (abi/ABI.md section 3); jobID and task
// tag the guest's log records.
func (m *Module) InvokeRaw(ctx context.Context, jobID, task string, input []byte) Outcome {
	inst, err := m.pool.get(ctx)
	switch {
	case err == nil && ctx.Err() != nil:
		// The caller gave up while the instance was being handed over: keep the instance.
		m.pool.put(inst, true)
		return m.tag(Outcome{Kind: Canceled, Reason: context.Cause(ctx).Error()})
	case err == nil:
	case ctx.Err() != nil:
		return m.tag(Outcome{Kind: Canceled, Reason: err.Error()})
	case errors.Is(err, errPoolClosed):
		return m.tag(Outcome{Kind: Canceled, Reason: "the module was closed (worker shutting down or module replaced)"})
	default:
		return m.tag(Outcome{Kind: Trap, Reason: "cannot instantiate module: " + err.Error()})
	}
	jctx, cancel := context.WithTimeoutCause(ctx, m.limits.Timeout, errJobTimeout)
	defer cancel()
	b := inst.base()
	b.begin(jctx.Done())
	jctx = withCallState(jctx, &callState{module: m, jobID: jobID, task: task, done: jctx.Done()})
	start := time.Now()
	done := make(chan runResult, 1)
	go func() {
		out, err := inst.runJob(jctx, input)
		done <- runResult{out, err}
	}()
	var r runResult
	select {
	case r = <-done:
	case <-jctx.Done():
		select {
		case r = <-done:
		case <-time.After(abandonGrace):
			// The guest did not stop: the check points (interrupt.go) stop any guest code within
			// about a millisecond, so this is a guest blocked in something the host cannot
			// interrupt. Give the caller its outcome now; the instance keeps its pool slot until
			// the guest returns, and is then discarded.
			go func() {
				<-done
				b.end()
				m.pool.put(inst, false)
			}()
			o := classify(failure{err: context.Cause(jctx), parent: ctx, job: jctx})
			o.Detail = joinDetail("the guest did not stop when interrupted; its instance is abandoned", o.Detail)
			o.Duration = time.Since(start)
			m.engine.logger.Warn("guest did not stop when interrupted", "module", m.name, "job_id", jobID, "task", task)
			return m.tag(o)
		}
	}
	dur := time.Since(start)
	var o Outcome
	if r.err == nil {
		o = decodeOutput(r.out)
	} else {
		o = classify(failure{err: r.err, parent: ctx, job: jctx, memoryDenied: b.memoryDenied.Load(),
			memoryPages: m.limits.MemoryPages, stdio: b.stdio.take()})
	}
	b.end()
	healthy := o.Kind == Success || o.Kind == GuestError
	m.pool.put(inst, healthy)
	o.Duration = dur
	if !healthy {
		m.engine.logger.LogAttrs(ctx, slog.LevelDebug, "instance discarded", slog.String("module", m.name),
			slog.String("job_id", jobID), slog.String("outcome", o.Kind.String()), slog.String("reason", o.Reason))
	}
	return m.tag(o)
}

type runResult struct {
	out []byte
	err error
}

// abandonGrace is how long Invoke waits, after a job's context ends, for the guest to stop before
// it reports the outcome without it.
const abandonGrace = 250 * time.Millisecond

func (m *Module) tag(o Outcome) Outcome {
	o.Module, o.Version = m.name, m.version
	return o
}

// encodeInput writes in as JSON (abi/ABI.md section 3) without reflection: it runs for every job.
// Args and Kwargs are copied compacted (null when nil) and must be valid JSON.
func encodeInput(in *abi.Input) ([]byte, error) {
	b := make([]byte, 0, 160+len(in.JobID)+len(in.Function)+len(in.QueueName)+len(in.WorkerID)+len(in.Args)+len(in.Kwargs))
	b = append(b, `{"job_id":`...)
	b = jsonscan.AppendString(b, in.JobID)
	b = append(b, `,"function":`...)
	b = jsonscan.AppendString(b, in.Function)
	b = append(b, `,"job_try":`...)
	b = strconv.AppendInt(b, int64(in.JobTry), 10)
	b = append(b, `,"enqueue_time":`...)
	b = jsonscan.AppendString(b, in.EnqueueTime)
	b = append(b, `,"queue_name":`...)
	b = jsonscan.AppendString(b, in.QueueName)
	b = append(b, `,"worker_id":`...)
	b = jsonscan.AppendString(b, in.WorkerID)
	var err error
	for _, f := range [...]struct {
		key string
		raw json.RawMessage
	}{{`,"args":`, in.Args}, {`,"kwargs":`, in.Kwargs}} {
		b = append(b, f.key...)
		if f.raw == nil {
			b = append(b, "null"...)
			continue
		}
		if b, err = jsonscan.AppendCompact(b, f.raw); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON", strings.Trim(f.key, `,":`))
		}
	}
	return append(b, '}'), nil
}

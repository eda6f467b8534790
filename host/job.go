package host

import (
	"bytes"
	"github.com/arqhost/arqhost/internal/jsonscan"
	"unicode/utf8"

	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/store"
	"github.com/arqhost/arqhost/internal/wire"
)

// holdFor is the longest a worker holds a job that arrived before its defer_until, waiting with a
// timer rather than sending it back into the delay levels. Publishers route delays to arrive
// broker.DefaultLead early, so that the levels' latency does not make jobs late (hold.go).
const holdFor = broker.DefaultLead + 500*time.Millisecond

// handle takes one delivery from receipt to ack. The rules, in order:
//   - a body that is not a job goes to the DLQ with its raw bytes;
//   - a second delivery of a job try that this worker is handling, still unacknowledged on the
//     same channel, is acked without running (handling.go);
//   - a job whose record is already terminal, or whose retry is already scheduled, is acked
//     without running (delivery is at-least-once, completion is once); for a job about to run,
//     this check and the in_progress record are one atomic step (store.Begin);
//   - an aborted job is recorded as aborted; an expired one as failed; neither runs;
//   - a job that arrived before its defer_until goes back into the delay topology;
//   - a job for a task no module serves goes to the DLQ;
//   - otherwise it runs, and its outcome is recorded, retried or dead-lettered (retry.go).
//
// The delivery is acked only after the record is written and any retry or DLQ copy has been
// confirmed by the broker. When Redis or the broker cannot take the result, the delivery goes back
// to the queue instead (requeue), so nothing is lost.
func (w *Worker) handle(queue string, d amqp.Delivery) {
	// Bookkeeping (records, retry and DLQ copies) is not interrupted by the end of the shutdown
	// grace: only the guest is. A job that finished gets its result stored and acked.
	ctx := context.WithoutCancel(w.jobsCtx)
	if d.Redelivered {
		w.metrics.Redelivered(queue)
	}
	job, err := wire.Decode(d.Body)
	if err != nil {
		w.metrics.JobDeadLettered(queue, "", "malformed")
		w.deadLetterMalformed(ctx, queue, d, err)
		return
	}
	// The original library retries some failures by re-publishing the body unchanged with
	// x-retry-count + 1; count those tries too, so that every job gets one budget of tries.
	if n, ok := wire.RetryCount(d.Headers); ok && n+1 > job.Try {
		job.Try = n + 1
	}
	log := newJobLog(w.log, "job_id", job.ID, "task", job.Function, "queue", queue, "try", job.Try)
	// Delivery is at least once: after a broker restart the queue or the delay levels may bring a
	// second copy of a job while this worker still holds or runs the first (handling.go).
	key := handlingKey{queue: queue, id: job.ID, try: job.Try}
	h, dup := w.claimHandling(key, &d)
	if dup {
		w.metrics.Skipped(queue, "duplicate")
		log.Info("this worker is already handling a delivery of this job; acknowledging the duplicate")
		w.ack(d, log)
		return
	}
	defer w.releaseHandling(key, h)
	now := time.Now()
	wait := min(job.DeferUntil.Sub(now), broker.MaxDelay)
	early := !job.DeferUntil.IsZero() && wait > 0
	if early && (job.Expires.IsZero() || job.Expires.After(job.DeferUntil)) {
		switch w.hold(wait) {
		case held:
			early, now = false, time.Now()
		case stopped:
			// The worker is stopping: back to the queue, untouched, for another worker to hold.
			w.nack(d, log)
			return
		}
	}
	expired := !job.Expires.IsZero() && now.After(job.Expires)
	// The lease keeps this version of the module open until the job has run, even if a new one is
	// swapped in meanwhile (registry/reload.go).
	var lease registry.Lease
	known := false
	if !expired && !early {
		lease, known = w.registry.Acquire(job.Function)
	}
	if !known {
		// The job does not run now. Unless its record says it was handled already, it is recorded
		// as expired, delayed again, or dead-lettered as a task no module serves.
		if w.store != nil {
			b, err := w.store.Check(ctx, job.ID, job.Try)
			if err != nil {
				w.requeue(d, log, "cannot read the job's record", err)
				return
			}
			if skip, err := w.skip(ctx, job, queue, log, b); err != nil || skip {
				w.settleSkipped(d, log, err)
				return
			}
		}
		switch {
		case expired:
			w.metrics.Skipped(queue, "expired")
			log.Warn("job expired before it could run; not running it", "expires", job.Expires)
			rec := w.record(job, queue, store.StatusFailed)
			rec.Outcome, rec.ErrorType, rec.ErrorMessage = "expired", "JobExpired", "the job expired at "+wire.FormatTime(job.Expires)+" before it started"
			rec.Error = errorString(rec.ErrorType, rec.ErrorMessage)
			w.finish(ctx, d, log, rec, nil)
		case early:
			log.Debug("job arrived before its defer_until; delaying it again", "wait", wait)
			msg := republish(d, d.Body, d.Headers)
			w.finish(ctx, d, log, nil, &publication{queue: queue, delay: wait, exact: true, msg: msg})
		default:
			o := wasm.Outcome{Kind: wasm.UnknownTask, Reason: "no module of this worker serves task " + quote(job.Function)}
			w.settle(ctx, d, log, job, queue, &o, time.Now())
		}
		return
	}

	// Admission: at most twice the concurrency of jobs are between Begin and the end of their
	// run, so that a job is recorded in progress only shortly before a slot takes it.
	w.ahead <- struct{}{}
	mod := lease.Module()
	eager := w.cfg.InProgressAfter < 0
	if w.store != nil {
		var b store.Begun
		var err error
		if eager {
			begin := time.Now()
			rec := w.record(job, queue, store.StatusInProgress)
			rec.StartTime = &begin
			rec.Module, rec.ModuleVersion = mod.Name(), mod.Version()
			b, err = w.store.Begin(ctx, rec)
		} else {
			b, err = w.store.Check(ctx, job.ID, job.Try)
		}
		if err != nil {
			<-w.ahead
			lease.Release()
			what := "cannot read the job's record"
			if eager {
				what = "cannot record that the job started"
			}
			w.requeue(d, log, what, err)
			return
		}
		if skip, err := w.skip(ctx, job, queue, log, b); err != nil || skip {
			<-w.ahead
			lease.Release()
			w.settleSkipped(d, log, err)
			return
		}
	}
	w.slots <- struct{}{}
	start := time.Now()
	if !job.DeferUntil.IsZero() {
		w.metrics.DelayLateness(queue, start.Sub(job.DeferUntil))
	}
	var inProgress *time.Timer
	if w.store != nil && !eager {
		// Recorded only if the job is still running by then; whichever of this write and the
		// outcome's lands last, the record ends with the outcome (records only move forward).
		inProgress = time.AfterFunc(w.cfg.InProgressAfter, func() {
			rec := w.record(job, queue, store.StatusInProgress)
			rec.StartTime = &start
			rec.Module, rec.ModuleVersion = mod.Name(), mod.Version()
			if _, err := w.store.Write(ctx, rec); err != nil {
				log.Warn("cannot record that the job is in progress", "err", err)
			}
		})
	}
	jctx, cancel := context.WithCancelCause(w.jobsCtx)
	w.mu.Lock()
	w.running[job.ID] = cancel
	_, abortedMeanwhile := w.recentAborts[job.ID]
	w.mu.Unlock()
	if abortedMeanwhile { // the abort came between Begin and now
		cancel(errAborted)
	}
	info := JobInfo{ID: job.ID, Function: job.Function, Queue: queue, Try: job.Try, Module: mod.Name(), ModuleVersion: mod.Version()}
	w.cfg.Hooks.jobStart(jctx, info)
	w.metrics.JobStarted(queue, job.Function)
	o := mod.Invoke(jctx, &abi.Input{
		JobID: job.ID, Function: job.Function, JobTry: job.Try,
		EnqueueTime: job.EnqueueTime.UTC().Format(time.RFC3339Nano), QueueName: queue, WorkerID: w.cfg.WorkerID,
		Args: job.Args, Kwargs: job.Kwargs,
	})
	if inProgress != nil {
		inProgress.Stop()
	}
	lease.Release()
	if o.Kind == wasm.Canceled {
		o.Reason = context.Cause(jctx).Error()
	}
	aborted := errors.Is(context.Cause(jctx), errAborted)
	w.mu.Lock()
	delete(w.running, job.ID)
	w.mu.Unlock()
	cancel(nil)
	w.metrics.JobFinished(queue, job.Function, mod.Name(), o.Kind.String(), o.Duration)
	w.cfg.Hooks.jobEnd(ctx, info, &o)
	// The slot is held from OnJobStart to OnJobEnd, so that hooks never see more jobs running
	// than the concurrency; recording the outcome happens outside it.
	<-w.slots
	<-w.ahead

	if o.Kind == wasm.Canceled && !aborted {
		// Interrupted by shutdown: back to the queue to run again, here or elsewhere.
		log.Warn("job interrupted by shutdown; returning it to the queue")
		w.nack(d, log)
		return
	}
	w.settle(ctx, d, log, job, queue, &o, start)
}

// skip reports whether a job must not run by Begin's or Check's verdict: its record is terminal
// (completed, failed, aborted), a later try is recorded, its retry is already scheduled, or it was
// aborted (which it then records).
func (w *Worker) skip(ctx context.Context, job *wire.Job, queue string, log jobLog, b store.Begun) (bool, error) {
	switch b.Verdict {
	case store.VerdictRun:
		return false, nil
	case store.VerdictDone:
		w.metrics.Skipped(queue, "already_done")
		log.Info("job already finished; acknowledging the duplicate delivery without running it", "status", b.Status)
		return true, nil
	case store.VerdictStale:
		w.metrics.Skipped(queue, "stale_try")
		log.Info("a later try of this job exists; acknowledging the stale delivery without running it", "recorded_try", b.Try)
		return true, nil
	case store.VerdictRetryScheduled:
		w.metrics.Skipped(queue, "already_done")
		log.Info("job's retry is already scheduled; acknowledging the duplicate delivery without running it")
		return true, nil
	}
	w.metrics.Skipped(queue, "aborted")
	log.Info("job was aborted before it ran")
	rec := w.record(job, queue, store.StatusAborted)
	rec.Outcome = "aborted"
	if _, err := w.store.Write(ctx, rec); err != nil {
		return false, err
	}
	return true, nil
}

// settleSkipped acks a delivery that must not run, or requeues it when its aborted record could
// not be written (err).
func (w *Worker) settleSkipped(d amqp.Delivery, log jobLog, err error) {
	if err != nil {
		w.requeue(d, log, "cannot read the job's record", err)
		return
	}
	w.ack(d, log)
}

// settle records a finished job's outcome and retries or dead-letters it by the retry policy.
func (w *Worker) settle(ctx context.Context, d amqp.Delivery, log jobLog, job *wire.Job, queue string, o *wasm.Outcome, start time.Time) {
	end := time.Now()
	rec := w.record(job, queue, store.StatusCompleted)
	rec.StartTime, rec.EndTime = &start, &end
	dur := end.Sub(start).Seconds()
	rec.Duration = &dur
	rec.Module, rec.ModuleVersion, rec.Outcome = o.Module, o.Version, o.Kind.String()
	log = log.With("outcome", o.Kind.String(), "module_version", short(o.Version))

	switch {
	case o.Kind == wasm.Success:
		rec.Result = o.Result
		// Logged once the result is stored: a job whose result could not be stored runs again,
		// and this line then appears once, for the run that counted.
		if w.finish(ctx, d, log, rec, nil) {
			log.Info("job completed", "duration", end.Sub(start))
		}
		return
	case o.Kind == wasm.Canceled:
		rec.Status = store.StatusAborted
		rec.ErrorType, rec.ErrorMessage = "Aborted", "the job was aborted while it ran"
		rec.Error = errorString(rec.ErrorType, rec.ErrorMessage)
		log.Info("job aborted while running")
		w.finish(ctx, d, log, rec, nil)
		return
	}

	rec.ErrorType, rec.ErrorMessage, rec.ErrorKind = failureText(o)
	rec.Error = errorString(rec.ErrorType, rec.ErrorMessage)
	decision := w.cfg.Retry.Decide(o, job.Try)
	if decision.Retry {
		decision.Delay = min(decision.Delay, broker.MaxDelay)
		next := nextTry(job, end.Add(decision.Delay))
		rec.Status = store.StatusRetrying
		at := end.Add(decision.Delay)
		rec.NextTryAt = &at
		w.metrics.JobRetried(queue, job.Function, string(ClassOf(o)))
		log.Info("job failed; retrying", "error", *rec.Error, "retry_in", decision.Delay, "next_try", next.Try)
		msg := broker.JobPublishing(next, retryHeaders(d.Headers))
		w.finish(ctx, d, log, rec, &publication{queue: queue, delay: decision.Delay, msg: msg})
		return
	}
	rec.Status = store.StatusFailed
	w.metrics.JobDeadLettered(queue, job.Function, o.Kind.String())
	log.Warn("job failed; sending it to the dead-letter queue", "error", *rec.Error, "why", decision.Why)
	headers := dlqHeaders(d.Headers, job.ID, job.Try, o, rec, decision, w.cfg.WorkerID)
	msg := republish(d, d.Body, headers)
	w.finish(ctx, d, log, rec, &publication{queue: w.dlqName(queue), msg: msg})
}

// nextTry is the message of a job's next try: the same job with the try counter advanced and
// defer_until set, so that it does not run early whatever path it takes back.
func nextTry(job *wire.Job, at time.Time) *wire.Job {
	next := *job
	next.Try++
	next.DeferUntil = at
	return &next
}

// publication is a message to publish, with the broker's confirmation, before acking.
type publication struct {
	queue string
	delay time.Duration
	exact bool // no lead: the job was early already and could not be held
	msg   amqp.Publishing
}

// finish publishes pub (if any) and waits for the broker's confirmation, writes rec (if any),
// and only then acks the delivery; it reports whether it did. When either step fails the delivery
// is requeued: it will be handled again, and the record decides whether it runs again.
func (w *Worker) finish(ctx context.Context, d amqp.Delivery, log jobLog, rec *store.Record, pub *publication) bool {
	if pub != nil {
		if err := w.persist(ctx, log, "publish the job's retry or dead-letter copy", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if pub.exact {
				return w.pub.PublishExact(ctx, pub.queue, pub.delay, pub.msg)
			}
			return w.pub.Publish(ctx, pub.queue, pub.delay, pub.msg)
		}); err != nil {
			w.requeue(d, log, "cannot publish the job's retry or dead-letter copy", err)
			return false
		}
	}
	if rec != nil && w.store != nil {
		if err := w.persist(ctx, log, "record the job's result", func(ctx context.Context) error {
			_, err := w.store.Write(ctx, rec)
			return err
		}); err != nil {
			w.requeue(d, log, "cannot record the job's result", err)
			return false
		}
	}
	w.ack(d, log)
	return true
}

// persistFor is how long a finished job's bookkeeping is retried in place (Redis or the broker
// briefly away) before the delivery goes back to the queue. Requeueing costs a delivery: on quorum
// queues enough of them dead-letter the message.
const persistFor = 30 * time.Second

// persist runs op until it succeeds, with backoff, for up to persistFor. Each try of op must end
// by itself (the store bounds each round trip; the publish sets a timeout).
func (w *Worker) persist(ctx context.Context, log jobLog, what string, op func(context.Context) error) error {
	deadline := time.Now().Add(persistFor)
	backoff := 50 * time.Millisecond
	for {
		err := op(ctx)
		if err == nil || time.Now().Add(backoff).After(deadline) {
			return err
		}
		log.Warn("cannot "+what+" yet; trying again", "err", err, "in", backoff)
		time.Sleep(backoff)
		backoff = min(backoff*2, 2*time.Second)
	}
}

// deadLetterMalformed sends a delivery whose body is not a job to the DLQ, raw bytes and all.
func (w *Worker) deadLetterMalformed(ctx context.Context, queue string, d amqp.Delivery, err error) {
	log := newJobLog(w.log, "queue", queue, "message_id", d.MessageId)
	log.Warn("malformed job message; sending it to the dead-letter queue", "err", err, "bytes", len(d.Body))
	h := copyHeaders(d.Headers)
	h[wire.HeaderErrorType] = "MalformedMessage"
	h[wire.HeaderErrorMessage] = clip(err.Error(), 1024)
	h[wire.HeaderErrorCategory] = "non_retriable"
	h[wire.HeaderFailedAt] = wire.FormatTime(time.Now())
	h[wire.HeaderOutcome] = "malformed"
	h[wire.HeaderReason] = clip(err.Error(), 1024)
	h[wire.HeaderWorker] = w.cfg.WorkerID
	if id := readableJobID(d.Body); id != "" {
		h[wire.HeaderJobID] = id
	}
	w.finish(ctx, d, log, nil, &publication{queue: w.dlqName(queue), msg: republish(d, d.Body, h)})
}

// readableJobID is the job_id of a body that is not a valid job but is a JSON object with a string
// job_id (clipped to 256 bytes), or "".
func readableJobID(body []byte) string {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !utf8.Valid(body) || !json.Valid(body) {
		return ""
	}
	raw, ok := jsonscan.Object(body)["job_id"]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	return clip(jsonscan.Unquote(raw), 256)
}

// record starts a result record for job with the fields every record has.
func (w *Worker) record(job *wire.Job, queue string, status store.Status) *store.Record {
	rec := &store.Record{
		JobID: job.ID, Status: status, WorkerID: w.cfg.WorkerID, QueueName: queue,
		RetryCount: job.Try - 1, JobTry: job.Try, FunctionName: job.Function,
		Args: job.Args, Kwargs: job.Kwargs, CreatedAt: job.EnqueueTime,
	}
	if !job.Expires.IsZero() {
		e := job.Expires
		rec.ExpiresAt = &e
	}
	return rec
}

func (w *Worker) ack(d amqp.Delivery, log jobLog) {
	if err := d.Ack(false); err != nil {
		// The channel is gone (connection lost): the broker redelivers, and the record decides.
		log.Warn("cannot acknowledge the delivery; the broker will redeliver it", "err", err)
	}
}

func (w *Worker) nack(d amqp.Delivery, log jobLog) {
	if err := d.Nack(false, true); err != nil {
		log.Warn("cannot return the delivery to the queue; the broker will redeliver it", "err", err)
	}
}

// requeue returns a delivery whose result could not be stored or published, after a pause so that
// an outage does not turn into a hot loop.
func (w *Worker) requeue(d amqp.Delivery, log jobLog, what string, err error) {
	log.Error(what+"; returning the job to the queue", "err", err)
	time.Sleep(time.Second)
	w.nack(d, log)
}

func (w *Worker) dlqName(queue string) string {
	return broker.NamesFor(queue, w.queueOptions()).DLQ
}

// failureText gives the record's error type, message and kind for a failed outcome.
func failureText(o *wasm.Outcome) (typ, msg, kind string) {
	if o.Kind == wasm.GuestError {
		return o.Error.Type, o.Error.Message, string(o.Error.Kind)
	}
	typ = map[wasm.Kind]string{
		wasm.Trap: "Trap", wasm.Timeout: "JobTimeout", wasm.LimitExceeded: "LimitExceeded",
		wasm.BadOutput: "BadOutput", wasm.UnknownTask: "UnknownTask", wasm.Canceled: "Canceled",
	}[o.Kind]
	msg = o.Reason
	if o.Detail != "" && o.Kind != wasm.UnknownTask {
		msg += "\n" + clip(o.Detail, 2048)
	}
	return typ, msg, o.Kind.String()
}

func errorString(typ, msg string) *string {
	s := typ
	if msg != "" {
		s += ": " + msg
	}
	return &s
}

// republish is a copy of a delivery's message with another body and headers.
func republish(d amqp.Delivery, body []byte, headers amqp.Table) amqp.Publishing {
	return amqp.Publishing{
		Headers: headers, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: amqp.Persistent, MessageId: d.MessageId, Timestamp: d.Timestamp,
		CorrelationId: d.CorrelationId, Type: d.Type, AppId: d.AppId, Body: body,
	}
}

func copyHeaders(h amqp.Table) amqp.Table {
	out := make(amqp.Table, len(h)+12)
	for k, v := range h {
		out[k] = v
	}
	return out
}

// retryHeaders are the headers of a retry: the original ones minus the broker's dead-lettering
// history from the delay topology.
func retryHeaders(h amqp.Table) amqp.Table {
	out := copyHeaders(h)
	delete(out, "x-death")
	delete(out, "x-first-death-exchange")
	delete(out, "x-first-death-queue")
	delete(out, "x-first-death-reason")
	return out // x-retry-count is set by broker.JobPublishing
}

// dlqHeaders are the original headers plus the reason the job was dead-lettered: the original
// library's x-error-* headers and arqhost's own.
func dlqHeaders(h amqp.Table, id string, try int, o *wasm.Outcome, rec *store.Record, d Decision, worker string) amqp.Table {
	out := copyHeaders(h)
	category := "non_retriable"
	if d.Exhausted {
		category = "retriable"
	}
	out[wire.HeaderErrorType] = rec.ErrorType
	out[wire.HeaderErrorMessage] = clip(rec.ErrorMessage, 2048)
	out[wire.HeaderErrorCategory] = category
	out[wire.HeaderFailedAt] = wire.FormatTime(time.Now())
	out[wire.HeaderJobID] = id
	out[wire.HeaderTries] = int64(try)
	out[wire.HeaderOutcome] = o.Kind.String()
	reason := o.Reason
	if reason == "" && o.Error != nil { // a guest error: its own words
		reason = *errorString(o.Error.Type, o.Error.Message)
	}
	out[wire.HeaderReason] = clip(strings.TrimPrefix(reason+"; "+d.Why, "; "), 1024)
	out[wire.HeaderModule] = o.Module
	out[wire.HeaderModuleVersion] = o.Version
	out[wire.HeaderWorker] = worker
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func short(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

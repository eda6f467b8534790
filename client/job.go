package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/arqhost/arqhost/internal/store"
	"github.com/arqhost/arqhost/internal/wire"
)

// Result is a job's record in the result store, in the original library's layout plus arqhost's
// fields (module version, outcome, error kind, next try).
type Result = store.Record

// Status is a job's state: queued, in_progress, retrying, completed, failed or aborted.
type Status = store.Status

// The statuses.
const (
	StatusQueued     = store.StatusQueued
	StatusInProgress = store.StatusInProgress
	StatusRetrying   = store.StatusRetrying
	StatusCompleted  = store.StatusCompleted
	StatusFailed     = store.StatusFailed
	StatusAborted    = store.StatusAborted
)

// ErrNotFound is returned for a job the result store has no record of (never enqueued with this
// store, deleted, or expired).
var ErrNotFound = store.ErrNotFound

// Job is a handle on an enqueued job.
type Job struct {
	ID       string
	Function string
	Queue    string
	// Existing is true when Enqueue found a job with the same caller-chosen id and returned it
	// instead of enqueuing again.
	Existing bool
	c        *Client
}

func (c *Client) handle(j *wire.Job) *Job {
	return &Job{ID: j.ID, Function: j.Function, Queue: j.Queue, c: c}
}

func (c *Client) existing(rec *store.Record) *Job {
	return &Job{ID: rec.JobID, Function: rec.FunctionName, Queue: rec.QueueName, Existing: true, c: c}
}

// Job returns a handle on the job with the given id (it is not checked to exist).
func (c *Client) Job(id string) *Job { return &Job{ID: id, c: c} }

func (c *Client) needStore() error {
	if c.store == nil {
		return ErrNoResultStore
	}
	return nil
}

// Info returns the job's current record without waiting.
func (j *Job) Info(ctx context.Context) (*Result, error) {
	if err := j.c.needStore(); err != nil {
		return nil, err
	}
	return j.c.store.Get(ctx, j.ID)
}

// Status returns the job's current status.
func (j *Job) Status(ctx context.Context) (Status, error) {
	rec, err := j.Info(ctx)
	if err != nil {
		return "", err
	}
	return rec.Status, nil
}

// Wait blocks until the job has finished (completed, failed or aborted) or ctx ends, and returns
// its record. It does not poll: it is woken by a Redis notification. A job that failed or was
// aborted is returned with a *JobError.
func (j *Job) Wait(ctx context.Context) (*Result, error) {
	if err := j.c.needStore(); err != nil {
		return nil, err
	}
	rec, err := j.c.store.Wait(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	return rec, resultError(rec)
}

// JobError is the error of a job that failed or was aborted.
type JobError struct {
	JobID  string
	Status Status
	Type   string
	Msg    string
}

func (e *JobError) Error() string {
	return fmt.Sprintf("job %s %s: %s: %s", e.JobID, e.Status, e.Type, e.Msg)
}

func resultError(rec *Result) error {
	if rec.Status == StatusCompleted {
		return nil
	}
	e := &JobError{JobID: rec.JobID, Status: rec.Status, Type: rec.ErrorType, Msg: rec.ErrorMessage}
	if e.Type == "" && rec.Error != nil {
		e.Msg = *rec.Error
	}
	return e
}

// Delete removes the job's record. It does not stop the job; see Abort.
func (j *Job) Delete(ctx context.Context) error {
	if err := j.c.needStore(); err != nil {
		return err
	}
	return j.c.store.Delete(ctx, j.ID)
}

// Abort stops the job: a queued or deferred job will not run (it is recorded as aborted when a
// worker receives it), and a running one is interrupted. A finished job is not changed.
func (j *Job) Abort(ctx context.Context) error {
	if err := j.c.needStore(); err != nil {
		return err
	}
	rec, err := j.c.store.Get(ctx, j.ID)
	if err == nil && rec.Status.Terminal() {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return j.c.store.Abort(ctx, j.ID)
}

// Results returns the records of many jobs in one round trip, in the order of ids; a job without
// a record has a nil entry.
func (c *Client) Results(ctx context.Context, ids []string) ([]*Result, error) {
	if err := c.needStore(); err != nil {
		return nil, err
	}
	return c.store.GetMany(ctx, ids)
}

// Stats describes the result store: server, memory, size of the keyspace, prefix and TTL. It never
// scans keys and never shows a password.
func (c *Client) Stats(ctx context.Context) (store.Stats, error) {
	if err := c.needStore(); err != nil {
		return store.Stats{}, err
	}
	return c.store.Stats(ctx)
}

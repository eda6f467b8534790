package host

import (
	"context"

	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
)

// JobInfo describes a job to the job hooks.
type JobInfo struct {
	ID            string
	Function      string
	Queue         string
	Try           int
	Module        string
	ModuleVersion string
}

// Hooks are an embedder's callbacks, the Go counterparts of the original library's on_startup,
// on_shutdown, on_job_start and on_job_end. Every field is optional. The job hooks run on the
// job's goroutine, so they must be quick and safe for concurrent use. A hook must not call Stop
// (Stop waits for the job, or the shutdown, that is calling the hook); to stop the worker from a
// hook, call it on a new goroutine.
type Hooks struct {
	// OnStartup runs in Start before any job is consumed; an error stops Start.
	OnStartup func(ctx context.Context, w *Worker) error
	// OnShutdown runs in Stop after the last job finished.
	OnShutdown func(ctx context.Context, w *Worker)
	// OnJobStart runs just before a job's task is called.
	OnJobStart func(ctx context.Context, job JobInfo)
	// OnJobEnd runs when a job's task returned, before its outcome is recorded.
	OnJobEnd func(ctx context.Context, job JobInfo, outcome *wasm.Outcome)
	// OnModuleChange runs when a module is added, replaced, removed or refused by a reload, and
	// when a replaced version has finished its last job and been closed (registry.Event).
	OnModuleChange func(ctx context.Context, ev registry.Event)
}

func (h *Hooks) startup(ctx context.Context, w *Worker) error {
	if h.OnStartup == nil {
		return nil
	}
	return h.OnStartup(ctx, w)
}

func (h *Hooks) shutdown(ctx context.Context, w *Worker) {
	if h.OnShutdown != nil {
		h.OnShutdown(ctx, w)
	}
}

func (h *Hooks) jobStart(ctx context.Context, job JobInfo) {
	if h.OnJobStart != nil {
		h.OnJobStart(ctx, job)
	}
}

func (h *Hooks) jobEnd(ctx context.Context, job JobInfo, o *wasm.Outcome) {
	if h.OnJobEnd != nil {
		h.OnJobEnd(ctx, job, o)
	}
}

func (h *Hooks) moduleChanged(ctx context.Context, ev registry.Event) {
	if h.OnModuleChange != nil {
		h.OnModuleChange(ctx, ev)
	}
}

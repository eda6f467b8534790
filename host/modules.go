package host

import (
	"context"

	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
)

// modules.go keeps the worker's modules current: it watches the modules directory (and reloads
// on request: SIGHUP, the admin endpoint, the fleet control channel), and logs and counts every
// swap. The swap itself, with its guarantees, is registry.Registry.Reload.

// ModuleInfo describes one module version a worker runs.
type ModuleInfo struct {
	Module    string         `json:"module"`
	Path      string         `json:"path"`
	Version   string         `json:"version"`
	State     string         `json:"state"` // "active", or "draining": replaced, finishing its last jobs
	Tasks     []string       `json:"tasks"`
	Flavor    string         `json:"flavor"`
	SDK       string         `json:"sdk,omitempty"`
	Instances wasm.PoolStats `json:"instances"`
}

// Modules lists the module versions the worker runs: the active ones, then those draining.
func (w *Worker) Modules() []ModuleInfo {
	var out []ModuleInfo
	add := func(m *wasm.Module, state string) {
		out = append(out, ModuleInfo{Module: m.Name(), Path: m.Path(), Version: m.Version(), State: state,
			Tasks: m.Tasks(), Flavor: m.Flavor(), SDK: m.SDK(), Instances: m.Stats()})
	}
	for _, m := range w.registry.Modules() {
		add(m, "active")
	}
	for _, m := range w.registry.Draining() {
		add(m, "draining")
	}
	return out
}

// ReloadResult is what a reload did, in a form for people and scripts.
type ReloadResult struct {
	Changes   []ModuleChange `json:"changes"`
	Unchanged int            `json:"unchanged"`
	Error     string         `json:"error,omitempty"` // the directory as a whole could not be reloaded
}

// ModuleChange is one module a reload added, replaced, removed, refused or left pending.
type ModuleChange struct {
	Event      string   `json:"event"`
	Module     string   `json:"module"`
	Version    string   `json:"version,omitempty"`
	OldVersion string   `json:"old_version,omitempty"`
	Tasks      []string `json:"tasks,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// Reload brings the worker's modules in line with its modules directory now (see
// registry.Registry.Reload): changed modules are validated and swapped in without failing a job,
// broken ones are refused while the old version keeps serving.
//
// The reload runs to its end (bounded by reloadTimeout) even if ctx ends first, so that a client
// that goes away does not turn modules still compiling into refusals; it is abandoned, swapping
// nothing, when the worker stops.
func (w *Worker) Reload(ctx context.Context) (ReloadResult, error) {
	rctx, cancel := context.WithTimeout(w.life, reloadTimeout)
	defer cancel()
	rep, err := w.registry.Reload(rctx, registry.ReloadOptions{})
	res := reloadResult(rep, err)
	if err != nil {
		w.log.Error("cannot reload the modules; the loaded ones keep serving", "err", err)
	}
	return res, err
}

func reloadResult(rep registry.Report, err error) ReloadResult {
	res := ReloadResult{Unchanged: rep.Unchanged, Changes: []ModuleChange{}}
	if err != nil {
		res.Error = err.Error()
	}
	for _, ev := range rep.Events {
		c := ModuleChange{Event: string(ev.Kind), Module: ev.Module, Version: ev.Version, OldVersion: ev.OldVersion, Tasks: ev.Tasks}
		if ev.Err != nil {
			c.Error = ev.Err.Error()
		}
		res.Changes = append(res.Changes, c)
	}
	return res
}

// startWatching reloads the modules whenever the directory changes.
func (w *Worker) startWatching(ctx context.Context) error {
	if !w.cfg.WatchModules {
		return nil
	}
	stop, err := w.registry.Watch(ctx, registry.WatchOptions{
		Debounce: w.cfg.WatchDebounce,
		Poll:     w.cfg.ModulesPoll,
		OnReload: func(_ registry.Report, err error) {
			if err != nil {
				w.log.Error("cannot reload the modules; the loaded ones keep serving", "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.stopWatch = stop
	w.mu.Unlock()
	w.log.Info("watching the modules directory for changes", "dir", w.registry.Dir())
	return nil
}

// moduleEvent logs and counts one change to the worker's modules.
func (w *Worker) moduleEvent(ev registry.Event) {
	log := w.log.With("module", ev.Module)
	switch ev.Kind {
	case registry.Added:
		w.metrics.ModuleSwapped(ev.Module)
		log.Info("module added", "version", short(ev.Version), "tasks", ev.Tasks)
	case registry.Replaced:
		w.metrics.ModuleSwapped(ev.Module)
		log.Info("module replaced: new jobs run on the new version, running ones finish on the old",
			"version", short(ev.Version), "old_version", short(ev.OldVersion))
	case registry.Removed:
		w.metrics.ModuleSwapped(ev.Module)
		log.Warn("module removed: its tasks are no longer served once running jobs finish", "version", short(ev.Version), "tasks", ev.Tasks)
	case registry.Refused:
		if ev.Repeat { // refused before, unchanged since: said already
			log.Debug("module still refused", "version", short(ev.Version), "err", ev.Err)
			return
		}
		w.metrics.ModuleLoadFailed(ev.Module)
		log.Error("module refused; the loaded version keeps serving, but a restart would fail until the file is fixed",
			"version", short(ev.Version), "old_version", short(ev.OldVersion), "err", ev.Err)
	case registry.Pending:
		log.Debug("module file changed moments ago; loading it once it settles")
	case registry.Closed:
		log.Info("old module version drained and closed", "version", short(ev.Version))
	}
	if ev.Kind != registry.Pending {
		w.cfg.Hooks.moduleChanged(context.WithoutCancel(w.jobsCtx), ev)
	}
}

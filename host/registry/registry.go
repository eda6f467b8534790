// Package registry maps task names to the Wasm modules that serve them. It loads every *.wasm file
// of a directory (with its optional limits sidecar, name.yaml), refuses two modules that claim the
// same task, and routes each job to its module.
package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/wasm"
)

// Registry is the set of loaded modules, indexed by task name. It is safe for concurrent use.
type Registry struct {
	engine *wasm.Engine
	dir    string
	set    atomic.Pointer[moduleSet]
}

// moduleSet is an immutable snapshot of the loaded modules.
type moduleSet struct {
	byTask  map[string]*wasm.Module
	modules []*wasm.Module // sorted by path
}

// Load loads every *.wasm file in dir into engine. It fails, naming every bad file, if any module
// cannot be loaded or two modules claim the same task; modules already loaded are then closed.
func Load(ctx context.Context, engine *wasm.Engine, dir string) (*Registry, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no task modules (*.wasm) in %s: a worker without modules would dead-letter every job as an unknown task", dir)
	}
	sort.Strings(paths)
	mods, err := loadAll(ctx, engine, paths)
	if err == nil {
		var set *moduleSet
		if set, err = newModuleSet(mods); err == nil {
			r := &Registry{engine: engine, dir: dir}
			r.set.Store(set)
			return r, nil
		}
	}
	for _, m := range mods {
		if m != nil {
			_ = m.Close(ctx)
		}
	}
	return nil, err
}

// loadAll loads the modules at paths in parallel (compiling is CPU-bound). The result has one
// entry per path, nil where loading failed; the error joins every failure.
func loadAll(ctx context.Context, engine *wasm.Engine, paths []string) ([]*wasm.Module, error) {
	mods := make([]*wasm.Module, len(paths))
	errs := make([]error, len(paths))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			limits, err := ReadSidecar(p)
			if err != nil {
				errs[i] = err
				return
			}
			mods[i], errs[i] = engine.LoadFile(ctx, p, limits)
		}()
	}
	wg.Wait()
	return mods, errors.Join(errs...)
}

func newModuleSet(mods []*wasm.Module) (*moduleSet, error) {
	s := &moduleSet{byTask: make(map[string]*wasm.Module), modules: mods}
	var errs []error
	for _, m := range mods {
		for _, t := range m.Tasks() {
			if other, ok := s.byTask[t]; ok {
				errs = append(errs, &ClashError{Task: t, Paths: [2]string{other.Path(), m.Path()}})
				continue
			}
			s.byTask[t] = m
		}
	}
	return s, errors.Join(errs...)
}

// ClashError is returned when two modules claim the same task name.
type ClashError struct {
	Task  string
	Paths [2]string
}

func (e *ClashError) Error() string {
	return fmt.Sprintf("task %q is claimed by both %s and %s; rename the task in one of them or move one file out of the directory",
		e.Task, e.Paths[0], e.Paths[1])
}

// Dir is the directory the registry was loaded from.
func (r *Registry) Dir() string { return r.dir }

// Lookup returns the module serving task.
func (r *Registry) Lookup(task string) (*wasm.Module, bool) {
	m, ok := r.set.Load().byTask[task]
	return m, ok
}

// Modules returns the loaded modules, sorted by path.
func (r *Registry) Modules() []*wasm.Module {
	return append([]*wasm.Module(nil), r.set.Load().modules...)
}

// Tasks returns every task name served, sorted.
func (r *Registry) Tasks() []string {
	set := r.set.Load()
	ts := make([]string, 0, len(set.byTask))
	for t := range set.byTask {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// Invoke runs a job on the module serving in.Function. A task no module serves ends as
// wasm.UnknownTask.
func (r *Registry) Invoke(ctx context.Context, in *abi.Input) wasm.Outcome {
	m, ok := r.Lookup(in.Function)
	if !ok {
		return wasm.Outcome{Kind: wasm.UnknownTask, Reason: r.unknown(in.Function)}
	}
	return m.Invoke(ctx, in)
}

func (r *Registry) unknown(task string) string {
	known := r.Tasks()
	if len(known) > 20 {
		known = append(known[:20], "…")
	}
	return fmt.Sprintf("no module in %s serves task %q (tasks served: %s)", r.dir, task, strings.Join(known, ", "))
}

// Close closes every module, waiting for running jobs to finish or ctx to end.
func (r *Registry) Close(ctx context.Context) error {
	var errs []error
	for _, m := range r.set.Load().modules {
		errs = append(errs, m.Close(ctx))
	}
	return errors.Join(errs...)
}

// Package registry maps task names to the Wasm modules that serve them. It loads every *.wasm file
// of a directory (with its optional limits sidecar, name.yaml), refuses two modules that claim the
// same task, and routes each job to its module.
//
// The set of modules can change while jobs run (hot swap, see reload.go and watch.go): a job takes
// a Lease on its module, so the version it started on stays open until it has finished, while new
// jobs already go to the new version.
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

	reloading chan struct{}          // holds a token while a reload (or Close) runs: one at a time
	closed    bool                   // guarded by holding the token
	refused   map[string]refusedFile // guarded by holding the token

	mu       sync.Mutex
	draining map[*entry]struct{} // retired entries not yet closed
	listener func(Event)
	drained  sync.WaitGroup // one per retired entry until its module is closed
}

// moduleSet is an immutable snapshot of the loaded modules.
type moduleSet struct {
	byTask  map[string]*entry
	byPath  map[string]*entry
	entries []*entry // sorted by path
}

// entry is one loaded module version with the count of jobs holding it.
type entry struct {
	mod    *wasm.Module
	limits wasm.Limits // as read from the sidecar (before the engine's defaults)

	refs    atomic.Int64
	retired atomic.Bool
	closing sync.Once
	onClose func(*entry)
}

// Lease is a module held for one job: the module stays open until Release, even if a new version
// replaces it meanwhile. The zero Lease holds nothing.
type Lease struct{ e *entry }

// Module is the leased module.
func (l Lease) Module() *wasm.Module { return l.e.mod }

// Release gives the module back. After the last lease of a replaced version is released, that
// version's instances are closed.
func (l Lease) Release() {
	if l.e != nil {
		l.e.release()
	}
}

func (e *entry) release() {
	if e.refs.Add(-1) == 0 && e.retired.Load() {
		e.close()
	}
}

// retire marks the entry replaced or removed; its idle instances are closed now, and the module
// once no job holds it.
func (e *entry) retire() {
	e.mod.Retire(context.Background())
	e.retired.Store(true)
	if e.refs.Load() == 0 {
		e.close()
	}
}

func (e *entry) close() { e.closing.Do(func() { go e.onClose(e) }) }

// Load loads every *.wasm file in dir into engine. It fails, naming every bad file, if any module
// cannot be loaded or two modules claim the same task; modules already loaded are then closed.
func Load(ctx context.Context, engine *wasm.Engine, dir string) (*Registry, error) {
	paths, err := scan(dir)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no task modules (*.wasm) in %s: a worker without modules would dead-letter every job as an unknown task", dir)
	}
	r := &Registry{engine: engine, dir: dir, draining: make(map[*entry]struct{}),
		reloading: make(chan struct{}, 1), refused: make(map[string]refusedFile)}
	loaded := make([]*entry, len(paths))
	errs := make([]error, len(paths))
	parallel(len(paths), func(i int) {
		f, err := readModuleFile(paths[i])
		if err == nil {
			loaded[i], err = r.load(ctx, f)
		}
		errs[i] = err
	})
	err = errors.Join(errs...)
	var set *moduleSet
	if err == nil {
		if set, err = newModuleSet(loaded); err == nil {
			r.set.Store(set)
			return r, nil
		}
	}
	for _, e := range loaded {
		if e != nil {
			_ = e.mod.Close(ctx)
		}
	}
	return nil, err
}

// scan lists the module files of dir, sorted.
func scan(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return paths, nil
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines (compiling is CPU-bound).
func parallel(n int, f func(i int)) {
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// moduleFile is a module's bytes and limits as read from the directory.
type moduleFile struct {
	path   string
	wasm   []byte
	limits wasm.Limits
}

func readModuleFile(path string) (moduleFile, error) {
	limits, err := ReadSidecar(path)
	if err != nil {
		return moduleFile{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return moduleFile{}, &wasm.LoadError{Path: path, Err: err}
	}
	return moduleFile{path: path, wasm: b, limits: limits}, nil
}

// load compiles and validates one module file into a new entry.
func (r *Registry) load(ctx context.Context, f moduleFile) (*entry, error) {
	m, err := r.engine.Load(ctx, f.path, f.wasm, f.limits)
	if err != nil {
		return nil, err
	}
	return &entry{mod: m, limits: f.limits, onClose: r.closeRetired}, nil
}

func newModuleSet(entries []*entry) (*moduleSet, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].mod.Path() < entries[j].mod.Path() })
	s := &moduleSet{byTask: make(map[string]*entry), byPath: make(map[string]*entry, len(entries)), entries: entries}
	var errs []error
	for _, e := range entries {
		s.byPath[e.mod.Path()] = e
		for _, t := range e.mod.Tasks() {
			if other, ok := s.byTask[t]; ok {
				errs = append(errs, &ClashError{Task: t, Paths: [2]string{other.mod.Path(), e.mod.Path()}})
				continue
			}
			s.byTask[t] = e
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

// Lookup returns the module serving task now. To run a job, take a Lease with Acquire instead:
// a module found by Lookup may be replaced and closed at any moment.
func (r *Registry) Lookup(task string) (*wasm.Module, bool) {
	e, ok := r.set.Load().byTask[task]
	if !ok {
		return nil, false
	}
	return e.mod, true
}

// Acquire leases the module serving task for one job. Release the lease when the job is over.
func (r *Registry) Acquire(task string) (Lease, bool) {
	for {
		e, ok := r.set.Load().byTask[task]
		if !ok {
			return Lease{}, false
		}
		e.refs.Add(1)
		if !e.retired.Load() {
			return Lease{e}, true
		}
		// Replaced between the load of the set and now: the set has moved on, look again.
		e.release()
	}
}

// Modules returns the loaded modules, sorted by path.
func (r *Registry) Modules() []*wasm.Module {
	set := r.set.Load()
	out := make([]*wasm.Module, len(set.entries))
	for i, e := range set.entries {
		out[i] = e.mod
	}
	return out
}

// Draining returns the replaced or removed module versions whose last jobs are still running.
func (r *Registry) Draining() []*wasm.Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*wasm.Module, 0, len(r.draining))
	for e := range r.draining {
		out = append(out, e.mod)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path() < out[j].Path() })
	return out
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
	l, ok := r.Acquire(in.Function)
	if !ok {
		return wasm.Outcome{Kind: wasm.UnknownTask, Reason: r.unknown(in.Function)}
	}
	defer l.Release()
	return l.Module().Invoke(ctx, in)
}

func (r *Registry) unknown(task string) string {
	known := r.Tasks()
	if len(known) > 20 {
		known = append(known[:20], "…")
	}
	return fmt.Sprintf("no module in %s serves task %q (tasks served: %s)", r.dir, task, strings.Join(known, ", "))
}

// Close closes every module, waiting for running jobs to finish (and replaced versions to drain)
// or ctx to end. The registry does not reload after Close.
func (r *Registry) Close(ctx context.Context) error {
	select {
	case r.reloading <- struct{}{}: // wait for a reload in progress: it may be swapping
	case <-ctx.Done():
		return fmt.Errorf("a reload is still running: %w", context.Cause(ctx))
	}
	r.closed = true
	<-r.reloading
	var errs []error
	for _, e := range r.set.Load().entries {
		errs = append(errs, e.mod.Close(ctx))
	}
	done := make(chan struct{})
	go func() { r.drained.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("replaced module versions still draining: %w", context.Cause(ctx)))
	}
	return errors.Join(errs...)
}

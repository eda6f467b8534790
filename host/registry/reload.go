package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arqhost/arqhost/host/wasm"
)

// EventKind says what happened to a module in a reload.
type EventKind string

// The events of a reload, and the one that follows it once a replaced version has drained.
const (
	Added    EventKind = "added"    // a new file: its tasks are served from now on
	Replaced EventKind = "replaced" // new bytes or new limits: new jobs run on the new version
	Removed  EventKind = "removed"  // the file is gone: its tasks are no longer served
	Refused  EventKind = "refused"  // the new version failed validation: the old one (if any) keeps serving
	Pending  EventKind = "pending"  // the file changed too recently (maybe still being written): looked at again later
	Closed   EventKind = "closed"   // a replaced or removed version finished its last job and was closed
)

// Event is one change to the set of modules.
type Event struct {
	Kind       EventKind
	Module     string // file name without .wasm
	Path       string
	Version    string // the version now serving (Added, Replaced), refused (Refused) or closed (Closed, Removed)
	OldVersion string // the version replaced (Replaced) or still serving (Refused)
	Tasks      []string
	Err        error // why it was refused
	// Repeat marks a Refused event for a file that was already refused, unchanged since: it is not
	// compiled again.
	Repeat bool
}

// refusedFile is a module file that failed validation, remembered so that reloads do not compile
// it again until it changes.
type refusedFile struct {
	version string
	limits  wasm.Limits
	err     error
}

// Report is what one reload did.
type Report struct {
	Events    []Event
	Unchanged int // modules whose file and limits are as loaded
}

// Changed reports whether the reload changed what serves jobs.
func (r Report) Changed() bool {
	for _, e := range r.Events {
		if e.Kind == Added || e.Kind == Replaced || e.Kind == Removed {
			return true
		}
	}
	return false
}

// Pending reports whether some file was left for a later reload.
func (r Report) Pending() bool {
	for _, e := range r.Events {
		if e.Kind == Pending {
			return true
		}
	}
	return false
}

// Err joins the errors of refused modules.
func (r Report) Err() error {
	var errs []error
	for _, e := range r.Events {
		if e.Kind == Refused {
			errs = append(errs, e.Err)
		}
	}
	return errors.Join(errs...)
}

// ReloadOptions tune a reload.
type ReloadOptions struct {
	// Settle is how long a file must have been left unmodified before it is loaded; a younger one
	// may still be being written and is reported Pending. Zero loads whatever is there.
	Settle time.Duration
}

// Notify sets the function told of every event: those of each reload as it is applied, and
// Closed events, which come later, from another goroutine. It must be set before reloads start.
func (r *Registry) Notify(f func(Event)) {
	r.mu.Lock()
	r.listener = f
	r.mu.Unlock()
}

func (r *Registry) emit(ev Event) {
	r.mu.Lock()
	f := r.listener
	r.mu.Unlock()
	if f != nil {
		f(ev)
	}
}

// errStillRefused marks a file refused before and unchanged since.
var errStillRefused = errors.New("refused before and unchanged since")

// ErrClosed is returned by Reload after Close.
var ErrClosed = errors.New("the module registry is closed")

// Reload brings the registry in line with its directory, without stopping jobs:
//   - a new or changed file (bytes or sidecar limits) is compiled, validated and instantiated
//     (its pool warmed) off the hot path, then swapped in atomically: new jobs run on the new
//     version, jobs already running finish on the old one, which is closed once they have;
//   - a file that fails validation, or whose tasks would clash with another module's, is refused:
//     the version already loaded (if any) keeps serving;
//   - a removed file's tasks stop being served (their jobs go where unknown tasks go) once the
//     swap is done; jobs already running finish.
//
// A directory that is missing or holds no module at all is refused as a whole (the loaded modules
// keep serving): it is far more often a deployment in progress than a wish to serve nothing.
// Reloads are serialized. The returned error is for the directory as a whole; refused modules are
// Refused events of the report.
func (r *Registry) Reload(ctx context.Context, opt ReloadOptions) (Report, error) {
	select {
	case r.reloading <- struct{}{}:
	case <-ctx.Done():
		return Report{}, context.Cause(ctx)
	}
	defer func() { <-r.reloading }()
	if r.closed {
		return Report{}, ErrClosed
	}
	paths, err := scan(r.dir)
	if err != nil {
		return Report{}, err
	}
	if len(paths) == 0 {
		return Report{}, fmt.Errorf("no task modules (*.wasm) in %s; keeping the %d loaded modules", r.dir, len(r.set.Load().entries))
	}
	cur := r.set.Load()
	var rep Report
	next := make(map[string]*entry, len(paths)) // path -> entry serving after the reload
	var files []moduleFile                      // to load
	for _, p := range paths {
		old := cur.byPath[p]
		f, pending, err := r.readChanged(p, old, opt.Settle)
		switch {
		case pending:
			rep.Events = append(rep.Events, Event{Kind: Pending, Module: moduleName(p), Path: p, OldVersion: version(old)})
		case err != nil:
			ev := refusal(p, "", old, err)
			if rf, ok := r.refused[p]; ok && errors.Is(err, errStillRefused) {
				ev.Version, ev.Err, ev.Repeat = rf.version, rf.err, true
			}
			rep.Events = append(rep.Events, ev)
		case f == nil:
			rep.Unchanged++
		default:
			files = append(files, *f)
			continue
		}
		if old != nil {
			next[p] = old
		}
	}
	for p := range r.refused { // forget refusals of files that are gone
		if _, ok := cur.byPath[p]; !ok && !slices.Contains(paths, p) {
			delete(r.refused, p)
		}
	}
	loaded := make([]*entry, len(files))
	errs := make([]error, len(files))
	parallel(len(files), func(i int) { loaded[i], errs[i] = r.load(ctx, files[i]) })
	if err := ctx.Err(); err != nil {
		// Interrupted (shutdown, a client that went away): what failed to load may have failed
		// for that reason alone. Swap nothing.
		for _, e := range loaded {
			if e != nil {
				_ = e.mod.Close(context.Background())
			}
		}
		return Report{}, fmt.Errorf("reload interrupted: %w", context.Cause(ctx))
	}
	fresh := make(map[*entry]bool)
	for i, f := range files {
		old := cur.byPath[f.path]
		if errs[i] != nil {
			v := wasm.VersionOf(f.wasm)
			r.refused[f.path] = refusedFile{version: v, limits: f.limits, err: errs[i]}
			rep.Events = append(rep.Events, refusal(f.path, v, old, errs[i]))
			if old != nil {
				next[f.path] = old
			}
			continue
		}
		delete(r.refused, f.path)
		next[f.path] = loaded[i]
		fresh[loaded[i]] = true
	}
	set := r.resolveClashes(cur, next, fresh, &rep)
	if len(set.byTask) == 0 {
		for e := range fresh {
			_ = e.mod.Close(context.Background())
		}
		err := fmt.Errorf("after this reload no module of %s would serve any task; keeping the %d loaded modules", r.dir, len(cur.entries))
		for _, ev := range rep.Events {
			if ev.Kind == Refused {
				err = fmt.Errorf("%w (refused: %v)", err, ev.Err)
				break
			}
		}
		return Report{}, err
	}
	for e := range fresh {
		old := cur.byPath[e.mod.Path()]
		ev := Event{Kind: Added, Module: e.mod.Name(), Path: e.mod.Path(), Version: e.mod.Version(), Tasks: e.mod.Tasks()}
		if old != nil {
			ev.Kind, ev.OldVersion = Replaced, old.mod.Version()
		}
		rep.Events = append(rep.Events, ev)
	}
	var retired []*entry
	for _, old := range cur.entries {
		if set.byPath[old.mod.Path()] != old {
			retired = append(retired, old)
			if _, still := set.byPath[old.mod.Path()]; !still {
				rep.Events = append(rep.Events, Event{Kind: Removed, Module: old.mod.Name(), Path: old.mod.Path(), Version: old.mod.Version(), Tasks: old.mod.Tasks()})
			}
		}
	}
	if len(retired) > 0 || len(fresh) > 0 {
		r.mu.Lock()
		for _, e := range retired {
			r.draining[e] = struct{}{}
			r.drained.Add(1)
		}
		r.mu.Unlock()
		r.set.Store(set) // the swap: from here on new jobs lease the new entries
		for _, e := range retired {
			e.retire()
		}
	}
	for _, ev := range rep.Events {
		r.emit(ev)
	}
	return rep, nil
}

// readChanged reads the module file at p unless it is the version already loaded (nil, no error).
// pending is true when the file or its sidecar changed less than settle ago.
func (r *Registry) readChanged(p string, old *entry, settle time.Duration) (f *moduleFile, pending bool, err error) {
	if settle > 0 {
		for _, q := range []string{p, SidecarPath(p)} {
			// A modification time in the future (clock skew, an archive from a machine whose
			// clock runs ahead) counts as settled: waiting for it could take forever.
			if fi, err := os.Stat(q); err == nil {
				if age := time.Since(fi.ModTime()); age >= 0 && age < settle {
					return nil, true, nil
				}
			}
		}
	}
	mf, err := readModuleFile(p)
	if err != nil {
		return nil, false, err
	}
	v := wasm.VersionOf(mf.wasm)
	if old != nil && old.mod.Version() == v && old.limits == mf.limits {
		return nil, false, nil
	}
	if rf, ok := r.refused[p]; ok && rf.version == v && rf.limits == mf.limits {
		return nil, false, errStillRefused
	}
	return &mf, false, nil
}

// resolveClashes builds the set serving after a reload from next (path -> entry). A task claimed by
// two modules refuses the newly loaded one (its old version, if any, keeps serving), so that a new
// file can never take a task from a module already serving it.
func (r *Registry) resolveClashes(cur *moduleSet, next map[string]*entry, fresh map[*entry]bool, rep *Report) *moduleSet {
	for {
		entries := make([]*entry, 0, len(next))
		for _, e := range next {
			entries = append(entries, e)
		}
		set, err := newModuleSet(entries)
		if err == nil {
			return set
		}
		var clash *ClashError
		errors.As(err, &clash)
		// Refuse the fresh side (the second path, if both are fresh). Two old entries never clash:
		// they served together before.
		p := clash.Paths[1]
		if !fresh[next[p]] {
			p = clash.Paths[0]
		}
		e := next[p]
		if !fresh[e] { // cannot happen; never loop
			return set
		}
		old := cur.byPath[p]
		rep.Events = append(rep.Events, refusal(p, e.mod.Version(), old, clash))
		delete(fresh, e)
		_ = e.mod.Close(context.Background())
		if old != nil {
			next[p] = old
		} else {
			delete(next, p)
		}
	}
}

func refusal(path, newVersion string, old *entry, err error) Event {
	return Event{Kind: Refused, Module: moduleName(path), Path: path, Version: newVersion, OldVersion: version(old), Err: err}
}

func version(e *entry) string {
	if e == nil {
		return ""
	}
	return e.mod.Version()
}

func moduleName(path string) string { return strings.TrimSuffix(filepath.Base(path), ".wasm") }

// closeRetired closes a replaced or removed version once its last job is over.
func (r *Registry) closeRetired(e *entry) {
	_ = e.mod.Close(context.Background())
	r.mu.Lock()
	delete(r.draining, e)
	r.mu.Unlock()
	r.emit(Event{Kind: Closed, Module: e.mod.Name(), Path: e.mod.Path(), Version: e.mod.Version(), Tasks: e.mod.Tasks()})
	r.drained.Done()
}

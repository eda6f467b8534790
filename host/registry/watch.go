package registry

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOptions tune Watch.
type WatchOptions struct {
	// Debounce is how long the directory must be quiet after a change before it is reloaded, and
	// how long a file must have been left alone before it is loaded (ReloadOptions.Settle), so
	// that a file still being written is never loaded. Default 250ms.
	Debounce time.Duration
	// Poll, when positive, also reloads at this interval whatever the file events say: for
	// filesystems that do not report changes (NFS, some container mounts).
	Poll time.Duration
	// OnReload receives the report or error of every reload the watcher runs (events are also
	// given to the Notify function).
	OnReload func(Report, error)
}

// Watch reloads the registry whenever its directory changes, until ctx ends or the returned stop
// function is called (which waits for a reload in progress). Any change in the directory counts
// (not only *.wasm files: a Kubernetes ConfigMap swaps a symlink), debounced. Files that changed
// too recently are looked at again once they have settled.
func (r *Registry) Watch(ctx context.Context, opt WatchOptions) (stop func(), err error) {
	if opt.Debounce <= 0 {
		opt.Debounce = 250 * time.Millisecond
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", r.dir, err)
	}
	if err := fw.Add(r.dir); err != nil {
		_ = fw.Close()
		return nil, fmt.Errorf("watch %s: %w", r.dir, err)
	}
	// The parent too, for the directory's own name: a deployment may replace the directory (or a
	// symlink to it) as a whole, which the watch on the old directory never sees.
	parent := filepath.Dir(filepath.Clean(r.dir))
	_ = fw.Add(parent) // best effort: the parent may not be readable
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer fw.Close()
		r.watchLoop(ctx, fw, opt)
	}()
	return func() { cancel(); wg.Wait() }, nil
}

func (r *Registry) watchLoop(ctx context.Context, fw *fsnotify.Watcher, opt WatchOptions) {
	dir := filepath.Clean(r.dir)
	// The first reload comes at once: files may have changed between the load and the watch.
	timer := time.NewTimer(opt.Debounce)
	// A directory that never stays quiet (a log file written beside the modules) must not put off
	// reloads for ever: they come at the latest maxWait after the first change.
	maxWait := 10 * opt.Debounce
	var first time.Time // of the changes not yet reloaded; zero when none
	arm := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		timer.Reset(max(0, min(opt.Debounce, maxWait-now.Sub(first))))
	}
	var poll <-chan time.Time
	if opt.Poll > 0 {
		t := time.NewTicker(opt.Poll)
		defer t.Stop()
		poll = t.C
	}
	reload := func() {
		first = time.Time{}
		rep, err := r.Reload(ctx, ReloadOptions{Settle: opt.Debounce})
		if ctx.Err() != nil {
			return
		}
		if opt.OnReload != nil {
			opt.OnReload(rep, err)
		}
		if err == nil && rep.Pending() {
			arm()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			if filepath.Dir(ev.Name) != dir && ev.Name != dir {
				continue // a sibling of the directory, seen through the parent's watch
			}
			if ev.Name == dir {
				// The directory itself was replaced, or a symlink to it switched: watch what the
				// name now points at.
				_ = fw.Remove(dir)
				_ = fw.Add(dir)
			}
			arm()
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			// An overflowed event queue loses changes: reload to be sure.
			if opt.OnReload != nil {
				opt.OnReload(Report{}, fmt.Errorf("watching %s: %w", r.dir, err))
			}
			arm()
		case <-timer.C:
			reload()
		case <-poll:
			reload()
		}
	}
}

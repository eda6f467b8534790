package registry

import (
	"context"
	"fmt"
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
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var poll <-chan time.Time
	if opt.Poll > 0 {
		t := time.NewTicker(opt.Poll)
		defer t.Stop()
		poll = t.C
	}
	reload := func() {
		rep, err := r.Reload(ctx, ReloadOptions{Settle: opt.Debounce})
		if ctx.Err() != nil {
			return
		}
		if opt.OnReload != nil {
			opt.OnReload(rep, err)
		}
		if err == nil && rep.Pending() {
			timer.Reset(opt.Debounce)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-fw.Events:
			if !ok {
				return
			}
			timer.Reset(opt.Debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			// An overflowed event queue loses changes: reload to be sure.
			if opt.OnReload != nil {
				opt.OnReload(Report{}, fmt.Errorf("watching %s: %w", r.dir, err))
			}
			timer.Reset(opt.Debounce)
		case <-timer.C:
			reload()
		case <-poll:
			reload()
		}
	}
}

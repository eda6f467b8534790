package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// profile starts the profiles asked for with -profile around one timed drain and returns the
// function that stops them and writes them. Without -profile it does nothing.
//
// Each drain writes DIR/cpu-N.pprof (CPU), and on stopping, the process's cumulative
// DIR/allocs-N.pprof, DIR/mutex-N.pprof and DIR/block-N.pprof, N counting the drains of the run
// in order. Read them with `go tool pprof -top DIR/cpu-1.pprof`.
func (e *env) profile() (stop func()) {
	if e.opts.profileDir == "" {
		return func() {}
	}
	e.profiles++
	n := e.profiles
	if n == 1 {
		runtime.SetMutexProfileFraction(10)
		runtime.SetBlockProfileRate(10_000) // one event per 10 us blocked
	}
	if err := os.MkdirAll(e.opts.profileDir, 0o755); err != nil {
		progress("profile: %v", err)
		return func() {}
	}
	path := func(kind string) string {
		return filepath.Join(e.opts.profileDir, fmt.Sprintf("%s-%d.pprof", kind, n))
	}
	f, err := os.Create(path("cpu"))
	if err != nil {
		progress("profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		progress("profile: %v", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		for _, kind := range []string{"allocs", "mutex", "block"} {
			out, err := os.Create(path(kind))
			if err != nil {
				progress("profile: %v", err)
				continue
			}
			_ = pprof.Lookup(kind).WriteTo(out, 0)
			out.Close()
		}
		progress("profile: wrote %s and its allocs, mutex and block profiles", path("cpu"))
	}
}

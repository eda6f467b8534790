package wasm

import (
	"context"
	"crypto/rand"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
)

// instance is one instantiated module that runs one job at a time. Native and Extism modules
// implement it; everything above it (pool, outcome mapping) is shared.
type instance interface {
	// runJob hands one job input to the guest and returns its output bytes (a copy).
	runJob(ctx context.Context, input []byte) ([]byte, error)
	// base returns the state every instance kind shares.
	base() *instanceBase
	// close releases the instance.
	close(ctx context.Context)
}

// instanceBase is the per-instance state the host functions and WASI hooks read.
type instanceBase struct {
	stdio        *captureBuffer
	memoryDenied atomic.Bool
	exited       atomic.Bool                     // the guest module was closed (proc_exit, interrupt)
	exitCode     atomic.Uint32                   // with exited
	done         atomic.Pointer[<-chan struct{}] // the running job's done channel, for sleeps
}

func newInstanceBase() *instanceBase {
	return &instanceBase{stdio: newCaptureBuffer(1<<10, 3<<10)}
}

// moduleConfig is the sandbox every instance gets (abi/ABI.md section 4): real clocks, a
// cryptographic random source, sleeps bounded by the job, captured stdio, and nothing else (no
// arguments, environment, files or sockets).
func (b *instanceBase) moduleConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(b.sleep).
		WithOsyield(runtime.Gosched).
		WithRandSource(rand.Reader).
		WithStdout(b.stdio).
		WithStderr(b.stdio)
}

// instantiationContext returns ctx set up for creating the instance: its memory limited (and
// refused grows recorded) by the instance's allocator, and its closing (proc_exit included,
// which Extism otherwise reports as success) recorded.
func (b *instanceBase) instantiationContext(ctx context.Context, l Limits) context.Context {
	ctx = experimental.WithMemoryAllocator(ctx, newMemoryAllocator(l.MemoryBytes(), &b.memoryDenied))
	return experimental.WithCloseNotifier(ctx, experimental.CloseNotifyFunc(func(_ context.Context, code uint32) {
		b.exitCode.Store(code)
		b.exited.Store(true)
	}))
}

// begin prepares the instance for a job.
func (b *instanceBase) begin(done <-chan struct{}) {
	b.stdio.reset()
	b.memoryDenied.Store(false)
	b.done.Store(&done)
}

func (b *instanceBase) end() { b.done.Store(nil) }

// sleep is the instance's WASI nanosleep: it sleeps for ns but never past the end of the job, so a
// guest cannot hold a worker slot by sleeping through its timeout.
func (b *instanceBase) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	var done <-chan struct{}
	if p := b.done.Load(); p != nil {
		done = *p
	}
	t := time.NewTimer(time.Duration(ns))
	select {
	case <-t.C:
	case <-done:
	}
	t.Stop()
}

package wasm

import (
	"fmt"
	"time"
)

// PageSize is the size of one WebAssembly memory page.
const PageSize = 64 << 10

// maxPages is the most pages a 32-bit linear memory can have (4 GiB).
const maxPages = 65536

// Limits bound what one module may use. The zero value of a field means "not set": Merge fills it
// from another Limits, and Engine fills what is still unset from its defaults.
type Limits struct {
	// MemoryPages is the most linear memory one instance may have, in 64 KiB pages.
	MemoryPages uint32
	// Timeout is the wall-clock limit of one job.
	Timeout time.Duration
	// MaxInstances is the most instances of the module that may exist at once, which is the most
	// jobs of its tasks that run at once. It is never more than the engine's concurrency.
	MaxInstances int
	// MinInstances is the number of warm instances kept ready (at most MaxInstances).
	MinInstances int
	// MaxOutputBytes is the largest output a job may return.
	MaxOutputBytes uint32
}

// DefaultLimits are the limits a worker applies when nothing else is configured.
var DefaultLimits = Limits{
	MemoryPages:    4096, // 256 MiB
	Timeout:        300 * time.Second,
	MaxInstances:   10,
	MinInstances:   1,
	MaxOutputBytes: 16 << 20,
}

// Merge returns l with every unset field taken from d.
func (l Limits) Merge(d Limits) Limits {
	if l.MemoryPages == 0 {
		l.MemoryPages = d.MemoryPages
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxInstances == 0 {
		l.MaxInstances = d.MaxInstances
	}
	if l.MinInstances == 0 {
		l.MinInstances = d.MinInstances
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	return l
}

// Validate reports the first field that is out of range.
func (l Limits) Validate() error {
	switch {
	case l.MemoryPages > maxPages:
		return fmt.Errorf("memory limit %d pages is over the 4 GiB (%d pages) a module can address", l.MemoryPages, maxPages)
	case l.Timeout < 0:
		return fmt.Errorf("timeout %s is negative", l.Timeout)
	case l.MaxInstances < 0:
		return fmt.Errorf("max_instances %d is negative", l.MaxInstances)
	case l.MinInstances < 0:
		return fmt.Errorf("min_instances %d is negative", l.MinInstances)
	case l.MaxInstances > 0 && l.MinInstances > l.MaxInstances:
		return fmt.Errorf("min_instances %d is more than max_instances %d", l.MinInstances, l.MaxInstances)
	}
	return nil
}

// MemoryBytes is the memory limit in bytes.
func (l Limits) MemoryBytes() uint64 { return uint64(l.MemoryPages) * PageSize }

// maxSetup caps the time a guest's start-up (instantiation, _initialize, reading the manifest) may
// take, whatever the job timeout: a module that cannot start in that time is refused.
const maxSetup = 30 * time.Second

// setupTimeout is the time one instance's start-up may take: the job timeout, at most maxSetup.
func (l Limits) setupTimeout() time.Duration { return min(l.Timeout, maxSetup) }

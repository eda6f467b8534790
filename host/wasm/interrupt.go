package wasm

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arqhost/arqhost/host/wasm/internal/instrument"
)

// interrupter is how the engine stops guest code whose job's context has ended (timeout, abort,
// shutdown). The mechanism is on every job's hot path, so it is kept behind this small interface
// and measured (BenchmarkInterruptCost) against the alternatives.
type interrupter interface {
	// runtimeConfig adjusts the configuration of every runtime the engine creates.
	runtimeConfig(wazero.RuntimeConfig) wazero.RuntimeConfig
	// prepare returns the bytes to compile for a module: the module itself, or a rewrite of it.
	prepare(wasm []byte) ([]byte, error)
	// hostModule instantiates in rt what the prepared modules import from the interrupter.
	hostModule(ctx context.Context, rt wazero.Runtime) error
	// extismFunctions are the same host functions for Extism plugins.
	extismFunctions() []extism.HostFunction
}

// budgetChecks is the interrupter in use. When a module is loaded, it is rewritten
// (internal/instrument) so that every function entry and every loop header takes the cost of the
// code it guards off a budget held in a new global, and calls the host function check when the
// budget runs out. check yields to the Go scheduler, stops the guest if its job's context has
// ended, and hands out a new budget. Every path of guest code passes a check point at least once
// per function call or loop iteration, so no guest (a tight loop without calls, a recursion
// without loops) runs more than one budget's worth of code without the host looking at it, and a
// busy guest gives its thread back to the scheduler every budget (heartbeats, metrics and timers
// keep running even when guests occupy every core).
type budgetChecks struct {
	budget int32
}

// checkBudget is the budget handed out at each check: about a million instructions of straight-line
// guest code, a millisecond or less on current machines. It bounds both how late a guest is
// stopped after its deadline and how long it holds its thread without yielding.
const checkBudget = 1 << 20

// The import the rewrite adds to every module. A module may not import from this namespace itself.
const (
	rtModule = "arqhost_rt"
	rtCheck  = "check"
)

// errInterrupted is the panic with which check stops a guest; wazero returns it from the call.
var errInterrupted = errors.New("interrupted: the job's context ended")

func (budgetChecks) runtimeConfig(c wazero.RuntimeConfig) wazero.RuntimeConfig { return c }

func (b budgetChecks) prepare(wasm []byte) ([]byte, error) {
	out, _, err := instrument.Instrument(wasm, instrument.Options{ImportModule: rtModule, ImportName: rtCheck, Budget: b.budget})
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	return out, nil
}

func (b budgetChecks) hostModule(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(rtModule).
		NewFunctionBuilder().
		WithGoModuleFunction(b.check(), nil, []api.ValueType{api.ValueTypeI32}).
		Export(rtCheck).
		Instantiate(ctx)
	return err
}

func (b budgetChecks) extismFunctions() []extism.HostFunction {
	check := b.check()
	f := extism.NewHostFunctionWithStack(rtCheck, func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
		check(ctx, nil, stack)
	}, nil, []extism.ValueType{extism.ValueTypeI32})
	f.SetNamespace(rtModule)
	return []extism.HostFunction{f}
}

// check is the host side of a check point. ctx is the context of the guest call: the job's, or
// the instantiation's while a module starts.
func (b budgetChecks) check() api.GoModuleFunc {
	budget := uint64(uint32(b.budget))
	return func(ctx context.Context, _ api.Module, stack []uint64) {
		runtime.Gosched() // give the thread to other goroutines (and let due timers fire)
		select {
		case <-ctx.Done():
			panic(errInterrupted)
		default:
		}
		stack[0] = budget
	}
}

// closeOnContextDone is wazero's own mechanism, kept to measure against: it closes the instance
// when the call's context is done, checking at loop back-edges only (a recursion without loops is
// not stopped) and spawning a goroutine per call.
type closeOnContextDone struct{}

func (closeOnContextDone) runtimeConfig(c wazero.RuntimeConfig) wazero.RuntimeConfig {
	return c.WithCloseOnContextDone(true)
}
func (closeOnContextDone) prepare(wasm []byte) ([]byte, error)              { return wasm, nil }
func (closeOnContextDone) hostModule(context.Context, wazero.Runtime) error { return nil }
func (closeOnContextDone) extismFunctions() []extism.HostFunction           { return nil }

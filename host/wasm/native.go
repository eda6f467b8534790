package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arqhost/arqhost/abi"
)

// nativeCode is a module compiled for arqhost's own calling convention (abi/ABI.md sections 2-4).
type nativeCode struct {
	m        *Module
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
}

// nativeInstance is one instance of a nativeCode.
type nativeInstance struct {
	*instanceBase
	mod       api.Module
	mem       api.Memory
	alloc     api.Function
	runFn     api.Function
	stack     [2]uint64
	maxOutput uint32
}

func (c *nativeCode) instantiate(ctx context.Context) (instance, error) {
	b := newInstanceBase()
	cfg := b.moduleConfig().WithName("").WithStartFunctions("_initialize")
	ctx = withCallState(b.instantiationContext(ctx, c.m.limits), &callState{module: c.m})
	b.begin(ctx.Done()) // a sleep in _initialize ends with the setup's deadline
	mod, err := c.runtime.InstantiateModule(ctx, c.compiled, cfg)
	b.end()
	if err != nil {
		if out := b.stdio.take(); out != "" {
			err = fmt.Errorf("%w (guest output: %s)", err, clip(out, 512))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("start-up (_initialize) did not finish in time: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	return &nativeInstance{
		instanceBase: b,
		mod:          mod,
		mem:          mod.Memory(),
		alloc:        mod.ExportedFunction(abi.ExportAlloc),
		runFn:        mod.ExportedFunction(abi.ExportRun),
		maxOutput:    c.m.limits.MaxOutputBytes,
	}, nil
}

func (in *nativeInstance) base() *instanceBase { return in.instanceBase }

func (in *nativeInstance) runJob(ctx context.Context, input []byte) ([]byte, error) {
	s := in.stack[:]
	s[0] = uint64(len(input))
	if err := in.alloc.CallWithStack(ctx, s); err != nil {
		return nil, err
	}
	ptr := uint32(s[0])
	if ptr == 0 || !in.mem.Write(ptr, input) {
		return nil, badOutputf("%s returned pointer %d for %d bytes, outside the %d-byte memory", abi.ExportAlloc, ptr, len(input), in.mem.Size())
	}
	s[0], s[1] = uint64(ptr), uint64(len(input))
	if err := in.runFn.CallWithStack(ctx, s); err != nil {
		return nil, err
	}
	optr, olen := abi.Unpack(s[0])
	if olen > in.maxOutput {
		return nil, &outputTooLargeError{size: olen, limit: in.maxOutput}
	}
	out, ok := in.mem.Read(optr, olen)
	if !ok {
		return nil, badOutputf("%s returned output at %d..%d, outside the %d-byte memory", abi.ExportRun, optr, uint64(optr)+uint64(olen), in.mem.Size())
	}
	return append([]byte(nil), out...), nil
}

// call0 calls an export without arguments, for load-time checks.
func (in *nativeInstance) call0(ctx context.Context, name string) (uint64, error) {
	f := in.mod.ExportedFunction(name)
	s := in.stack[:]
	if err := f.CallWithStack(ctx, s); err != nil {
		return 0, err
	}
	return s[0], nil
}

func (in *nativeInstance) close(ctx context.Context) { _ = in.mod.Close(ctx) }

func (c *nativeCode) close(ctx context.Context) error { return c.runtime.Close(ctx) }

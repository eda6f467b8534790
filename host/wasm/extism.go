package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/arqhost/arqhost/abi"
)

// extismCode is a module built with an Extism PDK (abi/ABI.md section 8), compiled through
// github.com/extism/go-sdk.
type extismCode struct {
	m        *Module
	compiled *extism.CompiledPlugin
}

type extismInstance struct {
	*instanceBase
	plugin *extism.Plugin
	cur    *callState // the running job, for the plugin's logger; guarded by the pool's exclusivity
}

var extismLogLevelOnce sync.Once

func (e *Engine) loadExtism(ctx context.Context, m *Module, wasm []byte) error {
	// Extism filters plugin logs with one process-wide level; let records through and filter them
	// with the engine's logger instead. Its own debug chatter stays below Info.
	extismLogLevelOnce.Do(func() { extism.SetLogLevel(extism.LogLevelInfo) })

	rc := e.interrupt.runtimeConfig(wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithCoreFeatures(api.CoreFeaturesV2))
	compiled, err := extism.NewCompiledPlugin(ctx, extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}},
	}, extism.PluginConfig{RuntimeConfig: rc, EnableWasi: true}, nil)
	if err != nil {
		return fmt.Errorf("extism module: %w", err)
	}
	code := &extismCode{m: m, compiled: compiled}
	m.flavor, m.code = "extism", code
	first, err := code.instantiate(ctx)
	if err != nil {
		_ = compiled.Close(ctx)
		return err
	}
	in := first.(*extismInstance)
	for _, name := range []string{abi.ExportManifest, abi.ExportRun} {
		if !in.plugin.FunctionExists(name) {
			in.close(ctx)
			_ = compiled.Close(ctx)
			return fmt.Errorf("is an Extism module without the %s export arqhost needs (see abi/ABI.md section 8)", name)
		}
	}
	_, out, err := in.plugin.CallWithContext(withCallState(ctx, &callState{module: m}), abi.ExportManifest, nil)
	if err == nil {
		var man abi.Manifest
		man, err = parseManifest(out)
		switch {
		case err != nil:
		case man.ABI != abi.Version:
			err = fmt.Errorf("%w: the module's manifest says ABI version %d; this host runs version %d", ErrUnsupportedABI, man.ABI, abi.Version)
		default:
			m.tasks, m.sdk = man.Tasks, man.SDK
		}
	} else {
		err = fmt.Errorf("%s: %w", abi.ExportManifest, err)
	}
	if err == nil {
		err = e.startPool(ctx, m, code.instantiate, first)
	} else {
		in.close(ctx)
	}
	if err != nil {
		_ = compiled.Close(ctx)
	}
	return err
}

func (c *extismCode) instantiate(ctx context.Context) (instance, error) {
	b := newInstanceBase()
	p, err := c.compiled.Instance(b.withAllocator(ctx, c.m.limits), extism.PluginInstanceConfig{ModuleConfig: b.moduleConfig()})
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	in := &extismInstance{instanceBase: b, plugin: p}
	p.SetLogger(func(level extism.LogLevel, msg string) {
		st := in.cur
		if st == nil {
			st = &callState{module: c.m}
		}
		guestLog(withCallState(context.Background(), st), extismLevel(level), msg, nil)
	})
	return in, nil
}

func extismLevel(l extism.LogLevel) abi.LogLevel {
	switch l {
	case extism.LogLevelTrace, extism.LogLevelDebug:
		return abi.LogDebug
	case extism.LogLevelInfo:
		return abi.LogInfo
	case extism.LogLevelWarn:
		return abi.LogWarn
	}
	return abi.LogError
}

func (in *extismInstance) base() *instanceBase { return in.instanceBase }

// extismGuestError is an error the guest set with the PDK's error call.
type extismGuestError struct{ msg string }

func (e *extismGuestError) Error() string { return e.msg }

func (in *extismInstance) run(ctx context.Context, input []byte) ([]byte, error) {
	in.cur = callStateFrom(ctx)
	defer func() { in.cur = nil }()
	rc, out, err := in.plugin.CallWithContext(ctx, abi.ExportRun, input)
	if err != nil {
		var exit *sys.ExitError
		if ctx.Err() != nil || errors.As(err, &exit) || strings.HasPrefix(err.Error(), "wasm error: ") || in.plugin.Memory() == nil {
			return nil, err
		}
		if rc != 0 {
			// The guest returned non-zero with an error message: a guest error, not an ABI violation.
			return guestErrorOutput(err.Error()), nil
		}
		return nil, badOutputf("extism: %v", err)
	}
	if uint64(len(out)) > uint64(in.maxOutput()) {
		return nil, &outputTooLargeError{size: uint32(min(len(out), 1<<32-1)), limit: in.maxOutput()}
	}
	return out, nil
}

func (in *extismInstance) maxOutput() uint32 {
	if st := in.cur; st != nil {
		return st.module.limits.MaxOutputBytes
	}
	return DefaultLimits.MaxOutputBytes
}

// guestErrorOutput encodes an Extism error message as an ABI output of kind "error".
func guestErrorOutput(msg string) []byte {
	b, _ := jsonMarshal(abi.Output{Error: &abi.Error{Kind: abi.KindError, Type: "ExtismError", Message: msg}})
	return b
}

func (in *extismInstance) close(ctx context.Context) { _ = in.plugin.Close(ctx) }

func (c *extismCode) close(ctx context.Context) error { return c.compiled.Close(ctx) }

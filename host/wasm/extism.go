package wasm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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
	plugin    *extism.Plugin
	manifest  abi.Manifest
	maxOutput uint32
	cur       *callState // the running job, for the plugin's logger; guarded by the pool's exclusivity
}

var extismLogLevelOnce sync.Once

func (e *Engine) loadExtism(ctx context.Context, m *Module, compiledCheck wazero.CompiledModule, wasm []byte) error {
	if err := checkExtism(compiledCheck, m.limits); err != nil {
		return err
	}
	// Extism filters plugin logs with one process-wide level; let records through and filter them
	// with the engine's logger instead. Its own debug chatter stays below Info.
	extismLogLevelOnce.Do(func() { extism.SetLogLevel(extism.LogLevelInfo) })

	rc := e.interrupt.runtimeConfig(wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithCoreFeatures(api.CoreFeaturesV2))
	compiled, err := extism.NewCompiledPlugin(ctx, extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}},
	}, extism.PluginConfig{RuntimeConfig: rc, EnableWasi: true}, e.interrupt.extismFunctions())
	if err != nil {
		return fmt.Errorf("extism module: %w", err)
	}
	code := &extismCode{m: m, compiled: compiled}
	m.flavor, m.code = "extism", code
	sctx, cancel := context.WithTimeout(ctx, m.limits.setupTimeout())
	first, err := code.instantiate(sctx)
	cancel()
	if err == nil {
		in := first.(*extismInstance)
		m.tasks, m.sdk = in.manifest.Tasks, in.manifest.SDK
		if in.manifest.ABI != abi.Version {
			in.close(ctx)
			err = fmt.Errorf("%w: the module's manifest says ABI version %d; this host runs version %d", ErrUnsupportedABI, in.manifest.ABI, abi.Version)
		} else {
			err = e.startPool(ctx, m, code.instantiate, first)
		}
	}
	if err != nil {
		_ = compiled.Close(ctx)
	}
	return err
}

// checkExtism checks an Extism module's imports, exports and memory before anything of it runs.
func checkExtism(c wazero.CompiledModule, limits Limits) error {
	for _, f := range c.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod != extismModule && mod != wasiModule && mod != rtModule {
			return fmt.Errorf("imports %s.%s, which arqhost does not provide to Extism modules (only %s and %s)", mod, name, extismModule, wasiModule)
		}
	}
	for _, name := range []string{abi.ExportManifest, abi.ExportRun} {
		if _, ok := c.ExportedFunctions()[name]; !ok {
			return fmt.Errorf("is an Extism module without the %s export arqhost needs (see abi/ABI.md section 8)", name)
		}
	}
	return checkMemory(c, limits)
}

// instantiate creates an instance and runs its guest runtime's initialisation (Extism otherwise
// does it lazily, inside the first job) by reading the manifest, so that a pooled instance is warm
// and a guest that fails to start fails here.
func (c *extismCode) instantiate(ctx context.Context) (instance, error) {
	b := newInstanceBase()
	ictx := b.instantiationContext(ctx, c.m.limits)
	b.begin(ctx.Done())
	defer b.end()
	p, err := c.compiled.Instance(ictx, extism.PluginInstanceConfig{ModuleConfig: b.moduleConfig()})
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	in := &extismInstance{instanceBase: b, plugin: p, maxOutput: c.m.limits.MaxOutputBytes}
	p.SetLogger(func(level extism.LogLevel, msg string) {
		st := in.cur
		if st == nil {
			st = &callState{module: c.m}
		}
		guestLog(withCallState(context.Background(), st), extismLevel(level), msg, nil)
	})
	out, err := in.run(withCallState(ctx, &callState{module: c.m}), abi.ExportManifest, nil)
	if err == nil {
		in.manifest, err = parseManifest(out)
	}
	if err != nil {
		in.close(ctx)
		return nil, fmt.Errorf("%s: %w", abi.ExportManifest, err)
	}
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

func (in *extismInstance) runJob(ctx context.Context, input []byte) ([]byte, error) {
	out, err := in.run(ctx, abi.ExportRun, input)
	if err == nil && uint64(len(out)) > uint64(in.maxOutput) {
		return nil, &outputTooLargeError{size: uint32(min(len(out), 1<<32-1)), limit: in.maxOutput}
	}
	return out, err
}

// run calls an Extism export and sorts what comes back. Extism reports a guest's own error (set
// with the PDK's error call) as a plain error with a non-zero return; everything else it passes
// through from wazero (traps, exits, host function panics) or adds itself (a failed runtime
// initialisation, a closed module). Only the first is a guest error: the rest mean the instance
// can no longer be trusted.
func (in *extismInstance) run(ctx context.Context, fn string, input []byte) ([]byte, error) {
	in.cur = callStateFrom(ctx)
	defer func() { in.cur = nil }()
	rc, out, err := in.plugin.CallWithContext(ctx, fn, input)
	if in.exited.Load() {
		// proc_exit, even with code 0, or an interrupt: the instance is gone.
		return nil, sys.NewExitError(in.exitCode.Load())
	}
	if err != nil {
		if rc != 0 && isExtismGuestError(err) {
			return guestErrorOutput(clip(err.Error(), int(in.maxOutput))), nil
		}
		return nil, err
	}
	return out, nil
}

// isExtismGuestError reports whether err is the text a guest set with the PDK's error call:
// Extism returns that as errors.New(text), while its own and wazero's errors are wrapped or typed.
func isExtismGuestError(err error) bool {
	if reflect.TypeOf(err) != reflect.TypeOf(errors.New("")) {
		return false
	}
	msg := err.Error()
	return !strings.HasPrefix(msg, "failed to initialize runtime") && !strings.Contains(msg, "(recovered by wazero)") &&
		msg != "module is closed" && !strings.HasPrefix(msg, "unknown function")
}

// guestErrorOutput encodes an Extism error message as an ABI output of kind "error".
func guestErrorOutput(msg string) []byte {
	b, _ := jsonMarshal(abi.Output{Error: &abi.Error{Kind: abi.KindError, Type: "ExtismError", Message: msg}})
	return b
}

func (in *extismInstance) close(ctx context.Context) { _ = in.plugin.Close(ctx) }

func (c *extismCode) close(ctx context.Context) error { return c.compiled.Close(ctx) }

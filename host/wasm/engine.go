package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Config configures an Engine.
type Config struct {
	// CacheDir holds wazero's on-disk compilation cache, so that a restarted worker does not
	// compile its modules again. Empty means DefaultCacheDir(); "-" disables the disk cache.
	CacheDir string
	// Concurrency is the most jobs the worker runs at once; no module gets more instances.
	// Zero means DefaultLimits.MaxInstances.
	Concurrency int
	// Defaults are the limits of a module whose own limits leave a field unset. Unset fields of
	// Defaults come from DefaultLimits, except MaxInstances, which defaults to Concurrency.
	Defaults Limits
	// Logger receives the engine's records and the guests' log records. Nil discards them.
	Logger *slog.Logger
	// OnInstantiate, if set, is called after every instance is created, with the time it took.
	OnInstantiate func(module, version string, d time.Duration)
}

// DefaultCacheDir is the compilation cache used when Config.CacheDir is empty: arqhost/wazero in
// the user's cache directory, or in the temporary directory when there is none.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "arqhost", "wazero")
}

// Engine compiles and runs task modules. One worker has one Engine; it is safe for concurrent use.
type Engine struct {
	cfg       Config
	cache     wazero.CompilationCache
	logger    *slog.Logger
	interrupt interrupter
}

// NewEngine returns an Engine. It fails only if the compilation cache directory cannot be used.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultLimits.MaxInstances
	}
	if cfg.Defaults.MaxInstances == 0 {
		cfg.Defaults.MaxInstances = cfg.Concurrency
	}
	cfg.Defaults = cfg.Defaults.Merge(DefaultLimits)
	if err := cfg.Defaults.Validate(); err != nil {
		return nil, fmt.Errorf("default limits: %w", err)
	}
	e := &Engine{cfg: cfg, logger: cfg.Logger, interrupt: budgetChecks{budget: checkBudget}}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	switch cfg.CacheDir {
	case "-":
		e.cache = wazero.NewCompilationCache()
	default:
		dir := cfg.CacheDir
		if dir == "" {
			dir = DefaultCacheDir()
		}
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
		}
		e.cache = c
	}
	return e, nil
}

// Close releases the compilation cache. Close every Module first.
func (e *Engine) Close(ctx context.Context) error { return e.cache.Close(ctx) }

// Defaults returns the engine's default limits, with the concurrency cap applied.
func (e *Engine) Defaults() Limits { return e.effective(Limits{}) }

// effective merges l with the engine's defaults and caps instances at the engine's concurrency.
func (e *Engine) effective(l Limits) Limits {
	l = l.Merge(e.cfg.Defaults)
	if l.MaxInstances > e.cfg.Concurrency {
		l.MaxInstances = e.cfg.Concurrency
	}
	if l.MinInstances > l.MaxInstances {
		l.MinInstances = l.MaxInstances
	}
	return l
}

// LoadError is returned when a module cannot be loaded. It names the module's file.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// ErrUnsupportedABI is wrapped by the LoadError of a module that speaks an ABI version this host
// does not run.
var ErrUnsupportedABI = errors.New("unsupported ABI version")

// LoadFile reads and loads the module at path. See Load.
func (e *Engine) LoadFile(ctx context.Context, path string, limits Limits) (*Module, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{Path: path, Err: err}
	}
	return e.Load(ctx, path, wasm, limits)
}

// Load compiles a module, checks it against the ABI (version, exports, imports, memory), creates
// one instance to read its manifest, and fills its pool to the warm minimum. path names the module
// in errors and logs; its base name without ".wasm" is the module's name. Unset limits come from
// the engine's defaults.
func (e *Engine) Load(ctx context.Context, path string, wasm []byte, limits Limits) (m *Module, err error) {
	defer func() {
		// wazero and Extism are not meant to panic on any input, but a module is untrusted input
		// and a worker loads modules on background goroutines: never let one take the process down.
		if r := recover(); r != nil {
			m, err = nil, &LoadError{Path: path, Err: fmt.Errorf("internal error while loading: %v", r)}
		}
	}()
	m, err = e.load(ctx, path, wasm, limits)
	if err != nil {
		return nil, &LoadError{Path: path, Err: err}
	}
	return m, nil
}

func (e *Engine) load(ctx context.Context, path string, wasm []byte, limits Limits) (*Module, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	m := &Module{
		engine:  e,
		path:    path,
		name:    moduleName(path),
		version: VersionOf(wasm),
		limits:  e.effective(limits),
	}
	// The interrupter may rewrite the module (interrupt.go); what runs is the rewrite, while the
	// version stays the hash of the file.
	prepared, err := e.interrupt.prepare(wasm)
	if err != nil {
		return nil, err
	}
	rc := e.interrupt.runtimeConfig(wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithCoreFeatures(api.CoreFeaturesV2))
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	if err := e.interrupt.hostModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, prepared)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	if err := checkReservedImports(compiled); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	if importsExtism(compiled) {
		err := e.loadExtism(ctx, m, compiled, prepared)
		_ = rt.Close(ctx)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	code := &nativeCode{m: m, runtime: rt, compiled: compiled}
	if err := e.loadNative(ctx, m, code); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return m, nil
}

// VersionOf is the version of a module: the hex SHA-256 of its bytes.
func VersionOf(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return hex.EncodeToString(sum[:])
}

func moduleName(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext == ".wasm" {
		base = base[:len(base)-len(ext)]
	}
	return base
}

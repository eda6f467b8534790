package wasm

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arqhost/arqhost/abi"
)

const (
	wasiModule   = "wasi_snapshot_preview1"
	extismModule = "extism:host/env"
)

func importsExtism(c wazero.CompiledModule) bool {
	for _, f := range c.ImportedFunctions() {
		if mod, _, _ := f.Import(); mod == extismModule {
			return true
		}
	}
	return false
}

// checkReservedImports refuses a module that imports from the interrupter's namespace itself: the
// one import from it is the one the rewrite added (there is none without a rewrite).
func checkReservedImports(c wazero.CompiledModule) error {
	n := 0
	for _, f := range c.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod == rtModule {
			if n++; n > 1 || name != rtCheck {
				return fmt.Errorf("imports from %s, a namespace reserved for the host", rtModule)
			}
		}
	}
	return nil
}

// checkNative checks a compiled module's imports and exports against abi/ABI.md sections 1-2,
// and its memory against the limit, before anything of it runs.
func checkNative(c wazero.CompiledModule, limits Limits) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch {
		case mod == wasiModule:
		case mod == abi.HostModule && name == abi.HostLog:
		case mod == rtModule: // added by the interrupter; checkReservedImports made sure of that
		default:
			return fmt.Errorf("imports %s.%s, which arqhost does not provide (a module may import only %s and %s.%s)",
				mod, name, wasiModule, abi.HostModule, abi.HostLog)
		}
	}
	if len(c.ImportedMemories()) > 0 {
		return fmt.Errorf("imports a memory; a module must define and export its own memory")
	}
	exports := c.ExportedFunctions()
	if _, ok := exports[abi.ExportABIVersion]; !ok {
		return fmt.Errorf("is not an arqhost task module: it does not export %s (build it with an arqhost SDK; see abi/ABI.md)", abi.ExportABIVersion)
	}
	if _, start := exports["_start"]; start {
		if _, init := exports["_initialize"]; !init {
			return fmt.Errorf("is a WASI command (it exports _start); build it as a reactor: Go -buildmode=c-shared, Rust crate-type cdylib, C -mexec-model=reactor")
		}
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name            string
		params, results []api.ValueType
	}{
		{abi.ExportABIVersion, nil, []api.ValueType{i32}},
		{abi.ExportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
		{abi.ExportManifest, nil, []api.ValueType{i64}},
		{abi.ExportRun, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	}
	for _, w := range want {
		f, ok := exports[w.name]
		if !ok {
			return fmt.Errorf("does not export %s, which ABI version %d requires", w.name, abi.Version)
		}
		if !slices.Equal(f.ParamTypes(), w.params) || !slices.Equal(f.ResultTypes(), w.results) {
			return fmt.Errorf("exports %s with signature %s, want %s", w.name, sig(f.ParamTypes(), f.ResultTypes()), sig(w.params, w.results))
		}
	}
	return checkMemory(c, limits)
}

// checkMemory refuses a module whose memory needs more than its limit from the start (wazero would
// fail to allocate it).
func checkMemory(c wazero.CompiledModule, limits Limits) error {
	mem, ok := c.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return fmt.Errorf("does not export its memory as %q", abi.ExportMemory)
	}
	if mem.Min() > limits.MemoryPages {
		return fmt.Errorf("needs at least %d memory pages (%d MiB) but its limit is %d pages (%d MiB); raise memory_limit for it",
			mem.Min(), uint64(mem.Min())*PageSize>>20, limits.MemoryPages, limits.MemoryBytes()>>20)
	}
	return nil
}

func sig(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + name(params) + ") -> (" + name(results) + ")"
}

// parseManifest decodes and checks a module's manifest (abi/ABI.md section 2.3).
func parseManifest(b []byte) (abi.Manifest, error) {
	var m abi.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if len(m.Tasks) == 0 {
		return m, fmt.Errorf("manifest declares no tasks")
	}
	seen := make(map[string]bool, len(m.Tasks))
	for _, t := range m.Tasks {
		if err := ValidTaskName(t); err != nil {
			return m, fmt.Errorf("manifest: %w", err)
		}
		if seen[t] {
			return m, fmt.Errorf("manifest declares task %q twice", t)
		}
		seen[t] = true
	}
	return m, nil
}

// ValidTaskName reports whether name may be a task name (abi/ABI.md section 2.3).
func ValidTaskName(name string) error {
	if name == "" || len(name) > abi.MaxTaskName {
		return fmt.Errorf("task name %q must be 1 to %d bytes", clip(name, 40), abi.MaxTaskName)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == ':' || r == '-'
		if !ok {
			return fmt.Errorf("task name %q may contain only letters, digits and _ . : -", clip(name, 40))
		}
	}
	return nil
}

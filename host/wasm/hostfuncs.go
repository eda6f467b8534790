package wasm

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arqhost/arqhost/abi"
)

// callState is what host functions know about the job an instance is running.
type callState struct {
	module *Module
	jobID  string
	task   string
	done   <-chan struct{} // closed when the job's context ends
}

type callStateKey struct{}

func withCallState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, callStateKey{}, st)
}

func callStateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// instantiateHostModule defines the "arqhost" import module (abi/ABI.md section 4) in r.
func instantiateHostModule(ctx context.Context, r wazero.Runtime) error {
	i32 := api.ValueTypeI32
	_, err := r.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{i32, i32, i32, i32, i32}, nil).
		WithParameterNames("level", "msg_ptr", "msg_len", "attrs_ptr", "attrs_len").
		Export(abi.HostLog).
		Instantiate(ctx)
	return err
}

func hostLog(ctx context.Context, m api.Module, stack []uint64) {
	level := abi.LogLevel(int32(stack[0]))
	mem := m.Memory()
	if mem == nil {
		return
	}
	msg, ok := mem.Read(uint32(stack[1]), min(uint32(stack[2]), abi.MaxLogMessage))
	if !ok {
		return
	}
	var attrs []byte
	if n := uint32(stack[4]); n > 0 {
		if attrs, ok = mem.Read(uint32(stack[3]), min(n, abi.MaxLogAttrs)); !ok {
			return
		}
	}
	guestLog(ctx, level, string(msg), attrs)
}

// guestLog writes one guest log record, tagged with the job and module, to the engine's logger.
func guestLog(ctx context.Context, level abi.LogLevel, msg string, attrs []byte) {
	st := callStateFrom(ctx)
	if st == nil {
		return
	}
	lg := st.module.engine.logger
	lvl := slogLevel(level)
	if !lg.Enabled(ctx, lvl) {
		return
	}
	rec := make([]slog.Attr, 0, 6)
	rec = append(rec, slog.String("origin", "guest"))
	if st.jobID != "" {
		rec = append(rec, slog.String("job_id", st.jobID), slog.String("task", st.task))
	}
	rec = append(rec, slog.String("module", st.module.name), slog.String("version", st.module.ShortVersion()))
	if len(attrs) > 0 {
		// The guest's attributes go in their own group, so that they cannot pass for the host's tags.
		var kv map[string]any
		if err := json.Unmarshal(attrs, &kv); err != nil {
			rec = append(rec, slog.String("attrs", string(attrs)))
		} else {
			keys := make([]string, 0, len(kv))
			for k := range kv {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			group := make([]any, 0, len(keys))
			for _, k := range keys {
				group = append(group, slog.Any(k, kv[k]))
			}
			rec = append(rec, slog.Group("attrs", group...))
		}
	}
	lg.LogAttrs(ctx, lvl, msg, rec...)
}

func slogLevel(l abi.LogLevel) slog.Level {
	switch {
	case l <= abi.LogDebug:
		return slog.LevelDebug
	case l == abi.LogInfo:
		return slog.LevelInfo
	case l == abi.LogWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

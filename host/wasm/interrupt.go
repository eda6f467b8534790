package wasm

import "github.com/tetratelabs/wazero"

// interrupter is how the engine stops guest code whose job's context has ended (timeout, abort,
// shutdown). It is kept behind this small interface because the mechanism is on every job's hot
// path and is expected to change: wazero's WithCloseOnContextDone, used now, makes compiled code
// check for it at every loop header (not at function entry: a guest that recurses without loops is
// not stopped) and costs a goroutine per call.
type interrupter interface {
	// runtimeConfig adjusts the configuration of every runtime the engine creates.
	runtimeConfig(wazero.RuntimeConfig) wazero.RuntimeConfig
}

// closeOnContextDone stops a guest by closing its instance when the call's context is done.
// The instance is unusable afterwards, which suits the pool: a timed-out instance is discarded.
type closeOnContextDone struct{}

func (closeOnContextDone) runtimeConfig(c wazero.RuntimeConfig) wazero.RuntimeConfig {
	return c.WithCloseOnContextDone(true)
}

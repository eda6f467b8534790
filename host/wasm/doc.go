// Package wasm runs arqhost task modules: it compiles a module once, keeps a pool of
// pre-instantiated, resource-limited instances per module, and turns one job into one Outcome.
//
// The entry points are Engine (one per worker: compilation cache, defaults, logging), Module (one
// compiled task module with its pool) and Outcome (what a job ended as). Engine.Load and
// Module.Invoke are safe for concurrent use; a scheduler calls Invoke from as many goroutines as it
// runs jobs, and the pool bounds how many instances exist.
//
// The contract with guest code is the ABI in package abi (abi/ABI.md). Modules built with an Extism
// PDK are recognised by their imports and run through github.com/extism/go-sdk with the same limits
// and outcomes.
package wasm

package wasm

import "time"

func acquireTimer(ns int64) *time.Timer { return time.NewTimer(time.Duration(ns)) }

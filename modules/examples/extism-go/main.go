// Command extism-go is an arqhost task module written with the Extism Go PDK
// (github.com/extism/go-pdk) instead of arqhost's SDK. arqhost recognises it by its
// extism:host/env imports and runs it through the Extism runtime (abi/ABI.md section 8).
//
// It serves one task, greet(name, punctuation="!"), and shows the three things such a module
// does: declare its tasks and ABI version (arqhost_manifest), read the job input and write an
// output envelope (arqhost_run), and log through the PDK.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o extism_greet.wasm .
package main

import (
	"strings"

	"github.com/extism/go-pdk"
)

// input is the part of the arqhost job input (abi/ABI.md section 3) this task reads.
type input struct {
	JobID    string            `json:"job_id"`
	Function string            `json:"function"`
	JobTry   int               `json:"job_try"`
	Args     []string          `json:"args"`
	Kwargs   map[string]string `json:"kwargs"`
}

type guestError struct {
	Kind    string `json:"kind"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

type output struct {
	Result any         `json:"result,omitempty"`
	Error  *guestError `json:"error,omitempty"`
}

//go:wasmexport arqhost_manifest
func manifest() int32 {
	pdk.OutputString(`{"abi":1,"tasks":["greet"],"sdk":"extism-go-pdk/1.1.3"}`)
	return 0
}

//go:wasmexport arqhost_run
func run() int32 {
	var in input
	if err := pdk.InputJSON(&in); err != nil {
		pdk.SetError(err)
		return 1
	}
	pdk.Log(pdk.LogInfo, "greeting "+in.JobID)
	name := in.Kwargs["name"]
	if name == "" && len(in.Args) > 0 {
		name = in.Args[0]
	}
	if strings.TrimSpace(name) == "" {
		return reply(output{Error: &guestError{Kind: "permanent", Type: "ValueError", Message: "greet needs a name"}})
	}
	punct := in.Kwargs["punctuation"]
	if punct == "" {
		punct = "!"
	}
	return reply(output{Result: map[string]any{"greeting": "Hello, " + name + punct, "try": in.JobTry}})
}

func reply(o output) int32 {
	if err := pdk.OutputJSON(o); err != nil {
		pdk.SetError(err)
		return 1
	}
	return 0
}

func main() {}

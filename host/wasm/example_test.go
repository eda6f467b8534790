package wasm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arqhost/arqhost/abi"
	"github.com/arqhost/arqhost/host/wasm"
)

// Load a module and run one job on it. The module is the WAT fixture that asks for a retry,
// built by `make modules`.
func Example() {
	dir := os.Getenv("ARQHOST_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "fixtures")
	}
	ctx := context.Background()
	engine, err := wasm.NewEngine(wasm.Config{Concurrency: 8})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)
	mod, err := engine.LoadFile(ctx, filepath.Join(dir, "retry.wasm"), wasm.Limits{})
	if err != nil {
		panic(err)
	}
	defer mod.Close(ctx)
	fmt.Println("tasks:", mod.Tasks())

	out := mod.Invoke(ctx, &abi.Input{
		JobID: "7f3c", Function: "wat_retry", JobTry: 1, QueueName: "default",
		Args: json.RawMessage(`[]`), Kwargs: json.RawMessage(`{}`),
	})
	fmt.Println("outcome:", out.Kind)
	fmt.Println("error:", out.Err())
	fmt.Println("retry after ms:", out.Error.RetryAfterMs)
	// Output:
	// tasks: [wat_retry]
	// outcome: guest_error
	// error: Busy: try later
	// retry after ms: 1500
}

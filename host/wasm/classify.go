package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// failure describes a call that did not return an output, with what the instance saw.
type failure struct {
	err          error
	parent, job  context.Context // the caller's context and the job's (with the timeout)
	memoryDenied bool            // a memory.grow was refused by the memory limit during the job
	memoryPages  uint32          // the limit, for the message
	stdio        string          // the tail of the guest's stdout/stderr during the job
}

// classify maps a failed call onto an Outcome. The order matters: the job's own context decides
// between timeout and cancellation whatever error the interrupted guest produced, and a refused
// memory.grow explains the trap or exit that usually follows it.
func classify(f failure) Outcome {
	var bad *badOutputError
	var big *outputTooLargeError
	switch {
	case errors.As(f.err, &bad):
		return Outcome{Kind: BadOutput, Reason: bad.msg, Detail: f.stdio}
	case errors.As(f.err, &big):
		return Outcome{Kind: LimitExceeded, Reason: "output", Detail: big.Error()}
	case context.Cause(f.job) == errJobTimeout && f.parent.Err() == nil:
		return Outcome{Kind: Timeout, Reason: "the job ran past its time limit", Detail: f.stdio}
	case f.parent.Err() != nil:
		return Outcome{Kind: Canceled, Reason: context.Cause(f.parent).Error(), Detail: f.stdio}
	case f.memoryDenied:
		return Outcome{Kind: LimitExceeded, Reason: "memory",
			Detail: joinDetail(fmt.Sprintf("memory limit of %d pages (%d MiB) reached", f.memoryPages, uint64(f.memoryPages)*PageSize>>20), f.stdio)}
	}
	var exit *sys.ExitError
	if errors.As(f.err, &exit) {
		return Outcome{Kind: Trap, Reason: fmt.Sprintf("exit code %d", exit.ExitCode()), Detail: f.stdio}
	}
	reason, stack := splitTrap(f.err.Error())
	return Outcome{Kind: Trap, Reason: reason, Detail: joinDetail(f.stdio, stack)}
}

// splitTrap turns wazero's "wasm error: unreachable\nwasm stack trace:\n\t..." into the reason
// ("unreachable") and the first frames of the stack.
func splitTrap(msg string) (reason, stack string) {
	msg = strings.TrimPrefix(msg, "wasm error: ")
	reason, stack, _ = strings.Cut(msg, "\n")
	lines := strings.Split(stack, "\n")
	if len(lines) > 8 {
		lines = append(lines[:8], "\t…")
	}
	return reason, strings.Join(lines, "\n")
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

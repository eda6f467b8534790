// Command hostile is a test fixture: a Go task module whose tasks misbehave in the ways a real
// Go guest can, so that tests see how the host classifies each one, and fail or ask for retries
// on demand, so that tests can drive the retry policy. It is built into the fixtures
// directory, not beside the examples.
package main

import (
	"fmt"
	"net"
	"os"
	"time"

	arq "github.com/arqhost/arqhost/sdk/go"
)

var hoard [][]byte

func init() {
	// hoard allocates mib MiB and keeps it, until the memory limit stops it.
	arq.Register("hoard", func(ctx arq.Context, mib int) (int, error) {
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = byte(j)
			}
			hoard = append(hoard, b)
		}
		return len(hoard), nil
	}, "mib")
	// spin loops until stopped.
	arq.Register("spin", func(ctx arq.Context) (int, error) {
		n := 0
		for {
			n++
			if n < 0 {
				return n, nil
			}
		}
	})
	// sleep sleeps for the given duration (it must never outlast the job's timeout).
	arq.Register("sleep", func(ctx arq.Context, d string) (string, error) {
		dur, err := time.ParseDuration(d)
		if err != nil {
			return "", arq.Permanent(err)
		}
		time.Sleep(dur)
		return "slept " + d, nil
	}, "duration")
	// crash writes to stderr and exits, as a Go program's fatal error does.
	arq.Register("crash", func(ctx arq.Context) error {
		fmt.Fprintln(os.Stderr, "hostile: about to crash")
		os.Exit(3)
		return nil
	})
	// panic panics; the SDK turns it into an ordinary error.
	arq.Register("panic", func(ctx arq.Context) error {
		var m map[string]int
		m["boom"]++
		return nil
	})
	// flaky asks for a retry after delay_ms until its try number reaches succeed_on.
	arq.Register("flaky", func(ctx arq.Context, succeedOn, delayMs int) (int, error) {
		if ctx.Try < succeedOn {
			return 0, arq.Retry(time.Duration(delayMs) * time.Millisecond)
		}
		return ctx.Try, nil
	}, "succeed_on", "delay_ms")
	// fail returns an ordinary error, left to the worker's retry policy.
	arq.Register("fail", func(ctx arq.Context, msg string) error {
		return arq.NewError("FlakyError", msg)
	}, "msg")
	// refuse fails permanently.
	arq.Register("refuse", func(ctx arq.Context, msg string) error {
		return arq.Permanent(arq.NewError("ValueError", msg))
	}, "msg")
	// escape tries to reach the host: files, environment, arguments.
	arq.Register("escape", func(ctx arq.Context) (map[string]any, error) {
		_, ferr := os.ReadFile("/etc/passwd")
		entries, derr := os.ReadDir("/")
		werr := os.WriteFile("/tmp/arqhost-escape", []byte("written by a guest"), 0o644)
		var nerr error
		if c, err := net.Dial("tcp", "127.0.0.1:6379"); err != nil {
			nerr = err
		} else {
			_ = c.Close()
		}
		return map[string]any{
			"read_file":   errString(ferr),
			"read_dir":    errString(derr),
			"write_file":  errString(werr),
			"dial":        errString(nerr),
			"dir_entries": len(entries),
			"env":         os.Environ(),
			"args":        len(os.Args),
			"home":        os.Getenv("HOME"),
		}, nil
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() {}

// Command arqhost runs and operates arqhost workers: background jobs from RabbitMQ whose code is
// WebAssembly.
//
//	arqhost worker --modules ./modules --queue default
//	arqhost enqueue send_email --args '["ann@example.com"]' --kwargs '{"subject":"hi"}' --wait
//	arqhost result JOB_ID --wait
//	arqhost queue info
//	arqhost dlq list
//	arqhost modules validate ./modules
//
// Settings come from flags, then environment variables, then a YAML file (--config), then
// defaults; `arqhost worker --print-config` shows the result. Exit codes: 0 success, 1 error,
// 2 bad usage or configuration, 3 a job that failed or was aborted, 4 not found, 5 a service
// (RabbitMQ, Redis) unreachable.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/arqhost/arqhost/internal/i18n"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitJobFailed   = 3
	exitNotFound    = 4
	exitUnreachable = 5
)

// exitError carries an exit code with an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// isUsageError recognises cobra's own errors about commands and arguments.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// earlyLang finds the language before the configuration is loaded (which may itself fail and
// must then be reported in that language): --lang on the command line, else ARQ_LANG.
func earlyLang(args []string) i18n.Lang {
	v, _ := os.LookupEnv("ARQ_LANG")
	for i, a := range args {
		if a == "--lang" && i+1 < len(args) {
			v = args[i+1]
		} else if strings.HasPrefix(a, "--lang=") {
			v = strings.TrimPrefix(a, "--lang=")
		}
	}
	if l, err := i18n.Parse(v); err == nil {
		return l
	}
	return i18n.En
}

func main() {
	app := newApp(os.Stdout, os.Stderr)
	app.lang = earlyLang(os.Args[1:])
	err := app.root.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	code := exitError
	var ce *codedError
	if errors.As(err, &ce) {
		code = ce.code
	} else if isUsageError(err) {
		code = exitUsage
	}
	if !app.silentErr {
		fmt.Fprintln(os.Stderr, i18n.T(app.lang, "error")+": "+i18n.Text(app.lang, err.Error()))
	}
	os.Exit(code)
}

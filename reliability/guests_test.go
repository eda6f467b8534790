package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/internal/store"
)

// Hostile guests, run by a real worker process: each ends in its own outcome, within its limits,
// and the worker keeps serving ordinary jobs throughout. Modules that must be refused (a foreign
// import, a start function that never ends, one that traps, a file that is not WebAssembly) are dropped into the
// modules directory of the running worker: it refuses them, says why, and goes on with the others.
func TestHostileGuests(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "guests", "email.wasm", "hostile.wasm", "loop.wasm", "memhog.wasm", "recurse.wasm",
		"badptr.wasm", "badjson.wasm", "trap.wasm")
	// Tight limits so that the scenario is quick: 3 s per job (room for a loaded machine to reach
	// the memory limit first), 64 MiB per instance, 64 KiB of output.
	if err := os.WriteFile(filepath.Join(s.modules, "email.yaml"), []byte("max_output: 64KiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w := s.start("--job-timeout", "3s", "--memory-limit", "64MiB", "--max-retries", "0")
	cases := []struct {
		task    string
		args    []any
		outcome string // the record's outcome
	}{
		{"spin", nil, "timeout"},                                      // Go guest, an endless loop
		{"wat_loop", nil, "timeout"},                                  // WAT, an endless loop
		{"hoard", []any{1000}, "limit_exceeded"},                      // memory exhaustion
		{"wat_memhog", nil, "limit_exceeded"},                         // memory.grow until refused
		{"wat_recurse", nil, "trap"},                                  // stack exhaustion
		{"crash", nil, "trap"},                                        // exits the process (os.Exit)
		{"panic", nil, "guest_error"},                                 // a Go panic becomes an error of type Panic
		{"wat_trap", nil, "trap"},                                     // unreachable
		{"wat_badptr", nil, "bad_output"},                             // output pointer and length out of range
		{"wat_badjson", nil, "bad_output"},                            // output that is not JSON
		{"echo", []any{strings.Repeat("x", 1<<20)}, "limit_exceeded"}, // a 1 MiB output over 64 KiB
		{"escape", nil, "success"},                                    // tries files, directories, environment, arguments
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var ids []string
	var jobs []*client.Job
	failing := map[string]bool{}
	for _, c := range cases {
		j, err := s.client.Enqueue(ctx, c.task, client.Args(c.args))
		if err != nil {
			t.Fatal(err)
		}
		ids, jobs = append(ids, j.ID), append(jobs, j)
		if c.outcome != "success" {
			failing[j.ID] = true
		}
		// An ordinary job after each hostile one: the worker keeps serving.
		ok := s.enqueue(1, "noop")
		ids = append(ids, ok...)
	}
	// Bad modules dropped in while the worker runs.
	for _, bad := range []struct{ file, from string }{{"badimport.wasm", "badimport.wasm"}, {"initloop.wasm", "initloop.wasm"}, {"starttrap.wasm", "starttrap.wasm"}} {
		data, err := os.ReadFile(example(t, bad.from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.modules, bad.file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.modules, "notwasm.wasm"), []byte("#!/bin/sh\nrm -rf /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := s.waitTerminal(ids, 2*time.Minute)
	var problems []string
	for i, c := range cases {
		rec, err := s.store.Get(ctx, jobs[i].ID)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", c.task, err))
		case rec.Outcome != c.outcome:
			problems = append(problems, fmt.Sprintf("%s: outcome %q (%s), want %q", c.task, rec.Outcome, rec.ErrorMessage, c.outcome))
		case c.task == "escape":
			// The guest sees no files, no directories, no network, no environment and no
			// arguments, and can write nothing: each attempt failed inside the guest.
			var res map[string]any
			_ = json.Unmarshal(rec.Result, &res)
			for _, attempt := range []string{"read_file", "read_dir", "write_file", "dial"} {
				if msg, _ := res[attempt].(string); msg == "" {
					problems = append(problems, "escape: "+attempt+" did not fail: "+string(rec.Result))
				}
			}
			if _, err := os.Stat("/tmp/arqhost-escape"); err == nil {
				problems = append(problems, "escape: the guest wrote /tmp/arqhost-escape on the host")
			}
			if strings.Contains(string(rec.Result), "root:") || strings.Contains(string(rec.Result), "PATH=") {
				problems = append(problems, "escape: the guest read the host: "+string(rec.Result))
			}
		}
	}
	// The refused modules are named in the log with their reason, and nothing of theirs is served.
	const refusedMsg = "module refused; the loaded version keeps serving, but a restart would fail until the file is fixed"
	deadline := time.Now().Add(time.Minute) // a start function that never ends is refused at its time limit
	for _, f := range []string{"badimport.wasm", "initloop.wasm", "starttrap.wasm", "notwasm.wasm"} {
		for {
			found := ""
			for _, r := range s.logLines(refusedMsg) {
				if strings.Contains(fmt.Sprint(r), f) {
					found = fmt.Sprint(r["err"])
				}
			}
			if found != "" {
				break
			}
			if time.Now().After(deadline) {
				problems = append(problems, f+": not reported as refused")
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Still serving after all of it.
	after := s.enqueue(20, "noop")
	s.waitTerminal(after, time.Minute)
	ids = append(ids, after...)
	if !w.stop(30 * time.Second) {
		problems = append(problems, "the worker did not stop within 30 s of SIGTERM")
	}
	r := s.account(ids, failing)
	r.Area = "hostile guests"
	r.Scenario = "endless loops, memory and stack exhaustion, exit, panic, trap, bad output pointers, non-JSON and oversized output, sandbox escape attempts, refused modules dropped in (a host function it lacks, a start that loops, a start that traps, not Wasm)"
	r.Took = time.Since(start)
	r.Notes = fmt.Sprintf("%d hostile jobs ended with their expected outcomes, interleaved with ordinary ones (all completed); 4 bad modules refused while serving; the escape attempts (read /etc/passwd, list /, write /tmp, dial Redis on 127.0.0.1:6379, which listens) all failed inside the guest, which saw no environment and no arguments; job timeout 3 s, memory limit 64 MiB", len(cases))
	if len(problems) > 0 {
		r.Notes = strings.Join(problems, "; ")
	}
	r.Pass = len(problems) == 0 && st[store.StatusCompleted]+st[store.StatusFailed] == len(ids)-len(after)
	record(t, r)
}

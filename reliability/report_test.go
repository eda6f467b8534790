package reliability

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The suite runs in two sizes. `go test ./reliability` (part of `make test`) runs every scenario
// small; `make reliability` runs them long (-long) and writes the table of figures (-report).
var (
	long   = flag.Bool("long", false, "run the long versions of the scenarios (make reliability)")
	report = flag.String("report", "", "write the table of results to this Markdown file")
)

// row is one scenario's accounting: every job enqueued is completed (once), in the DLQ, or lost.
type row struct {
	Area      string // "faults", "bad input", "hostile guests", "secrets", "load"
	Scenario  string
	Enqueued  int
	Completed int // jobs whose record reads completed
	Twice     int // jobs completed more than once (a task ran to completion twice)
	Lost      int // jobs without a final record: not completed, not failed (and dead-lettered)
	DLQ       int // dead-lettered
	// Unexpected counts jobs whose final record is not the expected one (a job meant to succeed
	// that failed, or the other way round); not part of the table, but of a scenario's pass mark.
	Unexpected int
	Notes      string
	Pass       bool
	Took       time.Duration
}

var (
	rowsMu sync.Mutex
	rows   []row
)

// record adds a scenario's row to the report and fails the test unless it passes. Pass is set by
// the caller from the scenario's own expectations; Lost and Twice must be 0 regardless.
func record(t *testing.T, r row) {
	t.Helper()
	if r.Lost != 0 || r.Twice != 0 {
		r.Pass = false
	}
	rowsMu.Lock()
	rows = append(rows, r)
	rowsMu.Unlock()
	t.Logf("%s / %s: enqueued %d, completed %d, completed twice %d, lost %d, in DLQ %d; %s",
		r.Area, r.Scenario, r.Enqueued, r.Completed, r.Twice, r.Lost, r.DLQ, r.Notes)
	if !r.Pass {
		t.Errorf("%s / %s did not pass: %+v", r.Area, r.Scenario, r)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	start := time.Now()
	code := m.Run()
	if *report != "" {
		if err := writeReport(*report, time.Since(start)); err != nil {
			fmt.Fprintln(os.Stderr, "reliability: writing the report:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func writeReport(path string, took time.Duration) error {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Area < rows[j].Area })
	var b strings.Builder
	size := "small"
	if *long {
		size = "long"
	}
	fmt.Fprintf(&b, "# Reliability and security suite\n\n")
	fmt.Fprintf(&b, "Written by `go test ./reliability` (%s run) on %s UTC; %s in all, %d cores, %s.\n",
		size, time.Now().UTC().Format("2006-01-02 15:04"), took.Round(time.Second), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "To reproduce, with RabbitMQ and Redis running locally:\n\n")
	fmt.Fprintf(&b, "```sh\nmake reliability   # go test -count=1 -v ./reliability -args -long -report $PWD/bench/RELIABILITY.md\n```\n\n")
	fmt.Fprintf(&b, "`make test` runs the same scenarios small. Every row counts each job enqueued once: completed\n")
	fmt.Fprintf(&b, "(its record reads completed), completed twice (its task ran to completion more than once, from\n")
	fmt.Fprintf(&b, "the workers' logs), lost (no final record: neither completed nor failed), in the DLQ.\n")
	fmt.Fprintf(&b, "The pass mark is 0 lost and 0 completed twice, plus each scenario's own expectations (notes).\n\n")
	b.WriteString("| area | scenario | enqueued | completed | completed twice | lost | in DLQ | took | notes | result |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, r := range rows {
		res := "pass"
		if !r.Pass {
			res = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s | %s | %s |\n", r.Area, r.Scenario, r.Enqueued,
			r.Completed, r.Twice, r.Lost, r.DLQ, r.Took.Round(100*time.Millisecond), strings.ReplaceAll(r.Notes, "|", "\\|"), res)
	}
	// What follows the marker in the existing report is written by hand (fuzzing, findings) and
	// kept.
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), keptMarker); i >= 0 {
			b.WriteString("\n" + string(old[i:]))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// keptMarker starts the hand-written part of the report, which writeReport keeps.
const keptMarker = "<!-- kept by the reliability suite: written by hand -->"

// Command report is arqhost's one-command benchmark (`make bench`): it measures, in one run against
// the local RabbitMQ and Redis, what the broker and Redis can do on their own (the ceiling) and
// what arqhost does on top of them, and writes the comparison as Markdown tables.
//
//	go run ./bench/report -o bench/RESULTS.md -runs 3 -n 20000
//
// The scenarios, one file each:
//
//	ceiling.go  a plain amqp091 consumer with pipelined Redis writes and batched acks, no Wasm
//	drain.go    an arqhost worker draining the same number of jobs (Rust and Go no-ops, real work)
//	enqueue.go  the arqhost client's Enqueue and EnqueueBatch against a plain confirmed publish
//	latency.go  enqueue-to-result latency at a steady offered load
//	delays.go   lateness of delayed jobs (delays from 100 ms to 60 s)
//	memory.go   a worker process's RSS, idle and at full concurrency
//
// Every scenario but the delays runs -runs times and reports the median; the delays take a minute
// or more and run once. Each scenario uses its own queues and Redis key prefix and removes them.
// report.go renders the tables and the summary against issue 8's targets; env.go describes the
// machine and the versions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	out      string
	runs     int
	n        int
	amqpURL  string
	redisURL string

	concurrency int
	prefetch    int

	examples string
	fixtures string
	arqhost  string

	seqN            int
	latencyDuration time.Duration
	latencyRate     float64
	delays          bool
	delayN          int
	delayMin        time.Duration
	delayMax        time.Duration
	memN            int
	scenarios       string
	tasks           string
	latencyLoads    string
	profileDir      string
}

func main() {
	var o options
	flag.StringVar(&o.out, "o", "", "also write the report to this Markdown file (e.g. bench/RESULTS.md)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each scenario (the median is reported); the delays run once")
	flag.IntVar(&o.n, "n", 20000, "jobs per drain and per batched enqueue")
	flag.StringVar(&o.amqpURL, "amqp", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ URL")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL")
	flag.IntVar(&o.concurrency, "concurrency", 8, "the arqhost worker's concurrency (jobs running at once)")
	flag.IntVar(&o.prefetch, "prefetch", 1000, "the arqhost worker's and the ceiling consumer's prefetch")
	flag.StringVar(&o.examples, "examples", envOr("ARQHOST_EXAMPLES", "build/examples"), "directory of the example modules (make modules)")
	flag.StringVar(&o.fixtures, "fixtures", envOr("ARQHOST_FIXTURES", "build/fixtures"), "directory of the test fixtures (make modules)")
	flag.StringVar(&o.arqhost, "arqhost", "build/arqhost", "the arqhost binary, for the memory scenario (make arqhost)")
	flag.IntVar(&o.seqN, "seq-n", 5000, "jobs per sequential (one confirm at a time) enqueue; at most -n")
	flag.DurationVar(&o.latencyDuration, "latency-duration", 10*time.Second, "how long the latency scenario offers load, per run")
	flag.Float64Var(&o.latencyRate, "latency-rate", 0, "base rate of the latency scenario's loads, jobs/s; 0 = the end-to-end maximum, measured first")
	flag.BoolVar(&o.delays, "delays", true, "run the delayed-jobs scenario (takes at least -delay-max)")
	flag.IntVar(&o.delayN, "delay-n", 10000, "jobs of the delayed-jobs scenario")
	flag.DurationVar(&o.delayMin, "delay-min", 100*time.Millisecond, "shortest delay of the delayed-jobs scenario")
	flag.DurationVar(&o.delayMax, "delay-max", 60*time.Second, "longest delay of the delayed-jobs scenario")
	flag.IntVar(&o.memN, "mem-n", 5000, "no-op jobs flowing through the worker process while its memory is sampled")
	flag.StringVar(&o.scenarios, "scenarios", "ceiling,drain,enqueue,latency,delays,memory", "scenarios to run, comma-separated")
	flag.StringVar(&o.tasks, "tasks", "rust_noop,noop,process_data,rust_process_data", "tasks of the drain scenario, comma-separated")
	flag.StringVar(&o.latencyLoads, "latency-loads", "0.5,0.25", "offered loads of the latency scenario, as fractions of the Go no-op drain's median (the first is the headline)")
	flag.StringVar(&o.profileDir, "profile", "", "write CPU, allocation, mutex and block profiles of each timed drain into this directory")
	flag.Parse()
	if flag.NArg() > 0 || o.runs < 1 || o.n < 1 || o.delayN < 1 || o.concurrency < 1 || o.prefetch < 1 {
		flag.Usage()
		os.Exit(2)
	}
	o.seqN = max(1, min(o.seqN, o.n))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// fractions parses a comma-separated list of positive numbers; bad entries are skipped.
func fractions(s string) []float64 {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		out = []float64{0.5}
	}
	return out
}

// command is the command line that reproduces this run.
func command() string {
	args := make([]string, 0, len(os.Args))
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.TrimSpace("go run ./bench/report " + strings.Join(args, " "))
}

// run runs the chosen scenarios in order and prints (and writes) the report.
func run(ctx context.Context, o options) error {
	want := map[string]bool{}
	for _, s := range strings.Split(o.scenarios, ",") {
		switch s = strings.TrimSpace(s); s {
		case "":
		case "ceiling", "drain", "enqueue", "latency", "delays", "memory":
			want[s] = true
		default:
			return fmt.Errorf("unknown scenario %q in -scenarios (ceiling, drain, enqueue, latency, delays, memory)", s)
		}
	}
	if !o.delays {
		delete(want, "delays")
	}
	e, err := newEnv(ctx, o)
	if err != nil {
		return err
	}
	defer e.close()

	r := &report{opts: o, command: command(), started: time.Now()}
	r.machine, r.versions = describe(ctx, e)
	progress("machine: %s; %s", r.machine.summary(), r.versions.summary())

	if want["ceiling"] || want["drain"] {
		r.ceiling, r.drains = runThroughput(ctx, e, want["ceiling"], want["drain"])
	}
	if want["enqueue"] {
		r.enqueue = runEnqueueScenario(ctx, e)
	}
	if want["latency"] {
		base := o.latencyRate
		if base <= 0 {
			progress("latency: measuring the end-to-end maximum (256 producers, enqueue then wait, for %s)", o.latencyDuration)
			m, err := e.latencyMax(ctx)
			if err != nil {
				return fmt.Errorf("latency maximum: %w", err)
			}
			progress("  latency: end-to-end maximum %.0f jobs/s", m)
			base = m
		}
		r.latency = runLatencyScenario(ctx, e, base, fractions(o.latencyLoads))
	}
	if want["delays"] {
		r.delays = runDelaysScenario(ctx, e)
	}
	if want["memory"] {
		r.memory = runMemoryScenario(ctx, e)
	}
	r.elapsed = time.Since(r.started)
	if err := ctx.Err(); err != nil {
		return err
	}

	text := r.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		// The history of changes below the marker (written by hand) is kept from the old file.
		if old, err := os.ReadFile(o.out); err == nil {
			if i := strings.Index(string(old), historyMarker); i >= 0 {
				text += "\n" + string(old[i:])
			}
		}
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return err
		}
		progress("wrote %s (%s in all)", o.out, r.elapsed.Round(time.Second))
	}
	return nil
}

// historyMarker starts the part of the -o file that a new run keeps: the before/after record of
// the changes that made arqhost faster, written by hand.
const historyMarker = "<!-- history: kept by bench/report -->"

// progress tells the person waiting what is happening, on stderr (stdout carries the report).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// report is everything measured, rendered as Markdown by markdown.
type report struct {
	opts     options
	command  string
	started  time.Time
	elapsed  time.Duration
	machine  machine
	versions versions

	ceiling *rateResult
	drains  []*drainResult
	enqueue *enqueueResult
	latency *latencyResult
	delays  *delaysResult
	memory  []*memoryResult
}

// drain returns the drain of the task named key, or nil.
func (r *report) drain(key string) *drainResult {
	for _, d := range r.drains {
		if d.key == key {
			return d
		}
	}
	return nil
}

// Issue 8's targets.
const (
	targetRustShare     = 0.70  // Rust no-op drain, share of the ceiling
	targetGoRate        = 10000 // Go no-op drain, jobs/s
	targetEnqueueShare  = 0.90  // client enqueue, share of the plain confirmed publish
	targetDelayLateness = 50 * time.Millisecond
)

func (r *report) markdown() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "# arqhost against the broker's own ceiling\n\n")
	fmt.Fprintf(&b, "Written by `bench/report` on %s; the run took %s. To reproduce, with\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "RabbitMQ and Redis running locally (`make services`):\n\n")
	fmt.Fprintf(&b, "```sh\nmake modules arqhost\n%s\n```\n\n", r.command)
	def := func(name string) string { return "-" + name + " " + flag.Lookup(name).DefValue }
	fmt.Fprintf(&b, "(`make bench` builds the same and runs `go run ./bench/report -o bench/RESULTS.md`, the defaults\n")
	fmt.Fprintf(&b, "`%s %s %s %s`.)\n\n", def("runs"), def("n"), def("concurrency"), def("prefetch"))
	fmt.Fprintf(&b, "Every scenario ran in this one run, one after the other, so their ratios are meaningful; the\n")
	fmt.Fprintf(&b, "machine is shared and noisy, so absolute numbers vary from run to run. Figures are medians of\n")
	once := "the delayed-jobs scenario ran once"
	if r.delays == nil {
		once = "the delayed-jobs scenario did not run"
	}
	fmt.Fprintf(&b, "%d runs (`-runs`; each run's figure is listed); %s.\n\n", o.runs, once)

	fmt.Fprintf(&b, "## Machine and versions\n\n")
	mods := func(p string) string {
		if v := r.versions.modules[p]; v != "" {
			return v
		}
		return "unknown"
	}
	b.WriteString(table("ll", []string{"", ""}, [][]string{
		{"machine", fmt.Sprintf("%d cores, %s, %s RAM, Linux %s", r.machine.cores, r.machine.cpu, gib(r.machine.memory), r.machine.kernel)},
		{"load average at start", r.machine.load},
		{"Go", fmt.Sprintf("%s (GOMAXPROCS %d)", r.versions.goVersion, r.machine.gomaxprocs)},
		{"RabbitMQ", fmt.Sprintf("%s (%s)", r.versions.rabbitmq, r.versions.erlang)},
		{"Redis", r.versions.redis},
		{"wazero", mods("github.com/tetratelabs/wazero")},
		{"amqp091-go", mods("github.com/rabbitmq/amqp091-go")},
		{"go-redis", mods("github.com/redis/go-redis/v9")},
		{"arqhost", r.versions.arqhost},
	}))
	b.WriteString("\n")

	r.writeSummary(&b)
	r.writeCeiling(&b)
	r.writeDrains(&b)
	r.writeEnqueue(&b)
	r.writeLatency(&b)
	r.writeDelays(&b)
	r.writeMemory(&b)
	return b.String()
}

// verdict is "met", "**not met**" or "not measured".
func verdict(measured, met bool) string {
	switch {
	case !measured:
		return "not measured"
	case met:
		return "met"
	}
	return "**not met**"
}

func (r *report) writeSummary(b *strings.Builder) {
	fmt.Fprintf(b, "## Summary: issue 8's targets\n\n")
	var rows [][]string
	ceil := r.ceiling.median()

	rust := r.drain("rust_noop")
	if rust != nil && rust.median() > 0 && ceil > 0 {
		share := rust.median() / ceil
		rows = append(rows, []string{"drain, Rust no-op, >= 70 % of the ceiling",
			fmt.Sprintf("%s of %s jobs/s = %s", num(rust.median()), num(ceil), pct(share)), verdict(true, share >= targetRustShare)})
	} else {
		rows = append(rows, []string{"drain, Rust no-op, >= 70 % of the ceiling", "-", verdict(false, false)})
	}
	if g := r.drain("noop"); g != nil && g.median() > 0 {
		rows = append(rows, []string{"drain, Go no-op, >= 10,000 jobs/s",
			num(g.median()) + " jobs/s", verdict(true, g.median() >= targetGoRate)})
	} else {
		rows = append(rows, []string{"drain, Go no-op, >= 10,000 jobs/s", "-", verdict(false, false)})
	}
	plain, batch := r.enqueue.rate("plain_async"), r.enqueue.rate("batch")
	if plain.median() > 0 && batch.median() > 0 {
		share := batch.median() / plain.median()
		rows = append(rows, []string{"client enqueue (EnqueueBatch) >= 90 % of a plain confirmed publish",
			fmt.Sprintf("%s of %s jobs/s = %s", num(batch.median()), num(plain.median()), pct(share)), verdict(true, share >= targetEnqueueShare)})
	} else {
		rows = append(rows, []string{"client enqueue (EnqueueBatch) >= 90 % of a plain confirmed publish", "-", verdict(false, false)})
	}
	if same, batch := r.enqueue.rate("plain_async_arqmsg"), r.enqueue.rate("batch"); same.median() > 0 && batch.median() > 0 {
		rows = append(rows, []string{"(context) the same, against a plain publish of arqhost's messages",
			fmt.Sprintf("%s of %s jobs/s = %s", num(batch.median()), num(same.median()), pct(batch.median()/same.median())), "-"})
	}
	if d := r.delays; d != nil && d.err == "" {
		rows = append(rows, []string{"delayed jobs: p99 lateness <= 50 ms, none early",
			fmt.Sprintf("p99 %s, %d early", ms(d.p99), d.early), verdict(true, d.p99 <= targetDelayLateness && d.early == 0)})
	} else {
		rows = append(rows, []string{"delayed jobs: p99 lateness <= 50 ms, none early", "-", verdict(false, false)})
	}
	b.WriteString(table("lrl", []string{"target", "measured", ""}, rows))
	b.WriteString("\n")
	if e := r.enqueue.rate("enqueue"); e != nil && e.median() > 0 {
		if p := r.enqueue.rate("plain_seq"); p.median() > 0 {
			fmt.Fprintf(b, "Not a target, for context: one job at a time, client.Enqueue reaches %s jobs/s against %s for a\n"+
				"plain publish that waits for each confirmation (%s).\n\n", num(e.median()), num(p.median()), pct(e.median()/p.median()))
		}
	}
}

func (r *report) writeCeiling(b *strings.Builder) {
	fmt.Fprintf(b, "## 1. The ceiling: RabbitMQ and Redis alone\n\n")
	fmt.Fprintf(b, "A plain amqp091-go consumer (prefetch %d) drains %s pre-published persistent job bodies (arqhost's\n", r.opts.prefetch, num(float64(r.opts.n)))
	fmt.Fprintf(b, "own body for a no-op job, %d bytes; publishing is not timed), writes a %d-byte result per job\n", len(jobBody("arqbench.ceiling.00000000", "noop")), len(ceilingResult))
	fmt.Fprintf(b, "with Redis `SET ... EX 60`, pipelined %d at a time, and acknowledges with `multiple=true` after\n", ceilingBatch)
	fmt.Fprintf(b, "each pipeline. No Wasm, no arqhost code. (`../shared/notes/rabbitmq-facts.md` measured about\n")
	fmt.Fprintf(b, "44,500 jobs/s this way on a quiet machine of this kind; the ratios below use this run's figure.)\n")
	fmt.Fprintf(b, "Each run measures the ceiling and then every drain of section 2 once, so that noise touches all\n")
	fmt.Fprintf(b, "of them.\n\n")
	if r.ceiling == nil {
		b.WriteString("Not run.\n\n")
		return
	}
	b.WriteString(table("lrr", []string{"", "runs (jobs/s)", "median (jobs/s)"}, [][]string{
		{"ceiling", runsText(r.ceiling), medianText(r.ceiling)},
	}))
	b.WriteString(errorsText(r.ceiling.errs))
	b.WriteString("\n")
}

func (r *report) writeDrains(b *strings.Builder) {
	fmt.Fprintf(b, "## 2. arqhost draining the same number of jobs\n\n")
	fmt.Fprintf(b, "One in-process worker (`host.New` on a directory holding just the module; concurrency %d,\n", r.opts.concurrency)
	fmt.Fprintf(b, "prefetch %d, every result stored in Redis with a 60 s TTL, the default 300 s job timeout\n", r.opts.prefetch)
	fmt.Fprintf(b, "enforced) drains %s jobs enqueued beforehand with `client.EnqueueBatch` (not timed). Timed\n", num(float64(r.opts.n)))
	fmt.Fprintf(b, "from `Start` until the last job's result is stored (the store announces every terminal record\n")
	fmt.Fprintf(b, "on its done channel, to which the benchmark subscribes); afterwards every job's record is checked\n")
	fmt.Fprintf(b, "to read `completed` (a run with any other outcome counts as an error). The process_data input\n")
	fmt.Fprintf(b, "is `%s`.\n\n", dataArgs)
	if len(r.drains) == 0 {
		b.WriteString("Not run.\n\n")
		return
	}
	ceil := r.ceiling.median()
	var rows [][]string
	var errs []string
	for _, d := range r.drains {
		share := "-"
		if ceil > 0 && d.median() > 0 {
			share = pct(d.median() / ceil)
		}
		rows = append(rows, []string{d.label, fmt.Sprintf("`%s` (%s)", d.file, size(d.moduleSize)), "`" + d.task + "`",
			runsText(&d.rateResult), medianText(&d.rateResult), share})
		for _, e := range d.errs {
			errs = append(errs, d.task+": "+e)
		}
	}
	b.WriteString(table("lllrrr", []string{"task", "module", "function", "runs (jobs/s)", "median (jobs/s)", "of the ceiling"}, rows))
	b.WriteString(errorsText(errs))
	b.WriteString("\n")
	r.writeCPU(b)
}

// writeCPU says where the CPU went during the ceiling and the drains: the machine has two cores
// for the broker, Redis and the worker together, so a job's total CPU bounds the rate.
func (r *report) writeCPU(b *strings.Builder) {
	var rows [][]string
	add := func(label string, rr *rateResult) {
		if c, ok := rr.cpuMedians(); ok {
			rows = append(rows, []string{label, fmt.Sprintf("%.0f", c[0]), fmt.Sprintf("%.0f", c[1]), fmt.Sprintf("%.0f", c[2]), fmt.Sprintf("%.0f", c[0]+c[1]+c[2])})
		}
	}
	if r.ceiling != nil {
		add("ceiling (plain consumer)", r.ceiling)
	}
	for _, d := range r.drains {
		add(d.label, &d.rateResult)
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "CPU time per job during the timed part, in microseconds (medians; from `/proc`, so the\n")
	fmt.Fprintf(b, "benchmark's own process includes its subscriber to the done channel). The three share the\n")
	fmt.Fprintf(b, "machine's cores, so the sum bounds the rate: 2 cores / total.\n\n")
	b.WriteString(table("lrrrr", []string{"", "worker (this process)", "RabbitMQ", "Redis", "total"}, rows))
	b.WriteString("\n")
}

func (r *report) writeEnqueue(b *strings.Builder) {
	fmt.Fprintf(b, "## 3. Enqueueing\n\n")
	fmt.Fprintf(b, "Each variant publishes the same kind of job (a no-op, about 300-byte persistent body) to a fresh\n")
	fmt.Fprintf(b, "queue whose declaration is not timed (arqhost's includes the 36 delay levels). With a result store\n")
	fmt.Fprintf(b, "the client also writes each job's `queued` record to Redis before publishing. The variants of one\n")
	fmt.Fprintf(b, "run follow each other. Sequential variants send %s jobs, the others %s.\n\n", num(float64(r.opts.seqN)), num(float64(r.opts.n)))
	if r.enqueue == nil {
		b.WriteString("Not run.\n\n")
		return
	}
	ref := r.enqueue.rate("plain_async").median()
	same := r.enqueue.rate("plain_async_arqmsg").median()
	var rows, cpuRows [][]string
	var errs []string
	for i, v := range r.enqueue.variants {
		rr := r.enqueue.rates[i]
		share, shareSame := "-", "-"
		if ref > 0 && rr.median() > 0 {
			share = pct(rr.median() / ref)
		}
		if same > 0 && rr.median() > 0 {
			shareSame = pct(rr.median() / same)
		}
		rows = append(rows, []string{v.label, num(float64(rr.n)), runsText(rr), medianText(rr), share, shareSame})
		for _, e := range rr.errs {
			errs = append(errs, v.key+": "+e)
		}
		if c, ok := rr.cpuMedians(); ok {
			cpuRows = append(cpuRows, []string{v.label, fmt.Sprintf("%.0f", c[0]), fmt.Sprintf("%.0f", c[1]), fmt.Sprintf("%.0f", c[2])})
		}
	}
	b.WriteString(table("lrrrrr", []string{"method", "jobs", "runs (jobs/s)", "median (jobs/s)", "of plain async", "of the same messages"}, rows))
	b.WriteString(errorsText(errs))
	b.WriteString("\n")
	if len(cpuRows) > 0 {
		fmt.Fprintf(b, "CPU time per job while publishing, in microseconds (medians). RabbitMQ's share is the limit: the\n")
		fmt.Fprintf(b, "message arqhost's wire format requires (message id, timestamp, the x-retry-count header,\n")
		fmt.Fprintf(b, "mandatory) costs the broker more than a bare body.\n\n")
		b.WriteString(table("lrrr", []string{"method", "publisher (this process)", "RabbitMQ", "Redis"}, cpuRows))
		b.WriteString("\n")
	}
}

func (r *report) writeLatency(b *strings.Builder) {
	fmt.Fprintf(b, "## 4. Latency at a steady load\n\n")
	if r.latency == nil || len(r.latency.loads) == 0 {
		b.WriteString("Not run.\n\n")
		return
	}
	head := r.latency.loads[0]
	fmt.Fprintf(b, "The Go no-op task at %s jobs/s offered (%s of the end-to-end maximum, %s jobs/s: the same\n",
		num(head.rate), frac(head.fraction), num(r.latency.base))
	fmt.Fprintf(b, "worker and client with 256 goroutines each enqueueing a job and waiting for its result, measured\n")
	fmt.Fprintf(b, "first; publishing and consuming at once on two cores sustains less than draining a full queue),\n")
	if len(r.latency.loads) > 1 {
		b.WriteString("and for comparison at")
		for i, l := range r.latency.loads[1:] {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, " %s jobs/s (%s)", num(l.rate), frac(l.fraction))
		}
		b.WriteString(",\n")
	}
	fmt.Fprintf(b, "for %s per run, one in-process worker as in 2. An open-loop pacer starts each job at its\n", r.opts.latencyDuration)
	fmt.Fprintf(b, "scheduled time on its own goroutine: `client.Enqueue` (queued record, publish, confirmation),\n")
	fmt.Fprintf(b, "then `Job.Wait` (one GET, then woken by the client's shared Redis subscription). Latency is from\n")
	fmt.Fprintf(b, "calling `Enqueue` to `Wait` returning the completed record, so it includes the client's own round\n")
	fmt.Fprintf(b, "trips; the client runs on the same 2 cores as the worker, RabbitMQ and Redis. Half a second of\n")
	fmt.Fprintf(b, "load before each run is not recorded. \"finished\" is the rate at which results came back: when it\n")
	fmt.Fprintf(b, "falls short of the offered rate, jobs queued up and the latency measures the backlog. \"task end\"\n")
	fmt.Fprintf(b, "is the time from calling `Enqueue` to the worker's `OnJobEnd` hook for the job (the task returned;\n")
	fmt.Fprintf(b, "its result not yet stored), which leaves out the result's write and the client's reading.\n\n")
	var rows [][]string
	var errs []string
	for _, l := range r.latency.loads {
		var p50, p99, e50, e99 []time.Duration
		for i, lr := range l.runs {
			rows = append(rows, []string{num(l.rate), strconv.Itoa(i + 1), num(float64(lr.jobs)), num(lr.achieved), num(lr.finished),
				ms(lr.p50), ms(lr.p90), ms(lr.p99), ms(lr.max), ms(lr.endP50), ms(lr.endP99), ms(lr.maxLag)})
			p50, p99 = append(p50, lr.p50), append(p99, lr.p99)
			e50, e99 = append(e50, lr.endP50), append(e99, lr.endP99)
		}
		if len(l.runs) > 0 {
			rows = append(rows, []string{num(l.rate), "median", "", "", "", bold(ms(medianDuration(p50))), "", bold(ms(medianDuration(p99))), "",
				ms(medianDuration(e50)), ms(medianDuration(e99)), ""})
		}
		for _, e := range l.errs {
			errs = append(errs, num(l.rate)+" jobs/s: "+e)
		}
	}
	b.WriteString(table("rrrrrrrrrrrr", []string{"offered (jobs/s)", "run", "jobs", "started (jobs/s)", "finished (jobs/s)",
		"p50", "p90", "p99", "max", "task end p50", "task end p99", "pacer's worst lag"}, rows))
	b.WriteString(errorsText(errs))
	b.WriteString("\n")
}

// frac writes a fraction of a rate: "half", "a quarter", or "0.3x".
func frac(f float64) string {
	switch f {
	case 0.5:
		return "half"
	case 0.25:
		return "a quarter"
	}
	return fmt.Sprintf("%gx", f)
}

func (r *report) writeDelays(b *strings.Builder) {
	fmt.Fprintf(b, "## 5. Delayed jobs\n\n")
	d := r.delays
	if d == nil {
		fmt.Fprintf(b, "Not run (`-delays=false`).\n\n")
		return
	}
	fmt.Fprintf(b, "%s Go no-op jobs with delays drawn uniformly between %s and %s, enqueued in that random order\n", num(float64(d.n)), d.minDelay, d.maxDelay)
	fmt.Fprintf(b, "with `client.At` (batches of 100) while one in-process worker (concurrency %d) runs. Lateness is the\n", r.opts.concurrency)
	fmt.Fprintf(b, "`OnJobStart` hook's time minus the time given to `client.At`. **This scenario ran once** (not\n")
	fmt.Fprintf(b, "-runs times): it lasts at least the longest delay.\n\n")
	if d.err != "" {
		fmt.Fprintf(b, "Error: %s\n\n", d.err)
		if d.buckets == nil {
			return
		}
	}
	b.WriteString(table("rrrrrrrr", []string{"jobs", "enqueue took", "all ran after", "lateness p50", "p99", "max", "min", "ran early"}, [][]string{
		{num(float64(d.n)), d.enqueueTime.Round(time.Millisecond).String(), d.totalTime.Round(time.Millisecond).String(),
			ms(d.p50), ms(d.p99), ms(d.max), ms(d.min), strconv.Itoa(d.early)},
	}))
	b.WriteString("\n")
	var head []string
	var row []string
	lo := "early"
	for i, ub := range latenessBuckets {
		if i == 0 {
			head = append(head, "<= "+short(ub)+" (or early)")
		} else {
			head = append(head, lo+" - "+short(ub))
		}
		lo = short(ub)
		row = append(row, num(float64(d.buckets[i])))
	}
	head = append(head, "> "+lo)
	row = append(row, num(float64(d.buckets[len(latenessBuckets)])))
	align := strings.Repeat("r", len(head))
	fmt.Fprintf(b, "Lateness, jobs per range:\n\n")
	b.WriteString(table(align, head, [][]string{row}))
	b.WriteString("\n")
	if len(d.bands) > 1 {
		fmt.Fprintf(b, "Lateness by the job's delay:\n\n")
		var rows [][]string
		for _, band := range d.bands {
			rows = append(rows, []string{band.from.String() + " - " + band.to.String(), num(float64(band.jobs)),
				ms(band.p50), ms(band.p99), ms(band.max), ms(band.min), strconv.Itoa(band.early)})
		}
		b.WriteString(table("lrrrrrr", []string{"delay", "jobs", "lateness p50", "p99", "max", "min", "ran early"}, rows))
		b.WriteString("\n")
	}
}

func (r *report) writeMemory(b *strings.Builder) {
	fmt.Fprintf(b, "## 6. Memory of a worker process\n\n")
	if r.memory == nil {
		b.WriteString("Not run.\n\n")
		return
	}
	fmt.Fprintf(b, "`%s worker` as its own process (concurrency %d, prefetch %d, one module), RSS from\n", r.opts.arqhost, r.opts.concurrency, r.opts.prefetch)
	fmt.Fprintf(b, "`/proc/PID/status`: idle once it consumes and its VmRSS has been steady for a second, and the\n")
	fmt.Fprintf(b, "highest VmRSS sampled every 10 ms while the load ran (VmHWM, the peak since the process started,\n")
	fmt.Fprintf(b, "includes loading the module). Instances are read from the worker's `/metrics`\n")
	fmt.Fprintf(b, "(`arqhost_instances`, live = idle + busy) every 100 ms. The module is compiled into the worker's\n")
	fmt.Fprintf(b, "compilation cache before the first run, so every run loads it as a restarted worker does.\n")
	fmt.Fprintf(b, "Medians of %d runs.\n\n", r.opts.runs)
	var rows [][]string
	var errs []string
	for _, m := range r.memory {
		for _, e := range m.errs {
			errs = append(errs, m.label+" "+m.file+": "+e)
		}
		if len(m.runs) == 0 {
			rows = append(rows, []string{m.label, "`" + m.file + "`", m.load, "-", "-", "-", "-", "-"})
			continue
		}
		var idle, peak, hwm, live, busy, idleInst []float64
		for _, x := range m.runs {
			idle, peak, hwm = append(idle, float64(x.idleRSS)), append(peak, float64(x.peakRSS)), append(hwm, float64(x.hwm))
			live, busy, idleInst = append(live, float64(x.maxLive)), append(busy, float64(x.maxBusy)), append(idleInst, float64(x.idleInstances))
		}
		rows = append(rows, []string{m.label, "`" + m.file + "`", fmt.Sprintf("%s %s", num(float64(m.jobsN)), m.load),
			mib(int64(median(idle))), mib(int64(median(peak))), mib(int64(median(peak) - median(idle))), mib(int64(median(hwm))),
			fmt.Sprintf("%.0f when idle; at most %.0f live, %.0f busy", median(idleInst), median(live), median(busy))})
	}
	b.WriteString(table("lllrrrrl", []string{"guest", "module", "load", "idle RSS", "peak RSS under load", "growth", "VmHWM", "instances"}, rows))
	b.WriteString(errorsText(errs))
	b.WriteString("\n")
}

// table renders a Markdown table, columns padded for reading as plain text; align has one letter
// per column, l or r.
func table(align string, head []string, rows [][]string) string {
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = max(3, utf8.RuneCountInString(h))
	}
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	pad := func(s string, i int) string {
		fill := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
		if align[i] == 'r' {
			return fill + s
		}
		return s + fill
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i := range head {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + pad(c, i) + " |")
		}
		b.WriteString("\n")
	}
	line(head)
	b.WriteString("|")
	for i := range head {
		if align[i] == 'r' {
			b.WriteString(" " + strings.Repeat("-", width[i]-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", width[i]) + " |")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
		line(row)
	}
	return b.String()
}

// runsText lists each run's rate, and the number of failed runs.
func runsText(r *rateResult) string {
	parts := make([]string, 0, len(r.runs)+1)
	for _, x := range r.runs {
		parts = append(parts, num(x))
	}
	if len(r.errs) > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", len(r.errs)))
	}
	return strings.Join(parts, " / ")
}

func medianText(r *rateResult) string {
	if len(r.runs) == 0 {
		return "-"
	}
	return "**" + num(r.median()) + "**"
}

func bold(s string) string { return "**" + s + "**" }

func errorsText(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nErrors:\n\n")
	for _, e := range errs {
		b.WriteString("- " + e + "\n")
	}
	return b.String()
}

// num writes a number rounded to a whole, with thousands separators: 12,345.
func num(f float64) string {
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func pct(f float64) string { return fmt.Sprintf("%.1f %%", f*100) }

// ms writes a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// short writes a bucket bound: 1ms, 50ms, 1s.
func short(d time.Duration) string { return d.String() }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

// size writes a file size: 226 KB, 3.8 MB.
func size(b int64) string {
	switch {
	case b <= 0:
		return "?"
	case b < 1e6:
		return fmt.Sprintf("%d KB", (b+500)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}

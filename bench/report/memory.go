package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host/registry"
	"github.com/arqhost/arqhost/host/wasm"
)

// Memory: the worker as its own process (`arqhost worker`, built by `make arqhost`), so that its
// RSS is its own. Per case: start it on a directory holding one module, wait until it consumes
// and its VmRSS (/proc/PID/status) has stayed within 1 MiB for a second, and read it (idle); then enqueue the load
// and sample VmRSS every 10 ms until every job has finished (peak under load), while the worker's
// /metrics tells how many instances it has (live = idle + busy) and how many jobs finished.
// VmHWM, the kernel's high-water mark since the process started, is reported too: it includes
// module compilation at start.

// memoryCase is one module and load.
type memoryCase struct {
	label string
	dir   func(o options) string // the module's directory
	file  string
	task  string
	args  string              // JSON array, or ""
	jobs  func(o options) int // how many jobs of load
	load  string              // describes the load
}

var memoryCases = []memoryCase{
	{"Rust", func(o options) string { return o.examples }, "rust_email.wasm", "rust_noop", "",
		func(o options) int { return o.memN }, "no-op jobs flowing"},
	{"Go", func(o options) string { return o.examples }, "email.wasm", "noop", "",
		func(o options) int { return o.memN }, "no-op jobs flowing"},
	{"Go", func(o options) string { return o.fixtures }, "hostile.wasm", "sleep", `["200ms"]`,
		func(o options) int { return o.concurrency * 5 }, `sleep ["200ms"] jobs, all instances busy`},
}

// memoryRun is one run of one case.
type memoryRun struct {
	idleRSS, peakRSS, hwm int64 // bytes
	idleInstances         int
	maxLive, maxBusy      int
	jobs                  int
	elapsed               time.Duration
}

// memoryResult is the runs of one case.
type memoryResult struct {
	memoryCase
	jobsN int
	runs  []memoryRun
	errs  []string
}

func runMemoryScenario(ctx context.Context, e *env) []*memoryResult {
	if _, err := os.Stat(e.opts.arqhost); err != nil {
		msg := fmt.Sprintf("%v: run `make arqhost` first (or set -arqhost)", err)
		progress("memory: skipped: %s", msg)
		return []*memoryResult{{memoryCase: memoryCase{label: "-", load: "-"}, errs: []string{msg}}}
	}
	var out []*memoryResult
	for _, mc := range memoryCases {
		r := &memoryResult{memoryCase: mc, jobsN: mc.jobs(e.opts)}
		if err := e.precompile(ctx, filepath.Join(mc.dir(e.opts), mc.file)); err != nil {
			r.errs = append(r.errs, err.Error())
			out = append(out, r)
			continue
		}
		progress("memory: %s %s (%s), %d jobs, concurrency %d, x %d runs", mc.label, mc.file, mc.load, r.jobsN, e.opts.concurrency, e.opts.runs)
		for range e.opts.runs {
			if ctx.Err() != nil {
				break
			}
			m, err := e.memoryOnce(ctx, mc, r.jobsN)
			if err != nil {
				r.errs = append(r.errs, err.Error())
				progress("  memory: error: %v", err)
				continue
			}
			r.runs = append(r.runs, m)
			progress("  memory: idle %s, peak %s (VmHWM %s), %d instances live at most, %d busy",
				mib(m.idleRSS), mib(m.peakRSS), mib(m.hwm), m.maxLive, m.maxBusy)
		}
		out = append(out, r)
	}
	return out
}

func (e *env) memoryOnce(ctx context.Context, mc memoryCase, jobs int) (memoryRun, error) {
	var m memoryRun
	queue, prefix := names("memory")
	defer e.cleanup(queue, prefix)
	dir, err := e.moduleDir(filepath.Join(mc.dir(e.opts), mc.file))
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(dir)
	addr, err := freeAddr()
	if err != nil {
		return m, err
	}
	logPath := filepath.Join(e.tmp, "worker-"+filepath.Base(queue)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return m, err
	}
	defer logFile.Close()
	cmd := exec.Command(e.opts.arqhost, "worker",
		"--rabbitmq-url", e.opts.amqpURL, "--redis-url", e.opts.redisURL,
		"--key-prefix", prefix, "--result-ttl", resultTTL.String(), "--queue", queue,
		"--concurrency", strconv.Itoa(e.opts.concurrency), "--prefetch", strconv.Itoa(e.opts.prefetch),
		"--modules", dir, "--cache-dir", e.cacheDir, "--watch-modules=false",
		"--log-level", "warn", "--metrics-addr", addr, "--worker-name", "arqbench-memory")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return m, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { // SIGTERM: the worker finishes what runs and exits; kill it if it does not
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	fail := func(err error) (memoryRun, error) {
		return m, fmt.Errorf("%w (worker log: %s)", err, lastLine(logPath))
	}

	// Ready: /readyz answers 200 and the queue has a consumer.
	deadline := time.Now().Add(2 * time.Minute)
	for !e.consuming(addr, queue) {
		select {
		case err := <-exited:
			exited <- err
			return fail(fmt.Errorf("the worker exited: %v", err))
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("the worker did not start consuming within 2 minutes"))
		}
	}
	pid := cmd.Process.Pid
	if m.idleRSS, err = settledRSS(pid); err != nil {
		return m, err
	}
	if s, err := scrape(addr); err == nil {
		m.idleInstances = s.idle + s.busy
	}

	// Load, sampled.
	c, err := e.newClient(ctx, queue, prefix, true)
	if err != nil {
		return m, err
	}
	defer c.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				peak = max(peak, v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	var opts []client.Option
	if mc.args != "" {
		opts = append(opts, client.ArgsJSON(mc.args))
	}
	_, enqErr := enqueueAll(ctx, c, jobs, mc.task, opts...)
	var s metricsSample
	deadline = time.Now().Add(drainTimeout(jobs))
	for enqErr == nil {
		s, err = scrape(addr)
		if err == nil {
			m.maxLive, m.maxBusy = max(m.maxLive, s.idle+s.busy), max(m.maxBusy, s.busy)
			if s.jobs >= jobs {
				break
			}
		}
		if time.Now().After(deadline) {
			err = fmt.Errorf("timed out: %d of %d jobs finished", s.jobs, jobs)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	switch {
	case enqErr != nil:
		return m, fmt.Errorf("enqueue: %w", enqErr)
	case err != nil:
		return fail(err)
	case s.failed > 0:
		return m, fmt.Errorf("%d of %d jobs did not succeed", s.failed, jobs)
	}
	m.peakRSS, m.jobs = peak, s.jobs
	if m.hwm, err = procStatus(pid, "VmHWM"); err != nil {
		return m, err
	}
	return m, nil
}

// settledRSS waits until a process's VmRSS has stayed within 1 MiB for a second (at most 10 s)
// and returns it.
func settledRSS(pid int) (int64, error) {
	var last []int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := procStatus(pid, "VmRSS")
		if err != nil {
			return 0, err
		}
		last = append(last, v)
		if len(last) > 5 {
			last = last[1:]
		}
		if len(last) == 5 && slices.Max(last)-slices.Min(last) <= 1<<20 || time.Now().After(deadline) {
			return v, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// precompile fills the shared compilation cache with a module, so that every run of the worker
// process loads it as a restarted worker does instead of compiling it for the first time.
func (e *env) precompile(ctx context.Context, path string) error {
	dir, err := e.moduleDir(path)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	eng, err := wasm.NewEngine(wasm.Config{CacheDir: e.cacheDir})
	if err != nil {
		return err
	}
	defer eng.Close(ctx)
	r, err := registry.Load(ctx, eng, dir)
	if err != nil {
		return err
	}
	return r.Close(ctx)
}

// consuming reports whether the worker at addr is ready and the queue has a consumer.
func (e *env) consuming(addr, queue string) bool {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	ch, err := e.conn.Channel()
	if err != nil {
		return false
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	return err == nil && q.Consumers > 0
}

// metricsSample is what the memory scenario reads from a worker's /metrics.
type metricsSample struct {
	idle, busy   int // instances
	jobs, failed int // jobs finished, and those that did not succeed
}

// scrape reads the instance and job counts from a worker's /metrics.
func scrape(addr string) (metricsSample, error) {
	var s metricsSample
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "arqhost_instances":
			if strings.Contains(labels, `state="busy"`) {
				s.busy += int(v)
			} else {
				s.idle += int(v)
			}
		case "arqhost_jobs_total":
			s.jobs += int(v)
			if !strings.Contains(labels, `outcome="success"`) {
				s.failed += int(v)
			}
		}
	}
	return s, sc.Err()
}

// procStatus reads a memory field of /proc/PID/status (VmRSS, VmHWM), in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// lastLine returns the last non-empty line of a file, for error messages.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if l := lines[len(lines)-1]; l != "" {
		return l
	}
	return "empty"
}

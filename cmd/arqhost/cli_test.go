package main_test

import (
	"github.com/arqhost/arqhost/internal/syncbuf"

	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/broker"
)

// The tests run the built arqhost binary against the real RabbitMQ and Redis, each with its own
// queue and key prefix.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "arqhost-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "arqhost")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building arqhost: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type cli struct {
	t      *testing.T
	queue  string
	prefix string
}

func newCLI(t *testing.T) *cli {
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	c := &cli{t: t, queue: "arqtest.cli." + id, prefix: "arqtest:cli:" + id}
	t.Cleanup(func() {
		ctx := context.Background()
		if conn, err := broker.Dial(ctx, "amqp://guest:guest@127.0.0.1:5672/", broker.DialOptions{}); err == nil {
			if ch, err := conn.Channel(); err == nil {
				_ = broker.DeleteAll(ch, c.queue, broker.QueueOptions{})
			}
			_ = conn.Close()
		}
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer rdb.Close()
		it := rdb.Scan(ctx, 0, c.prefix+":*", 1000).Iterator()
		for it.Next(ctx) {
			rdb.Del(ctx, it.Val())
		}
	})
	return c
}

func modulesDir(t *testing.T) string {
	dir := os.Getenv("ARQHOST_EXAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "examples")
	}
	if _, err := os.Stat(filepath.Join(dir, "email.wasm")); err != nil {
		t.Fatalf("%v: run `make modules` first", err)
	}
	return dir
}

// run runs arqhost with the test's queue and prefix, and returns stdout, stderr and the exit code.
func (c *cli) run(env []string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(binary, append(args, "--queue", c.queue, "--key-prefix", c.prefix, "--cache-dir", filepath.Join(os.TempDir(), "arqhost-test-cache"))...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// cleanEnv is the environment without arqhost's own variables, so the machine's cannot leak in.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARQ_") && !strings.HasPrefix(kv, "RABBITMQ_") {
			env = append(env, kv)
		}
	}
	return env
}

func (c *cli) mustRun(env []string, args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(env, args...)
	if code != 0 {
		c.t.Fatalf("arqhost %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestBurstWorkerRunsEnqueuedJobs(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.mustRun(nil, "enqueue", "send_email", "--args", `["ann@example.com","hi","hello"]`, "--job-id", "cli-job-1")
	out := c.mustRun(nil, "enqueue", "noop", "--count", "50")
	if !strings.Contains(out, "enqueued 50 jobs") {
		t.Fatalf("enqueue --count: %s", out)
	}
	c.mustRun(nil, "worker", "--burst", "--modules", modulesDir(t), "--burst-timeout", "60s")
	out = c.mustRun(nil, "result", "cli-job-1", "-o", "json")
	var rec map[string]any
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec["status"] != "completed" {
		t.Fatalf("result: %v %s", err, out)
	}
	if st := strings.TrimSpace(c.mustRun(nil, "status", "cli-job-1")); st != "completed" {
		t.Fatalf("status: %q", st)
	}
	out = c.mustRun(nil, "queue", "info", "-o", "json")
	if !strings.Contains(out, `"ready": 0`) {
		t.Fatalf("queue not drained: %s", out)
	}
}

func TestEnqueueWaitAndExitCodes(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	// A failing job: --wait prints it and exits 3.
	w := exec.Command(binary, "worker", "--modules", modulesDir(t), "--queue", c.queue, "--key-prefix", c.prefix)
	w.Env = cleanEnv()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	out, _, code := c.run(nil, "enqueue", "process_data", "--args", `[{}]`, "--wait")
	if code != 3 || !strings.Contains(out, "ValueError") {
		t.Fatalf("failed job: exit %d, %s", code, out)
	}
	out, _, code = c.run(nil, "enqueue", "process_data", "--args", `[{"a":1}]`, "--defer", "300ms", "--wait")
	if code != 0 || !strings.Contains(out, `"processed":true`) {
		t.Fatalf("deferred job: exit %d, %s", code, out)
	}
	if _, errs, code := c.run(nil, "status", "no-such-job"); code != 4 || !strings.Contains(errs, "no record of job") {
		t.Fatalf("unknown job: exit %d, %s", code, errs)
	}
	if _, errs, code := c.run(nil, "enqueue", "noop", "--args", `{"not":"an array"}`); code != 2 || !strings.Contains(errs, "args must be a JSON array") {
		t.Fatalf("bad args: exit %d, %s", code, errs)
	}
	if _, _, code := c.run(nil, "enqueue", "noop", "--defer", "soon"); code != 2 {
		t.Fatalf("bad --defer: exit %d", code)
	}
	if _, _, code := c.run(nil, "worker", "--concurrency", "0", "--print-config"); code != 2 {
		t.Fatalf("bad config: exit %d", code)
	}
	if _, errs, code := c.run(nil, "result", "no-such-job", "--wait"); code != 4 {
		t.Fatalf("waiting for an unknown job: exit %d %s", code, errs)
	}
	if _, _, code := c.run(nil, "no-such-command"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
	if _, _, code := c.run(nil, "status"); code != 2 {
		t.Fatalf("missing argument: exit %d", code)
	}
	if _, errs, code := c.run([]string{"ARQ_RESULT_STORE_URL="}, "enqueue", "noop", "--wait"); code != 2 || !strings.Contains(errs, "--wait needs result storage") {
		t.Fatalf("--wait without storage: exit %d %s", code, errs)
	}
	if _, errs, code := c.run(nil, "worker", "--modules", t.TempDir()); code != 2 || !strings.Contains(errs, "no task modules") {
		t.Fatalf("worker without modules: exit %d %s", code, errs)
	}
}

func TestQueueInfoAndDLQVerbs(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.mustRun(nil, "enqueue", "process_data", "--args", `[{}]`, "--job-id", "dead-1")
	c.mustRun(nil, "enqueue", "no_such_task", "--job-id", "dead-2")
	c.mustRun(nil, "worker", "--burst", "--modules", modulesDir(t))
	var info []map[string]any
	if err := json.Unmarshal([]byte(c.mustRun(nil, "queue", "info", "-o", "json")), &info); err != nil || info[0]["dead_lettered"] != 2.0 {
		t.Fatalf("queue info: %v %v", err, info)
	}
	list := c.mustRun(nil, "dlq", "list")
	if !strings.Contains(list, "dead-1") || !strings.Contains(list, "ValueError") || !strings.Contains(list, "unknown_task") {
		t.Fatalf("dlq list:\n%s", list)
	}
	show := c.mustRun(nil, "dlq", "show", "dead-1")
	if !strings.Contains(show, "x-error-type: ValueError") || !strings.Contains(show, `"function": "process_data"`) {
		t.Fatalf("dlq show:\n%s", show)
	}
	if _, _, code := c.run(nil, "dlq", "show", "nope"); code != 4 {
		t.Fatalf("dlq show of a missing job: exit %d", code)
	}
	// Requeue one: it runs again from try 1 (and fails again, back in the DLQ).
	if out := c.mustRun(nil, "dlq", "requeue", "dead-1"); !strings.Contains(out, "requeued 1 jobs") {
		t.Fatalf("requeue: %s", out)
	}
	if st := strings.TrimSpace(c.mustRun(nil, "status", "dead-1")); st != "queued" {
		t.Fatalf("requeued job status %q", st)
	}
	if err := json.Unmarshal([]byte(c.mustRun(nil, "queue", "info", "-o", "json")), &info); err != nil || info[0]["ready"] != 1.0 || info[0]["dead_lettered"] != 1.0 {
		t.Fatalf("after requeue: %v", info)
	}
	if _, errs, code := c.run(nil, "dlq", "purge"); code != 2 || !strings.Contains(errs, "--yes") {
		t.Fatalf("purge without --yes: exit %d %s", code, errs)
	}
	if out := c.mustRun(nil, "dlq", "purge", "--yes"); !strings.Contains(out, "purged 1 dead-lettered jobs") {
		t.Fatalf("purge: %s", out)
	}
	if out := c.mustRun(nil, "queue", "purge", "--yes"); !strings.Contains(out, "purged 1 jobs") {
		t.Fatalf("queue purge: %s", out)
	}
}

func TestConfigPrecedenceAndEnvironment(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("rabbitmq:\n  prefetch_count: 44\nworker:\n  max_workers: 3\n  job_timeout: 12\nlogging:\n  level: WARNING\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	get := func(env []string, args ...string) map[string]map[string]any {
		var m map[string]map[string]any
		out := c.mustRun(env, append([]string{"worker", "--print-config", "-o", "json", "--config", file}, args...)...)
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return m
	}
	m := get(nil)
	if m["rabbitmq.prefetch_count"]["value"] != 44.0 || m["rabbitmq.prefetch_count"]["source"] != "file" || m["worker.job_timeout"]["value"] != "12s" {
		t.Fatalf("file: %v", m)
	}
	m = get([]string{"RABBITMQ_PREFETCH_COUNT=55", "ARQ_MAX_CONCURRENT_JOBS=7"})
	if m["rabbitmq.prefetch_count"]["value"] != 55.0 || m["worker.max_workers"]["value"] != 7.0 || m["worker.max_workers"]["source"] != "env" {
		t.Fatalf("env over file: %v", m)
	}
	m = get([]string{"RABBITMQ_PREFETCH_COUNT=55"}, "--prefetch", "66", "--max-concurrent-jobs", "9")
	if m["rabbitmq.prefetch_count"]["value"] != 66.0 || m["worker.max_workers"]["value"] != 9.0 {
		t.Fatalf("flag over env: %v", m)
	}
	if _, errs, code := c.run(nil, "worker", "--print-config", "--config", writeFile(t, "worker:\n  max_wrokers: 3\n")); code != 2 || !strings.Contains(errs, `unknown key "worker.max_wrokers"`) {
		t.Fatalf("unknown key: exit %d %s", code, errs)
	}
}

func writeFile(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	addr := freeAddr(t)
	w := exec.Command(binary, "worker", "--modules", modulesDir(t), "--queue", c.queue, "--key-prefix", c.prefix, "--metrics-addr", addr)
	w.Env = cleanEnv()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	get := func(path string) (int, string) {
		for i := 0; i < 200; i++ {
			resp, err := http.Get("http://" + addr + path)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no answer on %s", path)
		return 0, ""
	}
	if code, body := get("/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	c.mustRun(nil, "enqueue", "noop", "--wait")
	c.mustRun(nil, "enqueue", "noop", "--wait")
	_, body := get("/metrics")
	want := fmt.Sprintf(`arqhost_jobs_total{outcome="success",queue=%q,task="noop"} 2`, c.queue)
	if !strings.Contains(body, want) || !strings.Contains(body, "arqhost_instances{") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics lack %s:\n%s", want, grepLines(body, "arqhost_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return strings.Join(out, "\n")
}

func TestChineseOutput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	_, errs, code := c.run([]string{"ARQ_LANG=zh"}, "status", "no-such-job")
	if code != 4 || !strings.Contains(errs, "错误") || strings.Contains(errs, "no record of job") {
		t.Fatalf("zh error: exit %d %s", code, errs)
	}
	c.mustRun(nil, "enqueue", "noop")
	_, errs, _ = c.run(nil, "worker", "--burst", "--lang", "zh", "--modules", modulesDir(t))
	if !strings.Contains(errs, "任务") || strings.Contains(errs, "job completed") {
		t.Fatalf("zh worker log:\n%s", errs)
	}
}

func TestNoSecretIsPrinted(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, args := range [][]string{
		{"enqueue", "noop", "--rabbitmq-url", "amqp://guest:topsecret@127.0.0.1:1/", "--connection-timeout", "1s"},
		{"enqueue", "noop", "--redis-url", "redis://:topsecret@127.0.0.1:1/0", "--connection-timeout", "1s"},
		{"worker", "--print-config", "--rabbitmq-url", "amqp://guest:topsecret@127.0.0.1:5672/"},
		{"worker", "--print-config", "-o", "json", "--redis-url", "redis://u:topsecret@127.0.0.1:6379/0"},
		{"queue", "info", "--rabbitmq-url", "amqp://guest:topsecret@127.0.0.1:1/", "--connection-timeout", "1s"},
	} {
		out, errs, code := c.run(nil, args...)
		if strings.Contains(out+errs, "topsecret") {
			t.Errorf("arqhost %v printed the password:\n%s%s", args, out, errs)
		}
		if args[0] != "worker" && code != 5 {
			t.Errorf("arqhost %v: exit %d, want 5 (unreachable)\n%s", args, code, errs)
		}
	}
}

func TestModulesValidateAndInspect(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	out := c.mustRun(nil, "modules", "validate", modulesDir(t))
	if !strings.Contains(out, "email.wasm") || !strings.Contains(out, "send_email") {
		t.Fatalf("validate:\n%s", out)
	}
	bad := t.TempDir()
	junk := filepath.Join(bad, "junk.wasm")
	if err := os.WriteFile(junk, []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := c.run(nil, "modules", "validate", bad)
	if code != 1 || !strings.Contains(out, "junk.wasm") || !strings.Contains(out, "not a valid WebAssembly module") || !strings.Contains(errs, "1 of 1 modules are invalid") {
		t.Fatalf("validate bad: exit %d\n%s%s", code, out, errs)
	}
	out = c.mustRun(nil, "modules", "inspect", filepath.Join(modulesDir(t), "extism_greet.wasm"), "-o", "json")
	if !strings.Contains(out, `"flavor": "extism"`) || !strings.Contains(out, `"greet"`) {
		t.Fatalf("inspect: %s", out)
	}
	if out := c.mustRun(nil, "version"); !strings.HasPrefix(out, "arqhost ") || !strings.Contains(out, "ABI 1") {
		t.Fatalf("version: %s", out)
	}
}

func TestChineseErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, args := range [][]string{
		{"worker", "--print-config", "--concurrency", "0", "--lang", "zh"},
		{"no-such-command", "--lang=zh"},
	} {
		_, errs, code := c.run(nil, args...)
		if code != 2 || !strings.HasPrefix(errs, "错误: ") || strings.Contains(errs, "must be at least") || strings.Contains(errs, "unknown command") {
			t.Errorf("arqhost %v: exit %d %q", args, code, errs)
		}
	}
}

func TestMalformedDeadLetterCanBeShown(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.mustRun(nil, "enqueue", "noop") // declares the queue
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	if err := ch.PublishWithContext(context.Background(), "", c.queue, false, false, amqp.Publishing{Body: []byte("garbage")}); err != nil {
		t.Fatal(err)
	}
	c.mustRun(nil, "worker", "--burst", "--modules", modulesDir(t))
	out := c.mustRun(nil, "dlq", "list")
	i := strings.Index(out, "body-")
	if i < 0 {
		t.Fatalf("dlq list:\n%s", out)
	}
	id := strings.Fields(out[i:])[0]
	if show := c.mustRun(nil, "dlq", "show", id); !strings.Contains(show, "garbage") || !strings.Contains(show, "MalformedMessage") {
		t.Fatalf("dlq show %s:\n%s", id, show)
	}
}

// taggedFixture is the wat_tagged test module answering tag.
func taggedFixture(t *testing.T, tag string) []byte {
	dir := os.Getenv("ARQHOST_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "fixtures")
	}
	b, err := os.ReadFile(filepath.Join(dir, "tagged.wasm"))
	if err != nil {
		t.Fatalf("%v: run `make modules` first", err)
	}
	return bytes.Replace(b, []byte("v000"), []byte(tag), 1)
}

func replaceFile(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func TestModulesListAndReload(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()
	mod := filepath.Join(dir, "tagged.wasm")
	replaceFile(t, mod, taggedFixture(t, "v001"))
	addr := freeAddr(t)
	w := exec.Command(binary, "worker", "--modules", dir, "--queue", c.queue, "--key-prefix", c.prefix, "--metrics-addr", addr,
		"--watch-modules=false", "--worker-name", "cli-"+c.queue, "--cache-dir", filepath.Join(os.TempDir(), "arqhost-test-cache"))
	w.Env = cleanEnv()
	var logs syncBuf
	w.Stderr = &logs
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	admin := "http://" + addr
	version := func() string {
		out, _, code := c.run(nil, "modules", "list", "--worker", admin, "-o", "json")
		if code != 0 {
			return ""
		}
		var got struct {
			Workers []struct {
				Modules []struct {
					Version string `json:"version"`
				} `json:"modules"`
			} `json:"workers"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Workers) != 1 || len(got.Workers[0].Modules) != 1 {
			t.Fatalf("modules list -o json: %v %s", err, out)
		}
		return got.Workers[0].Modules[0].Version
	}
	waitVersion := func(tag string) {
		t.Helper()
		want := wasm.VersionOf(taggedFixture(t, tag))
		for i := 0; i < 200; i++ {
			if version() == want {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s never served; worker log:\n%s", tag, logs.String())
	}
	waitVersion("v001")

	// SIGHUP reloads.
	replaceFile(t, mod, taggedFixture(t, "v002"))
	if err := w.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitVersion("v002")

	// `modules reload` reaches the fleet through the broker (only this worker consumes c.queue).
	replaceFile(t, mod, taggedFixture(t, "v003"))
	out := c.mustRun(nil, "modules", "reload", "--expect", "1")
	if !strings.Contains(out, "cli-"+c.queue) || !strings.Contains(out, "replaced") || !strings.Contains(out, wasm.VersionOf(taggedFixture(t, "v003"))[:12]) {
		t.Fatalf("modules reload:\n%s", out)
	}
	out = c.mustRun(nil, "modules", "list", "--expect", "1")
	if !strings.Contains(out, "cli-"+c.queue) || !strings.Contains(out, "wat_tagged") || !strings.Contains(out, "active") {
		t.Fatalf("modules list:\n%s", out)
	}
	// A broken file is refused (exit 1) and the old version keeps serving.
	replaceFile(t, mod, []byte("\x00asm garbage"))
	out, _, code := c.run(nil, "modules", "reload", "--worker", admin)
	if code != 1 || !strings.Contains(out, "refused") {
		t.Fatalf("broken reload: exit %d\n%s", code, out)
	}
	if version() != wasm.VersionOf(taggedFixture(t, "v003")) {
		t.Fatal("the old version stopped serving after a refused reload")
	}
	// No worker of another queue: exit 4.
	other := newCLI(t)
	if _, errs, code := other.run(nil, "modules", "list", "--wait", "300ms"); code != 4 || !strings.Contains(errs, "no worker answered") {
		t.Fatalf("nobody: exit %d %s", code, errs)
	}
	if !strings.Contains(logs.String(), "SIGHUP") || !strings.Contains(logs.String(), "module refused") {
		t.Fatalf("worker log lacks the reloads:\n%s", logs.String())
	}
}

// syncBuf collects output from several goroutines (internal/syncbuf).
type syncBuf = syncbuf.Buffer

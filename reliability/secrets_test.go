package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/internal/broker"
)

// TestSecretsNeverLeak gives a worker, the client and the command line RabbitMQ and Redis
// credentials of their own (users made for the test, with passwords that need percent-encoding
// in a URL), drives every path that shows or stores text (logs in both formats and languages,
// a forced reconnection, metrics and /modules, DLQ headers and bodies, the CLI's output and
// errors, the client's errors and logs, the Redis records, the broker's view of the
// connections), and checks that neither password shows anywhere: raw, percent-encoded, in
// base64 (as in Basic or AMQP PLAIN authentication) or only its random core. The wrong
// passwords the failing commands are given are held to the same rule, and so are the real
// passwords written into a URL without percent-encoding (a common mistake, which makes the URL
// invalid: the error saying so must not quote a piece of the password either).
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := newSecretsSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// The client, created first so that the forced reconnection below reaches it too.
	var clientLog syncBuffer
	cl, err := client.New(ctx, client.Config{
		RabbitMQURL: s.rmqURL, RedisURL: s.redisURL, KeyPrefix: s.prefix, Queue: s.queue,
		Logger: slog.New(slog.NewTextHandler(&clientLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("client.New with the test users' credentials: %v", err)
	}
	defer cl.Close()

	// Run 1: JSON logs in English; the CLI runs against it.
	w1 := s.startWorker(ctx, "json", "en")
	s.forceReconnect(ctx, w1, &clientLog)
	s.brokerConnections(ctx)
	ok1, fail1 := s.exercise(ctx, cl, w1, 1)
	s.commands(ctx, w1, ok1, fail1)
	s.failingCommands(ctx)
	s.clientCalls(ctx, cl, ok1, fail1)
	s.unencoded(ctx, ok1)
	w1.stop(ctx, s)

	// Run 2: text logs in Chinese.
	w2 := s.startWorker(ctx, "text", "zh")
	s.forceReconnect(ctx, w2, &clientLog)
	s.exercise(ctx, cl, w2, 2)
	for _, c := range []struct{ label, wrong string }{
		{"status, wrong RabbitMQ password, --lang zh", "rabbitmq"},
		{"status, wrong Redis password, --lang zh", "redis"},
	} {
		rmq, rds, server := s.rmqURL, s.wrongRedisURL, "127.0.0.1:6379"
		if c.wrong == "rabbitmq" {
			rmq, rds, server = s.wrongRmqURL, s.redisURL, "127.0.0.1:5672"
		}
		_, errs, code := s.cli(ctx, c.label, nil, "status", ok1, "--lang", "zh", "--rabbitmq-url", rmq, "--redis-url", rds)
		if code == 0 || !strings.Contains(errs, server) || !strings.Contains(errs, "错误") {
			s.fail("%s: exit %d, want an error in Chinese naming %s:\n%s", c.label, code, server, errs)
		}
	}
	w2.stop(ctx, s)

	s.check.add("client log", "client.Client's logger (debug)", clientLog.String())
	if !strings.Contains(clientLog.String(), "127.0.0.1:5672") {
		s.fail("the client's log does not mention the RabbitMQ host after the forced reconnection, so checking it proves little:\n%s", clientLog.String())
	}

	// What is left: the DLQ and the records.
	dlq := s.readDLQ(ctx)
	s.readRedis(ctx)
	completed := 0
	ids := append([]string(nil), s.jobIDs...)
	recs, err := cl.Results(ctx, ids)
	if err != nil {
		s.fail("client Results: %v", err)
	}
	for i, r := range recs {
		if r == nil {
			s.fail("job %s has no record", ids[i])
			continue
		}
		b, _ := json.Marshal(r)
		s.check.add("job record", "client Results "+ids[i], string(b))
		if r.Status == client.StatusCompleted {
			completed++
		}
	}

	// The verdict.
	leaks := s.check.leaks(t, s.needles())
	enqueued := len(s.jobIDs) + s.malformed
	lost := enqueued - completed - dlq
	if lost < 0 {
		lost = 0
	}
	wantCompleted, wantDLQ := s.wantCompleted, len(s.jobIDs)-s.wantCompleted+s.malformed
	if completed != wantCompleted || dlq != wantDLQ {
		s.fail("accounting: %d jobs completed and %d messages in the DLQ, want %d and %d", completed, dlq, wantCompleted, wantDLQ)
	}
	kinds, n := s.check.summary()
	notes := fmt.Sprintf("checked %d outputs (%s) for 2 passwords, 2 wrong ones and one with @ before /, raw, percent-encoded, base64 and their random cores", n, kinds)
	if len(leaks) > 0 {
		notes = fmt.Sprintf("LEAKS in %d outputs (%s); %s", len(leaks), strings.Join(leaks, "; "), notes)
	}
	record(t, row{
		Area: "secrets", Scenario: "passwords in logs, errors, CLI output, metrics, DLQ headers",
		Enqueued: enqueued, Completed: completed, DLQ: dlq, Lost: lost,
		Notes: notes, Pass: s.pass && len(leaks) == 0, Took: time.Since(start),
	})
}

// secretsSuite is one run of TestSecretsNeverLeak: its names, users, URLs and findings.
type secretsSuite struct {
	t       *testing.T
	bin     string
	modules string
	cache   string
	queue   string
	prefix  string

	rmqUser, rmqPass, redisUser, redisPass string
	wrongRmqPass, wrongRedisPass           string
	cores                                  []string // the random part of each password
	// ambiguous is a password with "@" before "/": written into a URL unencoded, net/url reads
	// the part between them as the host name. ambiguousCores are its two random parts.
	ambiguous      string
	ambiguousCores [2]string

	rmqURL, redisURL, wrongRmqURL, wrongRedisURL string

	admin    *amqp.Connection // guest, for the test's own look at the broker
	adminRdb *redis.Client    // the default user, for the test's own look at Redis

	check         *secretsCheck
	jobIDs        []string // every job enqueued (by the client or the CLI)
	wantCompleted int      // how many of them should complete
	malformed     int      // raw malformed messages published
	pass          bool
}

func newSecretsSuite(t *testing.T) *secretsSuite {
	t.Helper()
	bin := os.Getenv("ARQHOST_BIN")
	if bin == "" {
		bin = filepath.Join("..", "build", "arqhost")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the arqhost binary is missing (%v): run `make arqhost` first (or set ARQHOST_BIN)", err)
	}
	mods := t.TempDir()
	for _, m := range []struct{ name, env, dir string }{
		{"email.wasm", "ARQHOST_EXAMPLES", "examples"},
		{"hostile.wasm", "ARQHOST_FIXTURES", "fixtures"},
	} {
		var dirs []string
		for _, env := range []string{m.env, "ARQHOST_EXAMPLES", "ARQHOST_FIXTURES"} {
			if d := os.Getenv(env); d != "" {
				dirs = append(dirs, d)
			}
		}
		dirs = append(dirs, filepath.Join("..", "build", m.dir), filepath.Join("..", "build", "examples"), filepath.Join("..", "build", "fixtures"))
		var b []byte
		for _, d := range dirs {
			if b, err = os.ReadFile(filepath.Join(d, m.name)); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s not found in %v: run `make modules` first", m.name, dirs)
		}
		if err := os.WriteFile(filepath.Join(mods, m.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	id := secretsRandHex(4)
	s := &secretsSuite{
		t: t, bin: bin, modules: mods, cache: filepath.Join(os.TempDir(), "arqhost-test-cache"),
		queue: "arqrel.secrets." + id, prefix: "arqrel:secrets:" + id,
		rmqUser: "arqrel-" + id, redisUser: "arqrel-redis-" + id,
		check: &secretsCheck{}, pass: true,
	}
	// Each password has a random core of its own, and "/", "@" and "%", which a URL must
	// percent-encode. Written into a URL without the encoding (a common mistake), the "/" ends
	// the authority right after the core.
	mk := func(tag string) string {
		core := secretsRandHex(8)
		s.cores = append(s.cores, core)
		return tag + "-" + core + "/p@ss%w0rd"
	}
	s.rmqPass, s.redisPass = mk("S3cr3t"), mk("R3d1s")
	s.ambiguousCores = [2]string{secretsRandHex(8), secretsRandHex(8)}
	s.ambiguous = "Amb1g-" + s.ambiguousCores[0] + "@" + s.ambiguousCores[1] + "/t"
	s.wrongRmqPass, s.wrongRedisPass = mk("Wr0ngR"), mk("Wr0ngD")
	amqpURL := func(pw string) string {
		return "amqp://" + url.UserPassword(s.rmqUser, pw).String() + "@127.0.0.1:5672/"
	}
	redisURL := func(pw string) string {
		return "redis://" + url.UserPassword(s.redisUser, pw).String() + "@127.0.0.1:6379/0"
	}
	s.rmqURL, s.wrongRmqURL = amqpURL(s.rmqPass), amqpURL(s.wrongRmqPass)
	s.redisURL, s.wrongRedisURL = redisURL(s.redisPass), redisURL(s.wrongRedisPass)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The broker user.
	if out, err := exec.CommandContext(ctx, "rabbitmqctl", "add_user", s.rmqUser, s.rmqPass).CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl add_user: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("rabbitmqctl", "delete_user", s.rmqUser).CombinedOutput(); err != nil {
			t.Errorf("rabbitmqctl delete_user %s: %v\n%s", s.rmqUser, err, out)
		}
	})
	if out, err := exec.CommandContext(ctx, "rabbitmqctl", "set_permissions", "-p", "/", s.rmqUser, ".*", ".*", ".*").CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl set_permissions: %v\n%s", err, out)
	}

	// The Redis user.
	s.adminRdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = s.adminRdb.Close() })
	if err := s.adminRdb.Do(ctx, "ACL", "SETUSER", s.redisUser, "on", ">"+s.redisPass, "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.adminRdb.Do(c, "ACL", "DELUSER", s.redisUser).Err(); err != nil {
			t.Errorf("ACL DELUSER %s: %v", s.redisUser, err)
		}
		it := s.adminRdb.Scan(c, 0, s.prefix+":*", 1000).Iterator()
		for it.Next(c) {
			s.adminRdb.Del(c, it.Val())
		}
	})

	// The queue's topology goes at the end (registered now, so it runs after the workers stop).
	s.admin, err = amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatalf("connecting to RabbitMQ as guest: %v", err)
	}
	t.Cleanup(func() {
		if ch, err := s.admin.Channel(); err == nil {
			if err := broker.DeleteAll(ch, s.queue, broker.QueueOptions{}); err != nil {
				t.Errorf("deleting the topology of %s: %v", s.queue, err)
			}
		}
		_ = s.admin.Close()
	})
	return s
}

// fail records a problem that is not a leak (an expectation of the scenario).
func (s *secretsSuite) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf(format, args...)
	s.pass = false
}

// env is the environment for arqhost without the machine's own arqhost settings.
func secretsEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARQ_") && !strings.HasPrefix(kv, "RABBITMQ_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cli runs arqhost with the suite's queue and key prefix (and the given URLs, if any, among args),
// records its stdout and stderr, and returns them with the exit code.
func (s *secretsSuite) cli(ctx context.Context, label string, env []string, args ...string) (string, string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args = append(args, "--queue", s.queue, "--key-prefix", s.prefix, "--cache-dir", s.cache)
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = secretsEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("arqhost (%s): %v", label, err)
	}
	s.check.add("CLI stdout", label, out.String())
	s.check.add("CLI stderr", label, errb.String())
	return out.String(), errb.String(), code
}

// cliOK runs a command that must succeed and print want.
func (s *secretsSuite) cliOK(ctx context.Context, label, want string, env []string, args ...string) string {
	s.t.Helper()
	return s.cliExit(ctx, label, 0, want, env, args...)
}

// cliExit runs a command that must exit with code and print want.
func (s *secretsSuite) cliExit(ctx context.Context, label string, wantCode int, want string, env []string, args ...string) string {
	s.t.Helper()
	out, errs, code := s.cli(ctx, label, env, args...)
	if code != wantCode || !strings.Contains(out, want) {
		s.fail("arqhost %s: exit %d, want %d and output containing %q\nstdout: %s\nstderr: %s", label, code, wantCode, want, out, errs)
	}
	return out
}

func (s *secretsSuite) urls() []string {
	return []string{"--rabbitmq-url", s.rmqURL, "--redis-url", s.redisURL}
}

// secretsWorker is a worker process of the suite.
type secretsWorker struct {
	name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	addr   string
	done   chan struct{}
	err    error
}

func (s *secretsSuite) startWorker(ctx context.Context, format, lang string) *secretsWorker {
	s.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	w := &secretsWorker{name: "worker (" + format + ", " + lang + ")", addr: addr, done: make(chan struct{})}
	w.cmd = exec.Command(s.bin, "worker", "--rabbitmq-url", s.rmqURL, "--redis-url", s.redisURL,
		"--queue", s.queue, "--key-prefix", s.prefix, "--modules", s.modules, "--cache-dir", s.cache,
		"--metrics-addr", addr, "--log-level", "debug", "--log-format", format, "--lang", lang)
	w.cmd.Env = secretsEnv()
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	if err := w.cmd.Start(); err != nil {
		s.t.Fatalf("starting the worker: %v", err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	s.t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-w.done:
			s.t.Fatalf("%s exited before it was ready: %v\nstderr:\n%s", w.name, w.err, w.stderr.String())
		default:
		}
		if code, _ := w.get(ctx, "/readyz"); code == http.StatusOK {
			return w
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s not ready after 2 minutes; stderr:\n%s", w.name, w.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *secretsWorker) get(ctx context.Context, path string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.addr+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stop sends SIGTERM, waits, and records what the worker printed.
func (w *secretsWorker) stop(ctx context.Context, s *secretsSuite) {
	s.t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(90 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
		s.fail("%s did not stop within 90 s of SIGTERM", w.name)
	case <-ctx.Done():
		_ = w.cmd.Process.Kill()
		<-w.done
		s.fail("%s: the test ran out of time", w.name)
	}
	if w.err != nil {
		s.fail("%s exited with %v after SIGTERM; stderr:\n%s", w.name, w.err, w.stderr.String())
	}
	s.check.add("worker stdout", w.name, w.stdout.String())
	logs := w.stderr.String()
	s.check.add("worker log", w.name, logs)
	if !strings.Contains(logs, s.queue) || !strings.Contains(logs, "127.0.0.1:5672") {
		s.fail("%s's log does not mention its queue and the RabbitMQ host, so checking it proves little:\n%s", w.name, logs)
	}
}

// forceReconnect closes every broker connection of the test's user (the worker's and the
// client's) and Redis connections of its Redis user, so that the reconnection paths, which
// name the broker in their logs, run.
func (s *secretsSuite) forceReconnect(ctx context.Context, w *secretsWorker, clientLog *syncBuffer) {
	s.t.Helper()
	before := strings.Count(w.stderr.String(), "127.0.0.1:5672")
	clientBefore := strings.Count(clientLog.String(), "127.0.0.1:5672")
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "list_connections", "-q", "--no-table-headers", "pid", "user").CombinedOutput()
	if err != nil {
		s.t.Fatalf("rabbitmqctl list_connections: %v\n%s", err, out)
	}
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || f[1] != s.rmqUser {
			continue
		}
		if out, err := exec.CommandContext(ctx, "rabbitmqctl", "close_connection", f[0], "closed by TestSecretsNeverLeak").CombinedOutput(); err != nil {
			s.t.Logf("rabbitmqctl close_connection %s: %v\n%s", f[0], err, out)
			continue
		}
		closed++
	}
	if closed == 0 {
		s.fail("no broker connection of user %s to close:\n%s", s.rmqUser, out)
		return
	}
	if err := s.adminRdb.Do(ctx, "CLIENT", "KILL", "USER", s.redisUser).Err(); err != nil {
		s.t.Logf("CLIENT KILL USER: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for strings.Count(w.stderr.String(), "127.0.0.1:5672") <= before || strings.Count(clientLog.String(), "127.0.0.1:5672") <= clientBefore {
		if time.Now().After(deadline) {
			s.fail("after closing %d connections, the logs never named the broker again\nworker:\n%s\nclient:\n%s", closed, w.stderr.String(), clientLog.String())
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		if code, _ := w.get(ctx, "/readyz"); code == http.StatusOK {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.fail("%s not ready again after the forced reconnection", w.name)
}

// brokerConnections records what the broker shows of the connections of the test's user: their
// client properties (connection names and the like).
func (s *secretsSuite) brokerConnections(ctx context.Context) {
	s.t.Helper()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "list_connections", "-q", "--no-table-headers", "user", "client_properties").CombinedOutput()
	if err != nil {
		s.fail("rabbitmqctl list_connections: %v\n%s", err, out)
		return
	}
	var mine []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, s.rmqUser+"\t") || strings.HasPrefix(line, s.rmqUser+" ") {
			mine = append(mine, line)
		}
	}
	text := strings.Join(mine, "\n")
	s.check.add("broker connection properties", "rabbitmqctl list_connections client_properties", text)
	if !strings.Contains(text, "arqhost") {
		s.fail("the broker shows no arqhost connection of %s:\n%s", s.rmqUser, out)
	}
}

// exercise enqueues a job that completes (noop), one that fails for good (refuse, to the DLQ)
// and a malformed message (to the DLQ), waits for them, and scrapes the worker's HTTP endpoints.
// It returns the ids of the two jobs.
func (s *secretsSuite) exercise(ctx context.Context, cl *client.Client, w *secretsWorker, run int) (string, string) {
	s.t.Helper()
	okID := fmt.Sprintf("secrets-ok-%d-%s", run, secretsRandHex(4))
	failID := fmt.Sprintf("secrets-refused-%d-%s", run, secretsRandHex(4))
	ch, err := s.admin.Channel()
	if err != nil {
		s.t.Fatal(err)
	}
	defer ch.Close()
	dlqBefore := s.dlqDepth(ch)
	ok, err := cl.Enqueue(ctx, "noop", client.ID(okID))
	if err != nil {
		s.t.Fatalf("enqueue noop: %v", err)
	}
	bad, err := cl.Enqueue(ctx, "refuse", client.ID(failID), client.Args{"refused on purpose"})
	if err != nil {
		s.t.Fatalf("enqueue refuse: %v", err)
	}
	s.jobIDs = append(s.jobIDs, okID, failID)
	s.wantCompleted++

	if err := ch.PublishWithContext(ctx, "", s.queue, false, false, amqp.Publishing{
		Body: []byte("this is not a job, run " + fmt.Sprint(run)), DeliveryMode: amqp.Persistent,
	}); err != nil {
		s.t.Fatalf("publishing a malformed message: %v", err)
	}
	s.malformed++

	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := ok.Wait(wctx)
	if err != nil || res.Status != client.StatusCompleted {
		s.fail("noop (run %d): %v %+v", run, err, res)
	}
	res, err = bad.Wait(wctx)
	var je *client.JobError
	if !errors.As(err, &je) || res == nil || res.Status != client.StatusFailed {
		s.fail("refuse (run %d): want a *client.JobError and a failed record, got %v %+v", run, err, res)
	} else {
		s.check.addErr("client Job.Wait error of a failed job", err)
	}
	for s.dlqDepth(ch) < dlqBefore+2 {
		if wctx.Err() != nil {
			s.fail("run %d: the DLQ never got the refused job and the malformed message (%d messages)", run, s.dlqDepth(ch))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, p := range []struct{ path, want string }{
		{"/metrics", `arqhost_jobs_total{outcome="success",queue="` + s.queue + `",task="noop"}`},
		{"/modules", `"hostile"`},
		{"/readyz", "ready"},
		{"/healthz", "ok"},
	} {
		code, body := w.get(ctx, p.path)
		s.check.add("metrics address", "GET "+p.path+" of "+w.name, body)
		if code != http.StatusOK || !strings.Contains(body, p.want) {
			s.fail("GET %s of %s: %d, want 200 and %q in:\n%s", p.path, w.name, code, p.want, body)
		}
	}
	return okID, failID
}

func (s *secretsSuite) dlqDepth(ch *amqp.Channel) int {
	d, err := broker.Inspect(ch, s.queue, broker.QueueOptions{})
	if err != nil {
		s.t.Fatalf("inspecting %s: %v", s.queue, err)
	}
	return d.DeadLettered
}

// commands runs the CLI's commands that should succeed, with the credentialed URLs given as
// flags, in the environment and in a configuration file.
func (s *secretsSuite) commands(ctx context.Context, w *secretsWorker, okID, failID string) {
	s.t.Helper()
	u := s.urls()
	with := func(args ...string) []string { return append(args, u...) }
	s.cliOK(ctx, "status (ok job)", "completed", nil, with("status", okID)...)
	s.cliOK(ctx, "status (failed job)", "failed", nil, with("status", failID)...)
	s.cliOK(ctx, "result (ok job)", "completed", nil, with("result", okID)...)
	s.cliOK(ctx, "result --wait -o json (ok job)", okID, nil, with("result", okID, "--wait", "-o", "json")...)
	s.cliExit(ctx, "result -o json (failed job)", 3, "ValueError", nil, with("result", failID, "-o", "json")...)
	s.cliExit(ctx, "result (failed job)", 3, "ValueError", nil, with("result", failID)...)
	s.cliOK(ctx, "queue info", s.queue, nil, with("queue", "info")...)
	s.cliOK(ctx, "queue info -o json", s.queue, nil, with("queue", "info", "-o", "json")...)
	s.cliOK(ctx, "dlq list", failID, nil, with("dlq", "list")...)
	s.cliOK(ctx, "dlq list -o json", failID, nil, with("dlq", "list", "-o", "json")...)
	s.cliOK(ctx, "dlq show (refused job)", "x-error-type", nil, with("dlq", "show", failID)...)
	s.cliOK(ctx, "modules list (through the broker)", "hostile", nil, with("modules", "list", "--expect", "1")...)
	s.cliOK(ctx, "modules list -o json (through the broker)", "hostile", nil, with("modules", "list", "--expect", "1", "-o", "json")...)
	s.cliOK(ctx, "modules list --worker (metrics address)", "hostile", nil, with("modules", "list", "--worker", "http://"+w.addr)...)
	s.cliOK(ctx, "modules reload (through the broker)", "unchanged", nil, with("modules", "reload", "--expect", "1")...)
	s.cliOK(ctx, "worker --print-config", "127.0.0.1:5672", nil, with("worker", "--print-config")...)
	s.cliOK(ctx, "worker --print-config -o json", "127.0.0.1:6379", nil, with("worker", "--print-config", "-o", "json")...)
	cliID := "secrets-cli-" + secretsRandHex(4)
	s.cliOK(ctx, "enqueue noop --wait", "completed", nil, with("enqueue", "noop", "--job-id", cliID, "--wait", "-o", "json")...)
	s.jobIDs = append(s.jobIDs, cliID)
	s.wantCompleted++

	// The same URLs from the environment and from a configuration file.
	env := []string{"RABBITMQ_URL=" + s.rmqURL, "ARQ_RESULT_STORE_URL=" + s.redisURL}
	s.cliOK(ctx, "worker --print-config (URLs in the environment)", "127.0.0.1:5672", env, "worker", "--print-config")
	s.cliOK(ctx, "status (URLs in the environment)", "completed", env, "status", okID)
	s.cliOK(ctx, "status --help (URLs in the environment)", "--rabbitmq-url", env, "status", "--help")
	if _, errs, code := s.cli(ctx, "status without its argument (URLs in the environment)", env, "status"); code != 2 || errs == "" {
		s.fail("status without its argument: exit %d, want 2 and an error:\n%s", code, errs)
	}
	yaml := fmt.Sprintf("rabbitmq:\n  url: %q\nworker:\n  result_storage:\n    store_url: %q\n", s.rmqURL, s.redisURL)
	file := filepath.Join(s.t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.cliOK(ctx, "worker --print-config --config FILE", "127.0.0.1:6379", nil, "worker", "--print-config", "--config", file)
	s.cliOK(ctx, "status --config FILE", "completed", nil, "status", okID, "--config", file)
	bad := filepath.Join(s.t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(yaml+"  max_wrokers: 3\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
	if _, errs, code := s.cli(ctx, "worker --print-config --config FILE with an unknown key", nil, "worker", "--print-config", "--config", bad); code != 2 || !strings.Contains(errs, "max_wrokers") {
		s.fail("a configuration file with an unknown key: exit %d, want 2 and an error naming the key:\n%s", code, errs)
	}
}

// failingCommands runs commands with a wrong password, for RabbitMQ and for Redis in turn: they
// must fail with an error that names the server.
func (s *secretsSuite) failingCommands(ctx context.Context) {
	s.t.Helper()
	for _, c := range []struct {
		which, rmq, rds, server string
	}{
		{"RabbitMQ", s.wrongRmqURL, s.redisURL, "127.0.0.1:5672"},
		{"Redis", s.rmqURL, s.wrongRedisURL, "127.0.0.1:6379"},
	} {
		for _, args := range [][]string{
			{"status", "some-job"},
			{"worker", "--modules", s.modules},
			{"enqueue", "noop"},
		} {
			label := fmt.Sprintf("%s, wrong %s password", args[0], c.which)
			_, errs, code := s.cli(ctx, label, nil, append(args, "--rabbitmq-url", c.rmq, "--redis-url", c.rds)...)
			if code == 0 || !strings.Contains(errs, c.server) {
				s.fail("arqhost %s: exit %d, want non-zero and an error naming %s:\n%s", label, code, c.server, errs)
			}
		}
	}
}

// clientCalls checks the client's own errors and descriptions.
func (s *secretsSuite) clientCalls(ctx context.Context, cl *client.Client, okID, failID string) {
	s.t.Helper()
	for _, c := range []struct {
		which, rmq, rds, server string
	}{
		{"RabbitMQ", s.wrongRmqURL, s.redisURL, "127.0.0.1:5672"},
		{"Redis", s.rmqURL, s.wrongRedisURL, "127.0.0.1:6379"},
	} {
		var log syncBuffer
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c2, err := client.New(cctx, client.Config{RabbitMQURL: c.rmq, RedisURL: c.rds, KeyPrefix: s.prefix, Queue: s.queue,
			Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		cancel()
		if err == nil {
			_ = c2.Close()
			s.fail("client.New with a wrong %s password succeeded", c.which)
			continue
		}
		s.check.addErr("client.New, wrong "+c.which+" password", err)
		s.check.add("client log", "client.New, wrong "+c.which+" password", log.String())
		if !strings.Contains(err.Error(), c.server) {
			s.fail("client.New with a wrong %s password: the error does not name %s: %v", c.which, c.server, err)
		}
	}
	st, err := cl.Stats(ctx)
	if err != nil {
		s.fail("client Stats: %v", err)
	} else {
		b, _ := json.Marshal(st)
		s.check.add("client stats", "Client.Stats (JSON)", string(b))
		s.check.add("client stats", "Client.Stats (%+v)", fmt.Sprintf("%+v", st))
		if !strings.Contains(string(b), "127.0.0.1:6379") {
			s.fail("client Stats does not name the Redis server: %s", b)
		}
	}
	for _, id := range []string{okID, failID} {
		info, err := cl.Job(id).Info(ctx)
		if err != nil {
			s.fail("Job(%s).Info: %v", id, err)
			continue
		}
		b, _ := json.Marshal(info)
		s.check.add("job record", "Job.Info "+id, string(b))
	}
	if _, err := cl.Job("secrets-no-such-job").Info(ctx); err == nil {
		s.fail("Info of a job that does not exist succeeded")
	} else {
		s.check.addErr("Job.Info of a missing job", err)
	}
}

// unencoded gives the commands and the client the real passwords written into the URLs without
// percent-encoding, as people do by mistake: the URL is then invalid (or names another host), and
// whatever is said about it must still not show the password or a piece of it.
func (s *secretsSuite) unencoded(ctx context.Context, okID string) {
	s.t.Helper()
	rawRmq := "amqp://" + s.rmqUser + ":" + s.rmqPass + "@127.0.0.1:5672/"
	rawRedis := "redis://" + s.redisUser + ":" + s.redisPass + "@127.0.0.1:6379/0"
	for _, c := range []struct{ which, rmq, rds string }{
		{"RabbitMQ", rawRmq, s.redisURL},
		{"Redis", s.rmqURL, rawRedis},
		{"RabbitMQ, with @ before /,", "amqp://" + s.rmqUser + ":" + s.ambiguous + "@127.0.0.1:5672/", s.redisURL},
		{"Redis, with @ before /,", s.rmqURL, "redis://" + s.redisUser + ":" + s.ambiguous + "@127.0.0.1:6379/0"},
	} {
		tag := fmt.Sprintf(" (%s password not percent-encoded)", c.which)
		urls := []string{"--rabbitmq-url", c.rmq, "--redis-url", c.rds}
		s.cli(ctx, "status"+tag, nil, append([]string{"status", okID}, urls...)...)
		s.cli(ctx, "worker --print-config"+tag, nil, append([]string{"worker", "--print-config"}, urls...)...)
		s.cli(ctx, "worker --burst"+tag, nil, append([]string{"worker", "--burst", "--burst-timeout", "5s", "--modules", s.modules}, urls...)...)
		env := []string{"RABBITMQ_URL=" + c.rmq, "ARQ_RESULT_STORE_URL=" + c.rds}
		s.cli(ctx, "worker --print-config, URLs in the environment"+tag, env, "worker", "--print-config")
		file := filepath.Join(s.t.TempDir(), "config.yaml")
		yaml := fmt.Sprintf("rabbitmq:\n  url: %q\nworker:\n  result_storage:\n    store_url: %q\n", c.rmq, c.rds)
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			s.t.Fatal(err)
		}
		s.cli(ctx, "worker --print-config --config FILE"+tag, nil, "worker", "--print-config", "--config", file)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var log syncBuffer
		c2, err := client.New(cctx, client.Config{RabbitMQURL: c.rmq, RedisURL: c.rds, KeyPrefix: s.prefix, Queue: s.queue,
			Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		cancel()
		if err == nil {
			_ = c2.Close()
		} else {
			s.check.addErr("client.New"+tag, err)
		}
		s.check.add("client log", "client.New"+tag, log.String())
	}
}

// readDLQ takes every message of the DLQ (returning them when the channel closes), records its
// headers, properties and body, and returns how many there were.
func (s *secretsSuite) readDLQ(ctx context.Context) int {
	s.t.Helper()
	ch, err := s.admin.Channel()
	if err != nil {
		s.t.Fatal(err)
	}
	defer ch.Close()
	dlq := broker.NamesFor(s.queue, broker.QueueOptions{}).DLQ
	n := 0
	for {
		d, ok, err := ch.Get(dlq, false)
		if err != nil {
			s.t.Fatalf("basic.get from %s: %v", dlq, err)
		}
		if !ok {
			break
		}
		n++
		text := fmt.Sprintf("message_id=%s app_id=%s user_id=%s type=%s correlation_id=%s reply_to=%s content_type=%s\nheaders:\n%s\nbody:\n%s",
			d.MessageId, d.AppId, d.UserId, d.Type, d.CorrelationId, d.ReplyTo, d.ContentType, secretsRender(d.Headers), d.Body)
		s.check.add("DLQ message", fmt.Sprintf("DLQ message %d", n), text)
		if _, has := d.Headers["x-error-type"]; !has {
			s.fail("DLQ message %d has no x-error-type header:\n%s", n, text)
		}
	}
	return n
}

// readRedis records every key of the suite's prefix with its value.
func (s *secretsSuite) readRedis(ctx context.Context) {
	s.t.Helper()
	var keys []string
	it := s.adminRdb.Scan(ctx, 0, s.prefix+":*", 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		s.fail("scanning %s:*: %v", s.prefix, err)
	}
	sort.Strings(keys)
	if len(keys) < len(s.jobIDs) {
		s.fail("only %d Redis keys under %s:* for %d jobs: %v", len(keys), s.prefix, len(s.jobIDs), keys)
	}
	for _, k := range keys {
		var v any
		var err error
		switch typ := s.adminRdb.Type(ctx, k).Val(); typ {
		case "string":
			v, err = s.adminRdb.Get(ctx, k).Result()
		case "hash":
			v, err = s.adminRdb.HGetAll(ctx, k).Result()
		case "list":
			v, err = s.adminRdb.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = s.adminRdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = s.adminRdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = s.adminRdb.XRange(ctx, k, "-", "+").Result()
		case "none":
			continue // expired meanwhile
		default:
			v = "(type " + typ + ")"
		}
		if err != nil {
			s.fail("reading %s: %v", k, err)
			continue
		}
		s.check.add("Redis record", k, fmt.Sprintf("%s = %v", k, v))
	}
}

// needles are the forms in which a password must never show.
func (s *secretsSuite) needles() []secretsNeedle {
	var ns []secretsNeedle
	add := func(label, text string) {
		for _, n := range ns {
			if strings.EqualFold(n.text, text) {
				return
			}
		}
		ns = append(ns, secretsNeedle{label, text})
	}
	for i, c := range []struct{ what, user, pw string }{
		{"the RabbitMQ password", s.rmqUser, s.rmqPass},
		{"the Redis password", s.redisUser, s.redisPass},
		{"the wrong RabbitMQ password", s.rmqUser, s.wrongRmqPass},
		{"the wrong Redis password", s.redisUser, s.wrongRedisPass},
	} {
		userinfo := url.UserPassword(c.user, c.pw).String()
		add(c.what+" (raw)", c.pw)
		add(c.what+" (percent-encoded as in the URL)", strings.TrimPrefix(userinfo, url.PathEscape(c.user)+":"))
		add(c.what+" (query-escaped)", url.QueryEscape(c.pw))
		add(c.what+" (path-escaped)", url.PathEscape(c.pw))
		add(c.what+" (random core)", s.cores[i])
		for _, plain := range []string{c.user + ":" + c.pw, "\x00" + c.user + "\x00" + c.pw, c.pw} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				add(c.what+" (base64)", enc.EncodeToString([]byte(plain)))
			}
		}
	}
	add("the password with @ before / (raw)", s.ambiguous)
	add("the password with @ before / (first random part)", s.ambiguousCores[0])
	add("the password with @ before / (second random part, read as a host name)", s.ambiguousCores[1])
	return ns
}

type secretsNeedle struct{ label, text string }

// secretsCheck holds every output the test looked at.
type secretsCheck struct {
	mu   sync.Mutex
	outs []secretsOut
}

type secretsOut struct{ kind, name, text string }

func (c *secretsCheck) add(kind, name, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outs = append(c.outs, secretsOut{kind, name, text})
}

// addErr records an error's text and the text of every error it wraps (a scrubbed message must
// not leave the secret in the message of an error it wraps, where errors.As finds it).
func (c *secretsCheck) addErr(name string, err error) {
	depth := 0
	var walk func(e error)
	walk = func(e error) {
		if e == nil {
			return
		}
		kind := "error string"
		if depth > 0 {
			kind = "wrapped error"
		}
		c.add(kind, fmt.Sprintf("%s (depth %d, %T)", name, depth, e), e.Error())
		depth++
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, w := range u.Unwrap() {
				walk(w)
			}
		}
	}
	walk(err)
}

// leaks reports (as test errors) every output in which a needle shows, case-insensitively, and
// returns the outputs that leak.
func (c *secretsCheck) leaks(t *testing.T, needles []secretsNeedle) []string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var leaking []string
	for _, o := range c.outs {
		low := strings.ToLower(o.text)
		var found []string
		for _, nd := range needles {
			i := strings.Index(low, strings.ToLower(nd.text))
			if i < 0 {
				continue
			}
			from, to := max(0, i-120), min(len(o.text), i+len(nd.text)+60)
			found = append(found, fmt.Sprintf("%s: …%s…", nd.label, o.text[from:to]))
		}
		if len(found) > 0 {
			leaking = append(leaking, o.kind+" of "+o.name)
			t.Errorf("LEAK in %s of %s:\n\t%s", o.kind, o.name, strings.Join(found, "\n\t"))
		}
	}
	return leaking
}

// summary returns the kinds of output checked, with their counts, and the total.
func (c *secretsCheck) summary() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	count := map[string]int{}
	var kinds []string
	for _, o := range c.outs {
		if count[o.kind] == 0 {
			kinds = append(kinds, o.kind)
		}
		count[o.kind]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", count[k], k)
	}
	return strings.Join(parts, ", "), len(c.outs)
}

// secretsRender prints AMQP header values as text (byte slices as strings, tables and arrays
// recursively), so that a password inside one is seen.
func secretsRender(v any) string {
	switch x := v.(type) {
	case amqp.Table:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, secretsRender(x[k]))
		}
		return b.String()
	case map[string]any:
		return secretsRender(amqp.Table(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = secretsRender(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

func secretsRandHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

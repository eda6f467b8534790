package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/host"
)

// TestMain lets this test binary double as a worker process: with ARQHOST_CHILD_WORKER set it runs
// a worker until SIGTERM or SIGINT, as `arqhost worker` does, instead of the tests.
func TestMain(m *testing.M) {
	if spec := os.Getenv("ARQHOST_CHILD_WORKER"); spec != "" {
		os.Exit(childWorker(spec))
	}
	os.Exit(m.Run())
}

// childWorker runs a worker described by spec ("queue prefix modules-dir") until a signal.
func childWorker(spec string) int {
	f := strings.Fields(spec)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	w, err := host.New(ctx, host.Config{
		RabbitMQURL: amqpURL, RedisURL: redisURL, KeyPrefix: f[1], Queues: []string{f[0]}, Modules: f[2],
		Concurrency: 4, ShutdownGrace: 300 * time.Millisecond, CacheDir: "-",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestSIGTERMMidJobLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	slow, err := c.Enqueue(context.Background(), "sleep", client.Args{"1500ms"})
	if err != nil {
		t.Fatal(err)
	}
	var quick []*client.Job
	for i := 0; i < 30; i++ {
		j, _ := c.Enqueue(context.Background(), "sleep", client.Args{"20ms"})
		quick = append(quick, j)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "ARQHOST_CHILD_WORKER="+e.queue+" "+e.prefix+" "+e.modulesDir())
	stderr := &syncBuffer{}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the slow job runs in the child, then SIGTERM it.
	deadline := time.Now().Add(90 * time.Second) // the child compiles its modules (slow under -race)
	for {
		if st, _ := slow.Status(context.Background()); st == client.StatusInProgress {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child worker never started the slow job:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("child worker exited with %v:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "returning it to the queue") {
		t.Fatalf("the slow job was not returned to the queue:\n%s", stderr.String())
	}
	// A new worker finishes everything: nothing was lost.
	e.worker(e.config())
	for _, j := range append(quick, slow) {
		if res, err := wait(t, j, 30*time.Second); err != nil || res.Status != client.StatusCompleted {
			t.Fatalf("job %s (%s): %v", j.ID, j.Function, err)
		}
	}
}

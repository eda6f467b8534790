package host_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/arqhost/arqhost/client"
)

func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	cfg := e.config()
	cfg.Metrics = reg
	cfg.Retry.MaxTries = 2
	w := e.worker(cfg)
	c := e.client()
	ok, _ := c.Enqueue(context.Background(), "noop")
	bad, _ := c.Enqueue(context.Background(), "fail", client.Args{"x"})
	late, _ := c.Enqueue(context.Background(), "noop", client.Delay(100*time.Millisecond))
	for _, j := range []*client.Job{ok, bad, late} {
		wait(t, j, 20*time.Second)
	}
	if err := w.Ready(); err != nil {
		t.Fatalf("ready: %v", err)
	}
	for _, want := range []string{
		`arqhost_jobs_total{outcome="success",queue="` + e.queue + `",task="noop"} 2`,
		`arqhost_jobs_total{outcome="guest_error",queue="` + e.queue + `",task="fail"} 2`,
		`arqhost_job_retries_total{class="error",queue="` + e.queue + `",task="fail"} 1`,
		`arqhost_jobs_dead_lettered_total{outcome="guest_error",queue="` + e.queue + `",task="fail"} 1`,
		`arqhost_delayed_job_lateness_seconds_count{queue="` + e.queue + `"}`,
		`arqhost_instances{module="hostile"`,
		`arqhost_queue_messages{queue="` + e.queue + `",state="dead_lettered"} 1`,
	} {
		if got := gather(t, reg); !strings.Contains(got, want) {
			t.Errorf("metrics lack %s", want)
			if testing.Verbose() {
				t.Log(got)
			}
		}
	}
}

func gather(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

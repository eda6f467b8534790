package metrics

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// find returns the sample of family name whose labels include want, or nil.
func find(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if gv, ok := got[k]; !ok || gv != v {
					continue next
				}
			}
			if len(got) != len(want) {
				continue
			}
			return m
		}
	}
	return nil
}

func value(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	m := find(t, g, name, labels)
	if m == nil {
		t.Fatalf("no sample %s%v", name, labels)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("sample %s%v has no value", name, labels)
	return 0
}

type L = map[string]string

func TestJobLifecycle(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.JobStarted("default", "resize")
	m.JobStarted("default", "resize")
	m.JobStarted("mail", "send")
	if got := value(t, reg, "arqhost_jobs_in_flight", L{"queue": "default", "task": "resize"}); got != 2 {
		t.Fatalf("in flight = %v, want 2", got)
	}
	m.JobFinished("default", "resize", "img", "success", 30*time.Millisecond)
	m.JobFinished("default", "resize", "img", "trap", 2*time.Second)
	m.JobFinished("mail", "send", "mailer", "success", 0)

	if got := value(t, reg, "arqhost_jobs_in_flight", L{"queue": "default", "task": "resize"}); got != 0 {
		t.Fatalf("in flight = %v, want 0", got)
	}
	if got := value(t, reg, "arqhost_jobs_total", L{"queue": "default", "task": "resize", "outcome": "success"}); got != 1 {
		t.Fatalf("jobs_total success = %v", got)
	}
	if got := value(t, reg, "arqhost_jobs_total", L{"queue": "default", "task": "resize", "outcome": "trap"}); got != 1 {
		t.Fatalf("jobs_total trap = %v", got)
	}
	h := find(t, reg, "arqhost_job_duration_seconds", L{"queue": "default", "task": "resize", "outcome": "trap"})
	if h == nil || h.Histogram.GetSampleCount() != 1 || h.Histogram.GetSampleSum() != 2 {
		t.Fatalf("duration histogram = %v", h)
	}
	if n := testutil.CollectAndCount(m.duration, "arqhost_job_duration_seconds"); n != 3 {
		t.Fatalf("duration series = %d, want 3", n)
	}
	// No series carries a module label: module is not part of job series.
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "arqhost_job") {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if lp.GetName() == "module" {
					t.Fatalf("%s has a module label", mf.GetName())
				}
			}
		}
	}
}

func TestEveryMethodMovesItsSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.JobRetried("default", "resize", "transient")
	m.JobRetried("default", "resize", "transient")
	m.JobDeadLettered("default", "resize", "limit_exceeded")
	m.JobDeadLettered("default", "", "malformed")
	m.DelayLateness("default", 250*time.Millisecond)
	m.DelayLateness("default", -time.Second)
	m.Redelivered("default")
	m.Skipped("default", "already_done")
	m.Skipped("default", "stale_try")
	m.Instantiated("img", "v3", 1500*time.Microsecond)
	m.Instantiated("img", "v4", time.Millisecond)
	m.ModuleSwapped("img")
	m.ModuleLoadFailed("broken")

	cases := []struct {
		name   string
		labels L
		want   float64
	}{
		{"arqhost_job_retries_total", L{"queue": "default", "task": "resize", "class": "transient"}, 2},
		{"arqhost_jobs_dead_lettered_total", L{"queue": "default", "task": "resize", "outcome": "limit_exceeded"}, 1},
		{"arqhost_jobs_dead_lettered_total", L{"queue": "default", "task": "", "outcome": "malformed"}, 1},
		{"arqhost_delayed_job_lateness_seconds", L{"queue": "default"}, 2},
		{"arqhost_redeliveries_total", L{"queue": "default"}, 1},
		{"arqhost_jobs_skipped_total", L{"queue": "default", "reason": "already_done"}, 1},
		{"arqhost_jobs_skipped_total", L{"queue": "default", "reason": "stale_try"}, 1},
		{"arqhost_instantiations_total", L{"module": "img", "version": "v3"}, 1},
		{"arqhost_instantiations_total", L{"module": "img", "version": "v4"}, 1},
		{"arqhost_instantiation_seconds", L{"module": "img"}, 2},
		{"arqhost_module_swaps_total", L{"module": "img"}, 1},
		{"arqhost_module_load_failures_total", L{"module": "broken"}, 1},
	}
	for _, c := range cases {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	lat := find(t, reg, "arqhost_delayed_job_lateness_seconds", L{"queue": "default"})
	if got := lat.Histogram.GetSampleSum(); got != 0.25 {
		t.Errorf("lateness sum = %v, want 0.25 (negative lateness counts as 0)", got)
	}
	inst := find(t, reg, "arqhost_instantiation_seconds", L{"module": "img"})
	if got := inst.Histogram.GetSampleSum(); math.Abs(got-0.0025) > 1e-12 {
		t.Errorf("instantiation sum = %v, want 0.0025", got)
	}

	// Exact exposition of one family, HELP and TYPE included.
	want := `
# HELP arqhost_module_swaps_total Hot swaps of a module to a new version.
# TYPE arqhost_module_swaps_total counter
arqhost_module_swaps_total{module="img"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "arqhost_module_swaps_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.redeliveries); got != 1 {
		t.Errorf("ToFloat64(redeliveries) = %v", got)
	}
}

func TestAllNamesPrefixed(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.JobStarted("q", "t")
	m.JobFinished("q", "t", "mod", "success", time.Millisecond)
	m.JobRetried("q", "t", "c")
	m.JobDeadLettered("q", "t", "o")
	m.DelayLateness("q", time.Millisecond)
	m.Redelivered("q")
	m.Skipped("q", "aborted")
	m.Instantiated("mod", "v1", time.Millisecond)
	m.ModuleSwapped("mod")
	m.ModuleLoadFailed("mod")
	m.InstancesFunc(func() []InstanceStat { return []InstanceStat{{Module: "mod", Version: "v1", Idle: 1}} })
	m.QueueDepthFunc(func() []QueueStat { return []QueueStat{{Queue: "q", Ready: 1}} })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "arqhost_") {
			t.Errorf("metric %q lacks the arqhost_ prefix", mf.GetName())
		}
		names[mf.GetName()] = true
	}
	for _, n := range []string{
		"arqhost_jobs_in_flight", "arqhost_jobs_total", "arqhost_job_duration_seconds",
		"arqhost_job_retries_total", "arqhost_jobs_dead_lettered_total",
		"arqhost_delayed_job_lateness_seconds", "arqhost_redeliveries_total",
		"arqhost_jobs_skipped_total", "arqhost_instantiations_total",
		"arqhost_instantiation_seconds", "arqhost_module_swaps_total",
		"arqhost_module_load_failures_total", "arqhost_instances",
		"arqhost_queue_messages", "arqhost_queue_consumers",
		"arqhost_queue_stats_errors_total",
	} {
		if !names[n] {
			t.Errorf("metric %s not exposed", n)
		}
	}
	// The registry accepts everything New registered as consistent.
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.JobStarted("q", "t")
	m.JobFinished("q", "t", "mod", "success", time.Second)
	m.JobRetried("q", "t", "c")
	m.JobDeadLettered("q", "t", "o")
	m.DelayLateness("q", time.Second)
	m.Redelivered("q")
	m.Skipped("q", "aborted")
	m.Instantiated("mod", "v", time.Second)
	m.ModuleSwapped("mod")
	m.ModuleLoadFailed("mod")
	m.InstancesFunc(func() []InstanceStat { return nil })
	m.QueueDepthFunc(func() []QueueStat { return nil })
	m.QueueDepthFuncErr(func() ([]QueueStat, error) { return nil, nil })
}

func TestNewWithNilRegisterer(t *testing.T) {
	m := New(nil)
	m.JobStarted("q", "t")
	if got := testutil.ToFloat64(m.inFlight); got != 1 {
		t.Fatalf("in flight = %v", got)
	}
}

func TestNewRegistry(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	m.Redelivered("q")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"go_goroutines", "process_start_time_seconds", "arqhost_redeliveries_total"} {
		if !names[n] {
			t.Errorf("NewRegistry+New lacks %s", n)
		}
	}
}

func checkBuckets(t *testing.T, name string, got []float64, lo, hi float64) {
	t.Helper()
	if len(got) < 8 {
		t.Fatalf("%s: %d buckets", name, len(got))
	}
	if got[0] != lo || got[len(got)-1] != hi {
		t.Errorf("%s: buckets run %v..%v, want %v..%v", name, got[0], got[len(got)-1], lo, hi)
	}
	factor := math.Pow(hi/lo, 1/float64(len(got)-1))
	for i := 1; i < len(got); i++ {
		r := got[i] / got[i-1]
		if got[i] <= got[i-1] || math.Abs(r-factor)/factor > 0.01 {
			t.Errorf("%s: bucket %d (%v) / %v = %v, want about %v", name, i, got[i], got[i-1], r, factor)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	checkBuckets(t, "job duration", JobDurationBuckets, 100e-6, 300)
	checkBuckets(t, "lateness", LatenessBuckets, 1e-3, 60)
	checkBuckets(t, "instantiation", InstantiationBuckets, 10e-6, 10)

	reg := prometheus.NewRegistry()
	m := New(reg)
	m.JobStarted("q", "t")
	m.JobFinished("q", "t", "mod", "success", time.Millisecond)
	m.DelayLateness("q", time.Millisecond)
	m.Instantiated("mod", "v", time.Millisecond)
	for _, c := range []struct {
		name   string
		labels L
		want   []float64
	}{
		{"arqhost_job_duration_seconds", L{"queue": "q", "task": "t", "outcome": "success"}, JobDurationBuckets},
		{"arqhost_delayed_job_lateness_seconds", L{"queue": "q"}, LatenessBuckets},
		{"arqhost_instantiation_seconds", L{"module": "mod"}, InstantiationBuckets},
	} {
		h := find(t, reg, c.name, c.labels)
		if h == nil || h.Histogram == nil {
			t.Fatalf("no histogram %s", c.name)
		}
		var bounds []float64
		for _, b := range h.Histogram.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		if len(bounds) != len(c.want) {
			t.Fatalf("%s: %d buckets exposed, want %d", c.name, len(bounds), len(c.want))
		}
		for i := range bounds {
			if bounds[i] != c.want[i] {
				t.Errorf("%s: bucket %d = %v, want %v", c.name, i, bounds[i], c.want[i])
			}
		}
	}
}

func TestTaskLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.tasks = newLabelLimiter(2)
	for _, task := range []string{"a", "b", "c", "d", "a"} {
		m.JobStarted("q", task)
		m.JobFinished("q", task, "", "unknown_task", 0)
	}
	if got := value(t, reg, "arqhost_jobs_total", L{"queue": "q", "task": "a", "outcome": "unknown_task"}); got != 2 {
		t.Errorf("task a = %v, want 2", got)
	}
	if got := value(t, reg, "arqhost_jobs_total", L{"queue": "q", "task": OverflowLabel, "outcome": "unknown_task"}); got != 2 {
		t.Errorf("overflow = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(m.jobs); n != 3 {
		t.Errorf("jobs_total series = %d, want 3", n)
	}
	if got := value(t, reg, "arqhost_jobs_in_flight", L{"queue": "q", "task": OverflowLabel}); got != 0 {
		t.Errorf("overflow in flight = %v, want 0", got)
	}

	// Invalid UTF-8 and huge values do not panic the client library.
	m2 := New(prometheus.NewRegistry())
	bad := "t\xff\xfe" + strings.Repeat("é", 200)
	m2.JobStarted("q\xff", bad)
	m2.JobFinished("q\xff", bad, "m\xff", "success", time.Millisecond)
	m2.Instantiated("m\xff", "v\xff", time.Millisecond)
	if got := clean(bad); len(got) > maxLabelLen || !strings.HasPrefix(got, "t\uFFFD") {
		t.Errorf("clean = %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.InstancesFunc(func() []InstanceStat { return []InstanceStat{{Module: "m", Version: "1", Busy: 1}} })
	m.QueueDepthFunc(func() []QueueStat { return []QueueStat{{Queue: "q", Ready: 3}} })
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				m.JobStarted("q", "t")
				m.JobFinished("q", "t", "m", "success", time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := value(t, reg, "arqhost_jobs_total", L{"queue": "q", "task": "t", "outcome": "success"}); got != 800 {
		t.Fatalf("jobs_total = %v, want 800", got)
	}
}

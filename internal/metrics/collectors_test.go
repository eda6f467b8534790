package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrape GETs /metrics from srv and returns the body; the status must be 200.
func scrape(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

func hasLine(body, line string) bool {
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// fakeClock is a settable clock for the queue cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestInstancesCallback(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	srv := httptest.NewServer(Handler(reg, nil))
	defer srv.Close()

	if body := scrape(t, srv); strings.Contains(body, "arqhost_instances{") {
		t.Fatal("instances exposed without a callback")
	}
	var calls atomic.Int32
	m.InstancesFunc(func() []InstanceStat {
		calls.Add(1)
		return []InstanceStat{
			{Module: "img", Version: "v3", Idle: 2, Busy: 1},
			{Module: "img", Version: "v4", Idle: 0, Busy: 4},
			{Module: "img", Version: "v4", Idle: 1, Busy: 0}, // duplicate row: summed
		}
	})
	body := scrape(t, srv)
	for _, l := range []string{
		`arqhost_instances{module="img",state="idle",version="v3"} 2`,
		`arqhost_instances{module="img",state="busy",version="v3"} 1`,
		`arqhost_instances{module="img",state="idle",version="v4"} 1`,
		`arqhost_instances{module="img",state="busy",version="v4"} 4`,
	} {
		if !hasLine(body, l) {
			t.Errorf("missing %s in\n%s", l, body)
		}
	}
	scrape(t, srv)
	if got := calls.Load(); got != 2 {
		t.Errorf("instances callback called %d times for 2 scrapes, want 2 (read at every scrape)", got)
	}

	m.InstancesFunc(func() []InstanceStat { panic("boom") })
	if body := scrape(t, srv); strings.Contains(body, "arqhost_instances{") {
		t.Error("panicking callback still exposed instances")
	}
	m.InstancesFunc(nil)
	if body := scrape(t, srv); strings.Contains(body, "arqhost_instances{") {
		t.Error("removed callback still exposed instances")
	}
}

func TestQueueCallbackCached(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	clock := &fakeClock{t: time.Unix(1000, 0)}
	m.queues.now = clock.now
	srv := httptest.NewServer(Handler(reg, nil))
	defer srv.Close()

	var calls atomic.Int32
	m.QueueDepthFunc(func() []QueueStat {
		n := int(calls.Add(1))
		return []QueueStat{
			{Queue: "default", Ready: 10 * n, Delayed: 3, DeadLettered: 1, Consumers: 2},
			{Queue: "mail", Ready: 0, Consumers: 1},
		}
	})

	body := scrape(t, srv)
	for _, l := range []string{
		`arqhost_queue_messages{queue="default",state="ready"} 10`,
		`arqhost_queue_messages{queue="default",state="delayed"} 3`,
		`arqhost_queue_messages{queue="default",state="dead_lettered"} 1`,
		`arqhost_queue_consumers{queue="default"} 2`,
		`arqhost_queue_messages{queue="mail",state="ready"} 0`,
		`arqhost_queue_consumers{queue="mail"} 1`,
		`arqhost_queue_stats_errors_total 0`,
	} {
		if !hasLine(body, l) {
			t.Errorf("missing %s in\n%s", l, body)
		}
	}

	clock.advance(4 * time.Second)
	body = scrape(t, srv)
	if got := calls.Load(); got != 1 {
		t.Fatalf("callback called %d times for two scrapes within 5s, want 1", got)
	}
	if !hasLine(body, `arqhost_queue_messages{queue="default",state="ready"} 10`) {
		t.Errorf("second scrape did not serve the cached value:\n%s", body)
	}

	clock.advance(time.Second) // 5s after the first call: stale
	body = scrape(t, srv)
	if got := calls.Load(); got != 2 {
		t.Fatalf("callback called %d times after the TTL, want 2", got)
	}
	if !hasLine(body, `arqhost_queue_messages{queue="default",state="ready"} 20`) {
		t.Errorf("refreshed scrape lacks new value:\n%s", body)
	}
}

func TestQueueCallbackCachedRealClock(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	var calls atomic.Int32
	m.QueueDepthFunc(func() []QueueStat {
		calls.Add(1)
		return []QueueStat{{Queue: "q", Ready: 1}}
	})
	srv := httptest.NewServer(Handler(reg, nil))
	defer srv.Close()
	scrape(t, srv)
	scrape(t, srv)
	if got := calls.Load(); got != 1 {
		t.Fatalf("callback called %d times for two quick scrapes, want 1", got)
	}
}

func TestQueueCallbackConcurrentScrapesShareOneCall(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	var calls atomic.Int32
	m.QueueDepthFunc(func() []QueueStat {
		calls.Add(1)
		time.Sleep(50 * time.Millisecond)
		return []QueueStat{{Queue: "q", Ready: 1}}
	})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Fatalf("callback called %d times for 8 concurrent scrapes, want 1", got)
	}
}

func TestQueueCallbackFailure(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	clock := &fakeClock{t: time.Unix(1000, 0)}
	m.queues.now = clock.now
	srv := httptest.NewServer(Handler(reg, nil))
	defer srv.Close()

	m.Redelivered("q")
	var calls atomic.Int32
	var fail atomic.Bool
	fail.Store(true)
	m.QueueDepthFuncErr(func() ([]QueueStat, error) {
		calls.Add(1)
		if fail.Load() {
			return nil, errors.New("broker down")
		}
		return []QueueStat{{Queue: "q", Ready: 7}}, nil
	})

	body := scrape(t, srv) // status 200 checked by scrape
	if !hasLine(body, "arqhost_queue_stats_errors_total 1") {
		t.Errorf("error not counted:\n%s", body)
	}
	if strings.Contains(body, "arqhost_queue_messages{") {
		t.Errorf("failed callback exposed queue series:\n%s", body)
	}
	if !hasLine(body, `arqhost_redeliveries_total{queue="q"} 1`) {
		t.Errorf("scrape lost the other series:\n%s", body)
	}

	// The failure is cached too: a broker that is down is not retried at
	// every scrape.
	clock.advance(time.Second)
	body = scrape(t, srv)
	if got := calls.Load(); got != 1 {
		t.Fatalf("failing callback called %d times within the TTL, want 1", got)
	}
	if !hasLine(body, "arqhost_queue_stats_errors_total 1") {
		t.Errorf("error counted again from cache:\n%s", body)
	}

	fail.Store(false)
	clock.advance(QueueStatsTTL)
	body = scrape(t, srv)
	if !hasLine(body, `arqhost_queue_messages{queue="q",state="ready"} 7`) {
		t.Errorf("recovered callback not exposed:\n%s", body)
	}
	if !hasLine(body, "arqhost_queue_stats_errors_total 1") {
		t.Errorf("error counter moved on success:\n%s", body)
	}

	// A panicking callback counts as a failure, and the scrape still succeeds.
	m.QueueDepthFunc(func() []QueueStat { panic("nil channel") })
	body = scrape(t, srv)
	if !hasLine(body, "arqhost_queue_stats_errors_total 2") {
		t.Errorf("panic not counted:\n%s", body)
	}
	if strings.Contains(body, "arqhost_queue_messages{") {
		t.Errorf("panicking callback exposed queue series:\n%s", body)
	}

	// Removing the callback exposes nothing and counts nothing.
	m.QueueDepthFunc(nil)
	body = scrape(t, srv)
	if strings.Contains(body, "arqhost_queue_messages{") || !hasLine(body, "arqhost_queue_stats_errors_total 2") {
		t.Errorf("after removal:\n%s", body)
	}
}

func TestQueueDuplicateRowsSummed(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.QueueDepthFunc(func() []QueueStat {
		return []QueueStat{{Queue: "q", Ready: 1, Consumers: 1}, {Queue: "q", Ready: 2, Consumers: 1}}
	})
	if got := value(t, reg, "arqhost_queue_messages", L{"queue": "q", "state": "ready"}); got != 3 {
		t.Errorf("ready = %v, want 3", got)
	}
	if got := value(t, reg, "arqhost_queue_consumers", L{"queue": "q"}); got != 2 {
		t.Errorf("consumers = %v, want 2", got)
	}
}

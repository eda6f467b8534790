package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestHealthAndReadiness(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Redelivered("default")

	var notReady atomic.Pointer[error]
	srv := httptest.NewServer(Handler(reg, func() error {
		if p := notReady.Load(); p != nil {
			return *p
		}
		return nil
	}))
	defer srv.Close()

	if code, body := get(t, srv.URL+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || body != "ready" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	code, body := get(t, srv.URL+"/metrics")
	if code != 200 || !hasLine(body, `arqhost_redeliveries_total{queue="default"} 1`) {
		t.Errorf("/metrics = %d\n%s", code, body)
	}

	err := fmt.Errorf("broker: dial amqp://user:secret@host:5672/vhost: %w", errors.New("connection refused"))
	notReady.Store(&err)
	code, body = get(t, srv.URL+"/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz status = %d, want 503", code)
	}
	if strings.Contains(body, "secret") {
		t.Errorf("/readyz leaks the password: %q", body)
	}
	if !strings.Contains(body, "connection refused") || !strings.Contains(body, "amqp://user:xxxxx@host:5672/vhost") {
		t.Errorf("/readyz body lacks the error: %q", body)
	}
	// Liveness does not depend on readiness.
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d while not ready", code)
	}

	if code, _ := get(t, srv.URL+"/nope"); code != http.StatusNotFound {
		t.Errorf("/nope = %d, want 404", code)
	}
}

func TestReadinessEdgeCases(t *testing.T) {
	srv := httptest.NewServer(Handler(prometheus.NewRegistry(), nil))
	defer srv.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || body != "ready" {
		t.Errorf("nil ready: /readyz = %d %q", code, body)
	}

	srv2 := httptest.NewServer(Handler(prometheus.NewRegistry(), func() error { panic("redis://:hunter2@cache:6379") }))
	defer srv2.Close()
	code, body := get(t, srv2.URL+"/readyz")
	if code != http.StatusServiceUnavailable || strings.Contains(body, "hunter2") || !strings.Contains(body, "panicked") {
		t.Errorf("panicking ready: /readyz = %d %q", code, body)
	}
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"dial amqp://user:secret@host:5672/", "dial amqp://user:xxxxx@host:5672/"},
		{"amqps://guest:guest@rabbit/vhost", "amqps://guest:xxxxx@rabbit/vhost"},
		{"redis://:hunter2@cache:6379/0", "redis://:xxxxx@cache:6379/0"},
		{"redis://default:p@ss/w0rd@cache:6379", "redis://default:xxxxx@cache:6379"},
		{`parse "amqp://u:s3cr3t@h": bad`, `parse "amqp://u:xxxxx@h": bad`},
		{"https://tok3n@github.com/x", "https://xxxxx@github.com/x"},
		{"a amqp://a:one@h1 and redis://b:two@h2", "a amqp://a:xxxxx@h1 and redis://b:xxxxx@h2"},
		{"host=db password=topsecret user=x", "host=db password=xxxxx user=x"},
		{"http://h/?token=abc&x=1", "http://h/?token=xxxxx&x=1"},
		{"dial tcp 10.0.0.1:5672: connection refused", "dial tcp 10.0.0.1:5672: connection refused"},
		{"amqp://host:5672/", "amqp://host:5672/"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Serve(ctx, "127.0.0.1:0", Handler(prometheus.NewRegistry(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("Serve returned %q, not the real address", addr)
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}

	// A second server cannot take the same address.
	if _, err := Serve(ctx, addr, http.NotFoundHandler()); err == nil {
		t.Error("Serve on a busy address succeeded")
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepting connections 5s after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeColonZero(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := Serve(ctx, ":0", Handler(prometheus.NewRegistry(), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" || port == "" {
		t.Fatalf("Serve(:0) = %q", addr)
	}
	if code, _ := get(t, "http://127.0.0.1:"+port+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still answering 5s after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Serve(ctx, "127.0.0.1:0", http.NotFoundHandler()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve with a canceled ctx: err = %v", err)
	}
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ShutdownTimeout bounds the graceful shutdown of a server started by Serve;
// connections still open after it are closed.
const ShutdownTimeout = 5 * time.Second

// Handler returns the worker's HTTP endpoints:
//
//	/metrics  the series of reg in the Prometheus exposition formats; a
//	          collector error does not fail the scrape (the other series are
//	          still served)
//	/healthz  200 "ok" while the process is alive
//	/readyz   200 "ready" when ready() returns nil, else 503 with the error
//	          text, passed through Redact
//
// A nil reg serves prometheus.DefaultGatherer; a nil ready is always ready.
// ready is called on every /readyz request and should return quickly.
func Handler(reg prometheus.Gatherer, ready func() error) http.Handler {
	if reg == nil {
		reg = prometheus.DefaultGatherer
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := checkReady(ready); err != nil {
			writeText(w, http.StatusServiceUnavailable, Redact(err.Error()))
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	return mux
}

func checkReady(ready func() error) (err error) {
	if ready == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("readiness check panicked: %v", r)
		}
	}()
	return ready()
}

func writeText(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// Serve listens on addr (":0" picks a free port) and serves h in the
// background until ctx ends; then it shuts the server down gracefully, closing
// connections still open after ShutdownTimeout. It returns the address
// actually listened on, or the listen error. A nil h serves
// http.DefaultServeMux.
func Serve(ctx context.Context, addr string, h http.Handler) (actualAddr string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// The listener failed; nothing to shut down gracefully.
			_ = ln.Close()
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-served:
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}()
	return ln.Addr().String(), nil
}

// userinfoRE matches "scheme://userinfo@". It is greedy up to the last "@"
// before a blank or quote, so a password holding "@" or "/" is still covered;
// the price is over-redaction when a path or query holds an "@".
var userinfoRE = regexp.MustCompile(`(?i)[a-z][a-z0-9+.\-]*://[^\s"'<>` + "`" + `]*@`)

// secretParamRE matches password-like key=value pairs, as in URL queries or
// DSNs.
var secretParamRE = regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api_?key)=)[^&\s"'<>,;]*`)

// redacted replaces secrets removed by Redact.
const redacted = "xxxxx"

// Redact scrubs credentials from s: in every "scheme://user:pass@" the
// password becomes "xxxxx" (a userinfo without ":" is replaced whole, as it
// may be a token), and password-like "key=value" pairs lose their value.
func Redact(s string) string {
	s = userinfoRE.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.Index(m, "://") + len("://")
		scheme, info := m[:i], m[i:len(m)-1]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + user + ":" + redacted + "@"
		}
		return scheme + redacted + "@"
	})
	return secretParamRE.ReplaceAllString(s, "${1}"+redacted)
}

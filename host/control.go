package host

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/arqhost/arqhost/internal/control"
)

// control.go answers operators: over the broker's control exchange, which reaches every worker of
// a fleet at once (internal/control), and over HTTP on the worker's own admin endpoint. Both
// offer the same two commands.

// The commands a worker answers on the control channel.
const (
	CommandListModules   = "modules.list"   // reply body: []ModuleInfo
	CommandReloadModules = "modules.reload" // reply body: ReloadResult
)

// reloadTimeout bounds a reload: compiling a large module takes seconds. It stays under the
// control channel's 60s limit on a command.
const reloadTimeout = 55 * time.Second

// startControl answers the fleet's commands. Without the control channel (a broker user not
// allowed to declare the exchange or its queue) the worker still works: only `arqhost modules
// list|reload` do not reach it.
func (w *Worker) startControl() {
	s, err := control.Serve(w.conn, control.ServerOptions{WorkerID: w.cfg.WorkerID, Queues: w.cfg.Queues, Logger: w.log}, w.command)
	if err != nil {
		w.log.Warn("no control channel: arqhost modules list and reload will not reach this worker", "err", err)
		return
	}
	w.mu.Lock()
	w.control = s
	w.mu.Unlock()
}

func (w *Worker) command(ctx context.Context, req control.Request) (any, error) {
	switch req.Command {
	case CommandListModules:
		return w.Modules(), nil
	case CommandReloadModules:
		w.log.Info("reloading the modules, as asked on the control channel")
		res, _ := w.Reload(ctx) // a directory-wide error is in res.Error
		return res, nil
	}
	return nil, fmt.Errorf("unknown command %q (this worker answers %s and %s)", req.Command, CommandListModules, CommandReloadModules)
}

// AdminHandler serves the worker's admin endpoints, meant to sit beside /metrics:
//
//	GET  /modules         the module versions the worker runs ([]ModuleInfo, JSON)
//	POST /modules/reload  reload the modules directory now (ReloadResult, JSON); 500 when the
//	                      directory as a whole could not be reloaded, 409 when a module was refused
func (w *Worker) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /modules", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, w.Modules())
	})
	mux.HandleFunc("POST /modules/reload", func(rw http.ResponseWriter, r *http.Request) {
		if fromBrowser(r) {
			writeJSON(rw, http.StatusForbidden, map[string]string{"error": "reloads are not taken from browsers (Origin header or form content type)"})
			return
		}
		w.log.Info("reloading the modules, as asked on the admin endpoint")
		res, err := w.Reload(r.Context())
		code := http.StatusOK
		switch {
		case err != nil:
			code = http.StatusInternalServerError
		case hasRefusal(res):
			code = http.StatusConflict
		}
		writeJSON(rw, code, res)
	})
	return mux
}

// fromBrowser recognises a request a web page could make (a cross-site form post needs no
// preflight): the admin endpoint is for operators' tools, which send neither.
func fromBrowser(r *http.Request) bool {
	if r.Header.Get("Origin") != "" {
		return true
	}
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") ||
		strings.HasPrefix(ct, "text/plain")
}

func hasRefusal(res ReloadResult) bool {
	for _, c := range res.Changes {
		if c.Event == "refused" {
			return true
		}
	}
	return false
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(code)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

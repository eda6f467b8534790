package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/internal/config"
	"github.com/arqhost/arqhost/internal/control"
)

// fleet.go asks running workers what they run and tells them to reload: every worker of the fleet
// through the broker's control exchange (host/control.go), or one worker through its admin
// endpoint (--worker http://host:9090).

// workerAnswer is one worker's answer to `modules list` or `modules reload`.
type workerAnswer struct {
	Worker  string             `json:"worker"`
	Queues  []string           `json:"queues,omitempty"`
	Modules []host.ModuleInfo  `json:"modules,omitempty"`
	Reload  *host.ReloadResult `json:"reload,omitempty"`
	Error   string             `json:"error,omitempty"`
	raw     json.RawMessage
}

type fleetFlags struct {
	worker string
	wait   time.Duration
	expect int
}

func (f *fleetFlags) bind(cmd *cobra.Command, wait time.Duration) {
	cmd.Flags().StringVar(&f.worker, "worker", "", "ask one worker through its admin endpoint (its --metrics-addr, e.g. http://10.0.0.5:9090) instead of the whole fleet through RabbitMQ")
	cmd.Flags().DurationVar(&f.wait, "wait", wait, "how long to collect the fleet's answers")
	cmd.Flags().IntVar(&f.expect, "expect", 0, "stop waiting once this many workers have answered")
}

// ask sends command to the fleet (or the one worker of --worker) and returns the answers.
func (a *app) ask(cmd *cobra.Command, f *fleetFlags, command string) ([]workerAnswer, error) {
	if f.worker != "" {
		return a.askWorker(cmd.Context(), f.worker, command)
	}
	conn, err := a.brokerConn(cmd)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	req := control.Request{Command: command}
	if src := a.sources["Queues"]; src != "" && src != config.SourceDefault {
		req.Queues = a.cfg.Queues // only the workers of the queues asked for
	}
	replies, err := control.Call(cmd.Context(), conn, req, control.CallOptions{Wait: f.wait, Expect: f.expect})
	if err != nil {
		return nil, withCode(exitUnreachable, err)
	}
	out := make([]workerAnswer, 0, len(replies))
	for _, r := range replies {
		out = append(out, workerAnswer{Worker: r.WorkerID, Queues: r.Queues, Error: r.Error, raw: r.Body})
	}
	return out, nil
}

func (a *app) askWorker(ctx context.Context, base, command string) ([]workerAnswer, error) {
	base = strings.TrimSuffix(base, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	method, path := http.MethodGet, "/modules"
	if command == host.CommandReloadModules {
		method, path = http.MethodPost, "/modules/reload"
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	hc := &http.Client{Timeout: 3 * time.Minute}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, withCode(exitUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, withCode(exitUnreachable, err)
	}
	if resp.StatusCode == http.StatusNotFound || !json.Valid(body) {
		return nil, withCode(exitError, fmt.Errorf(a.t("%s does not serve the worker's admin endpoints (HTTP %d)"), base, resp.StatusCode))
	}
	return []workerAnswer{{Worker: base, raw: body}}, nil
}

func (a *app) modulesListCmd() *cobra.Command {
	var f fleetFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the module versions running workers serve (the whole fleet, or one worker with --worker)",
		Long: `List, for every running worker, the modules it serves: version (hash of the file), state
(active, or draining: replaced and finishing its last jobs), tasks and instances. Without --worker
the question goes to every worker through RabbitMQ (narrow it with --queue); a summary then shows
how many versions of each module the fleet runs, which tells whether a rollout is complete. The
command waits --wait for answers; --expect N stops as soon as N workers have answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			answers, err := a.ask(cmd, &f, host.CommandListModules)
			if err != nil {
				return err
			}
			for i := range answers {
				if answers[i].Error == "" {
					if err := json.Unmarshal(answers[i].raw, &answers[i].Modules); err != nil {
						answers[i].Error = err.Error()
					}
				}
			}
			summary := versionSummary(answers)
			if a.output == "json" {
				if err := a.printJSON(map[string]any{"workers": answers, "versions": summary}); err != nil {
					return err
				}
			} else {
				var rows [][]string
				for _, w := range answers {
					if w.Error != "" {
						rows = append(rows, []string{w.Worker, "-", "-", a.colour(a.t("error"), "31"), w.Error, "-"})
					}
					for _, m := range w.Modules {
						rows = append(rows, []string{w.Worker, m.Module, short(m.Version), a.t(m.State), strings.Join(m.Tasks, ", "),
							fmt.Sprintf("%d/%d", m.Instances.Live-m.Instances.Idle, m.Instances.Live)})
					}
				}
				a.table([]string{"WORKER", "MODULE", "VERSION", "STATE", "TASKS", "BUSY/LIVE"}, rows)
				if len(answers) > 1 {
					fmt.Fprintln(a.out)
					for _, s := range summary {
						var parts []string
						for _, v := range s.Versions {
							parts = append(parts, fmt.Sprintf("%s × %d", short(v.Version), v.Workers))
						}
						fmt.Fprintf(a.out, "%s: %s\n", s.Module, strings.Join(parts, ", "))
					}
				}
			}
			if len(answers) == 0 {
				return withCode(exitNotFound, errors.New(a.t("no worker answered")))
			}
			return nil
		},
	}
	f.bind(cmd, 2*time.Second)
	return cmd
}

// moduleVersions is how many workers run each active version of a module.
type moduleVersions struct {
	Module   string `json:"module"`
	Versions []struct {
		Version string `json:"version"`
		Workers int    `json:"workers"`
	} `json:"versions"`
}

func versionSummary(answers []workerAnswer) []moduleVersions {
	counts := map[string]map[string]int{}
	for _, w := range answers {
		for _, m := range w.Modules {
			if m.State != "active" {
				continue
			}
			if counts[m.Module] == nil {
				counts[m.Module] = map[string]int{}
			}
			counts[m.Module][m.Version]++
		}
	}
	var out []moduleVersions
	for mod, vs := range counts {
		s := moduleVersions{Module: mod}
		for v, n := range vs {
			s.Versions = append(s.Versions, struct {
				Version string `json:"version"`
				Workers int    `json:"workers"`
			}{v, n})
		}
		sort.Slice(s.Versions, func(i, j int) bool {
			if s.Versions[i].Workers != s.Versions[j].Workers {
				return s.Versions[i].Workers > s.Versions[j].Workers
			}
			return s.Versions[i].Version < s.Versions[j].Version
		})
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Module < out[j].Module })
	return out
}

func (a *app) modulesReloadCmd() *cobra.Command {
	var f fleetFlags
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make running workers reload their modules directory now (the whole fleet, or one worker with --worker)",
		Long: `Make running workers reload their modules directory now, as they do by themselves when they
watch it (--watch-modules) or get SIGHUP. Each worker validates changed modules and swaps them in
without failing a job; a module that fails validation is refused and its old version keeps serving.
Workers answer once their reload is over (compiling a large module takes seconds), so the command
waits up to --wait (30s); --expect N stops as soon as N workers have answered. Exits with 1 if a
worker refused a module or could not reload, 4 if no worker answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			answers, err := a.ask(cmd, &f, host.CommandReloadModules)
			if err != nil {
				return err
			}
			failed := 0
			for i := range answers {
				w := &answers[i]
				if w.Error == "" {
					var res host.ReloadResult
					if err := json.Unmarshal(w.raw, &res); err != nil {
						w.Error = err.Error()
					} else {
						w.Reload = &res
					}
				}
				if w.Error != "" || w.Reload.Error != "" {
					failed++
					continue
				}
				for _, c := range w.Reload.Changes {
					if c.Event == "refused" {
						failed++
						break
					}
				}
			}
			if a.output == "json" {
				if err := a.printJSON(answers); err != nil {
					return err
				}
			} else {
				var rows [][]string
				for _, w := range answers {
					switch {
					case w.Error != "":
						rows = append(rows, []string{w.Worker, "-", a.colour(a.t("error"), "31"), w.Error})
						continue
					case w.Reload.Error != "":
						rows = append(rows, []string{w.Worker, "-", a.colour(a.t("error"), "31"), w.Reload.Error})
					case len(w.Reload.Changes) == 0:
						rows = append(rows, []string{w.Worker, "-", a.t("unchanged"), fmt.Sprintf(a.t("%d modules"), w.Reload.Unchanged)})
					}
					for _, c := range w.Reload.Changes {
						detail := short(c.Version)
						if c.OldVersion != "" {
							detail = short(c.OldVersion) + " → " + detail
						}
						ev := a.t(c.Event)
						if c.Error != "" {
							detail, ev = c.Error, a.colour(ev, "31")
						}
						rows = append(rows, []string{w.Worker, c.Module, ev, detail})
					}
				}
				a.table([]string{"WORKER", "MODULE", "EVENT", "DETAILS"}, rows)
			}
			switch {
			case len(answers) == 0:
				return withCode(exitNotFound, errors.New(a.t("no worker answered")))
			case failed > 0:
				a.silentErr = a.output == "json"
				return withCode(exitError, fmt.Errorf(a.t("%d of %d workers refused a module or could not reload"), failed, len(answers)))
			}
			return nil
		},
	}
	f.bind(cmd, 30*time.Second)
	return cmd
}

func short(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

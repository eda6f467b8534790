package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/arqhost/arqhost/client"
	"github.com/arqhost/arqhost/internal/config"
	"github.com/arqhost/arqhost/internal/i18n"
)

// app holds what every command shares: the configuration, the output streams and format.
type app struct {
	root      *cobra.Command
	out, errw io.Writer
	cfg       config.Config
	sources   config.Sources
	output    string // "text" or "json"
	lang      i18n.Lang
	silentErr bool
}

func newApp(out, errw io.Writer) *app {
	a := &app{out: out, errw: errw, lang: "en"}
	root := &cobra.Command{
		Use:           "arqhost",
		Short:         "Run background jobs from RabbitMQ whose code is WebAssembly",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.load(cmd)
		},
	}
	root.SetOut(out)
	root.SetErr(errw)
	config.BindFlags(root.PersistentFlags())
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "text", "output format: text (tables for people) or json (for scripts)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return withCode(exitUsage, err) })
	root.AddCommand(a.workerCmd(), a.enqueueCmd(), a.resultCmd(), a.statusCmd(), a.queueCmd(), a.dlqCmd(), a.modulesCmd(), a.versionCmd())
	a.root = root
	return a
}

// load reads the configuration: flags, then environment, then the YAML file, then defaults.
func (a *app) load(cmd *cobra.Command) error {
	cfg, src, err := config.Load(cmd.Flags(), os.LookupEnv)
	if l, perr := i18n.Parse(cfg.Lang); perr == nil {
		a.lang = l
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	if a.output != "text" && a.output != "json" {
		return withCode(exitUsage, fmt.Errorf(i18n.T(a.lang, "--output must be text or json, not %q"), a.output))
	}
	a.cfg, a.sources = cfg, src
	// Libraries' own messages (go-redis's reconnection chatter) would repeat the command's error;
	// the worker sets its own logger instead (worker.go).
	slog.SetDefault(slog.New(slog.DiscardHandler))
	return nil
}

// logger builds the operator log: text or JSON, level, language.
func (a *app) logger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(a.cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if a.cfg.LogFormat == "json" {
		h = i18n.NewHandler(slog.NewJSONHandler(a.errw, opts), a.lang, false)
	} else {
		h = i18n.NewHandler(slog.NewTextHandler(a.errw, opts), a.lang, true)
	}
	return slog.New(h)
}

// redisURL is the result store's URL, or "" when result storage is off.
func (a *app) redisURL() string {
	if !a.cfg.ResultStorage {
		return ""
	}
	return a.cfg.RedisURL
}

// client connects a client for the commands that enqueue or query.
func (a *app) client(ctx context.Context) (*client.Client, error) {
	c, err := client.New(ctx, client.Config{
		RabbitMQURL: a.cfg.RabbitMQURL, RedisURL: a.redisURL(), KeyPrefix: a.cfg.KeyPrefix,
		ResultTTL: a.cfg.ResultTTL, Queue: a.cfg.Queues[0], Quorum: a.cfg.Quorum,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, withCode(exitUnreachable, err)
	}
	return c, nil
}

// dialContext bounds connecting by the configured connection timeout.
func (a *app) dialContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), a.cfg.ConnectionTimeout)
}

// connect connects a client within the connection timeout.
func (a *app) connect(cmd *cobra.Command) (*client.Client, error) {
	ctx, cancel := a.dialContext(cmd)
	defer cancel()
	return a.client(ctx)
}

// t translates an operator-facing message.
func (a *app) t(msg string) string { return i18n.T(a.lang, msg) }

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header (translated) as aligned columns.
func (a *app) table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	h := make([]string, len(header))
	for i, s := range header {
		h[i] = a.t(s)
	}
	fmt.Fprintln(tw, strings.Join(h, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// isTerminal reports whether w is a terminal (colour and progress bars only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colour wraps s in an ANSI colour when out is a terminal.
func (a *app) colour(s string, code string) string {
	if !isTerminal(a.out) {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (a *app) statusText(st client.Status) string {
	switch st {
	case client.StatusCompleted:
		return a.colour(a.t(string(st)), "32")
	case client.StatusFailed, client.StatusAborted:
		return a.colour(a.t(string(st)), "31")
	case client.StatusRetrying:
		return a.colour(a.t(string(st)), "33")
	}
	return a.t(string(st))
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05.000")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arqhost/arqhost/host"
	"github.com/arqhost/arqhost/host/wasm"
	"github.com/arqhost/arqhost/internal/metrics"
)

func (a *app) workerCmd() *cobra.Command {
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: consume the queues and run each job on its task's Wasm module",
		Long: `Run a worker. It loads every *.wasm module of --modules, consumes the --queue queues and runs
each job on the module that serves its task, with the module's limits; results go to Redis and
failures are retried or dead-lettered. SIGINT or SIGTERM stops it gracefully: running jobs get
--shutdown-grace to finish, the rest go back to the queue. With --burst it exits once no work is
left.

Modules are hot-swapped: when a file of --modules is added, replaced or removed (or on SIGHUP, or
"arqhost modules reload"), the worker validates the new version and swaps it in; running jobs
finish on the old version, new ones run on the new, and a version that fails validation is refused
while the old one keeps serving. Replace a file by writing a temporary file in the same directory
and renaming it over the old one. With --metrics-addr the worker also serves GET /modules and
POST /modules/reload there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if printConfig {
				a.cfg.Print(a.out, a.sources, a.output)
				return nil
			}
			return a.runWorker(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective settings and where each came from, then exit")
	return cmd
}

func (a *app) runWorker(parent context.Context) error {
	// SIGHUP reloads the modules; it is caught from the start, so that one sent while the worker
	// starts or stops does not end the process (Go's default for SIGHUP).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := a.logger()
	slog.SetDefault(log) // libraries' own messages (go-redis) follow the same format
	reg := metrics.NewRegistry()
	cfg := host.Config{
		RabbitMQURL: a.cfg.RabbitMQURL, RedisURL: a.redisURL(), KeyPrefix: a.cfg.KeyPrefix, ResultTTL: a.cfg.ResultTTL,
		Queues: a.cfg.Queues, Quorum: a.cfg.Quorum, Concurrency: a.cfg.Concurrency, Prefetch: a.cfg.Prefetch,
		Retry: host.RetryPolicy{MaxTries: a.cfg.MaxTries(), Backoff: a.cfg.RetryBackoff, MaxBackoff: host.DefaultRetryPolicy().MaxBackoff,
			Retry: host.DefaultRetryPolicy().Retry},
		JobTimeout: a.cfg.JobTimeout,
		Limits:     wasm.Limits{MemoryPages: uint32((a.cfg.MemoryLimit + wasm.PageSize - 1) / wasm.PageSize)},
		Modules:    a.cfg.ModulesDir, CacheDir: a.cfg.CacheDir, WorkerID: a.cfg.WorkerName,
		WatchModules: a.cfg.WatchModules, ModulesPoll: a.cfg.ModulesPoll,
		Burst: a.cfg.Burst, BurstTimeout: a.cfg.BurstTimeout, ShutdownGrace: a.cfg.ShutdownGrace,
		InProgressAfter: inProgressAfter(a.cfg.InProgressAfter),
		Logger:          log, Metrics: reg,
	}
	dctx, cancel := context.WithTimeout(ctx, a.cfg.ConnectionTimeout)
	w, err := host.New(dctx, cfg)
	cancel()
	if err != nil {
		if errors.Is(err, host.ErrUnreachable) {
			return withCode(exitUnreachable, err)
		}
		return withCode(exitUsage, err)
	}
	if a.cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/", metrics.Handler(reg, w.Ready))
		mux.Handle("/modules", w.AdminHandler())
		mux.Handle("/modules/", w.AdminHandler())
		addr, err := metrics.Serve(ctx, a.cfg.MetricsAddr, mux)
		if err != nil {
			_ = w.Stop(context.Background())
			return withCode(exitUsage, err)
		}
		log.Info("serving metrics and health checks", "addr", addr)
	}
	go reloadOnHangup(ctx, hup, w, log)
	err = w.Run(ctx)
	if errors.Is(err, host.ErrBurstTimeout) {
		return withCode(exitError, err)
	}
	return err
}

// reloadOnHangup reloads the worker's modules on every SIGHUP, until ctx ends.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, w *host.Worker, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading the modules")
			_, _ = w.Reload(ctx)
		}
	}
}

// inProgressAfter maps the configuration's in_progress_after (0 = before every job) to
// host.Config's (0 = the default, negative = before every job).
func inProgressAfter(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

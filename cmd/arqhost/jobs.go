package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arqhost/arqhost/client"
)

func (a *app) enqueueCmd() *cobra.Command {
	var args, kwargs, deferFor, at, jobID string
	var wait bool
	var count int
	cmd := &cobra.Command{
		Use:   "enqueue TASK",
		Short: "Enqueue a job (or --count of them) and optionally wait for its result",
		Example: `  arqhost enqueue send_email --args '["ann@example.com"]' --kwargs '{"subject":"hi","body":"hello"}'
  arqhost enqueue process_data --args '[{"a":1}]' --defer 10s --wait
  arqhost enqueue noop --count 10000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			var probeArgs []json.RawMessage
			if json.Unmarshal([]byte(args), &probeArgs) != nil {
				return withCode(exitUsage, errors.New(a.t("--args must be a JSON array, such as '[\"ann@example.com\", 3]'")))
			}
			var probeKwargs map[string]json.RawMessage
			if json.Unmarshal([]byte(kwargs), &probeKwargs) != nil || probeKwargs == nil {
				return withCode(exitUsage, errors.New(a.t("--kwargs must be a JSON object, such as '{\"subject\": \"hi\"}'")))
			}
			if wait && a.redisURL() == "" {
				return withCode(exitUsage, errors.New(a.t("--wait needs result storage: set --redis-url (or ARQ_RESULT_STORE_URL)")))
			}
			if deferFor != "" && at != "" {
				return withCode(exitUsage, errors.New(a.t("--defer and --at cannot be used together")))
			}
			opts := []client.Option{client.ArgsJSON(args), client.KwargsJSON(kwargs)}
			if deferFor != "" {
				d, err := time.ParseDuration(deferFor)
				if err != nil || d < 0 {
					return withCode(exitUsage, fmt.Errorf(a.t("--defer %q is not a duration such as 10s or 5m"), deferFor))
				}
				opts = append(opts, client.Delay(d))
			}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return withCode(exitUsage, fmt.Errorf(a.t("--at %q is not an RFC 3339 time such as 2026-01-15T10:30:00Z"), at))
				}
				opts = append(opts, client.At(t))
			}
			if jobID != "" {
				if count != 1 {
					return withCode(exitUsage, errors.New(a.t("--job-id and --count cannot be used together")))
				}
				opts = append(opts, client.ID(jobID))
			}
			if count < 1 {
				return withCode(exitUsage, errors.New(a.t("--count must be at least 1")))
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			if count > 1 {
				return a.enqueueMany(cmd.Context(), c, pos[0], opts, count)
			}
			j, err := c.Enqueue(cmd.Context(), pos[0], opts...)
			if err != nil {
				return err
			}
			if !wait {
				if a.output == "json" {
					return a.printJSON(map[string]any{"job_id": j.ID, "task": j.Function, "queue": j.Queue, "existing": j.Existing})
				}
				msg := a.t("enqueued job")
				if j.Existing {
					msg = a.t("a job with this id already exists")
				}
				fmt.Fprintf(a.out, "%s %s (%s, %s %s)\n", msg, j.ID, j.Function, a.t("queue"), j.Queue)
				return nil
			}
			return a.showResult(cmd.Context(), j, true)
		},
	}
	f := cmd.Flags()
	f.StringVar(&args, "args", "[]", "positional arguments, a JSON array")
	f.StringVar(&kwargs, "kwargs", "{}", "keyword arguments, a JSON object")
	f.StringVar(&deferFor, "defer", "", "run after this delay, e.g. 10s")
	f.StringVar(&at, "at", "", "run at this time (RFC 3339)")
	f.StringVar(&jobID, "job-id", "", "the job's id; enqueuing an id that exists returns that job instead")
	f.BoolVar(&wait, "wait", false, "wait for the job to finish and print its result")
	f.IntVar(&count, "count", 1, "enqueue this many jobs (load generation), in batches, with a progress bar on a terminal")
	return cmd
}

// enqueueMany enqueues count copies of a job in batches and reports the rate.
func (a *app) enqueueMany(ctx context.Context, c *client.Client, task string, opts []client.Option, count int) error {
	start := time.Now()
	const batch = 500
	for sent := 0; sent < count; {
		n := min(batch, count-sent)
		reqs := make([]client.Request, n)
		for i := range reqs {
			reqs[i] = client.Request{Task: task, Options: opts}
		}
		if _, err := c.EnqueueBatch(ctx, reqs); err != nil {
			return fmt.Errorf(a.t("after %d jobs: %w"), sent, err)
		}
		sent += n
		if isTerminal(a.errw) && a.output == "text" {
			a.progress(sent, count, time.Since(start))
		}
	}
	el := time.Since(start)
	rate := float64(count) / el.Seconds()
	if isTerminal(a.errw) && a.output == "text" {
		fmt.Fprintln(a.errw)
	}
	if a.output == "json" {
		return a.printJSON(map[string]any{"enqueued": count, "seconds": el.Seconds(), "jobs_per_second": rate})
	}
	fmt.Fprintf(a.out, a.t("enqueued %d jobs in %s (%.0f jobs/s)")+"\n", count, el.Round(time.Millisecond), rate)
	return nil
}

func (a *app) progress(done, total int, el time.Duration) {
	const width = 30
	filled := done * width / total
	fmt.Fprintf(a.errw, "\r[%s%s] %d/%d %.0f/s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		done, total, float64(done)/el.Seconds())
}

func (a *app) resultCmd() *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "result JOB_ID",
		Short: "Show a job's result (with --wait, wait until it has one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			wctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				wctx, cancel = context.WithTimeout(wctx, timeout)
				defer cancel()
			}
			return a.showResult(wctx, c.Job(pos[0]), wait)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job has finished")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --wait, give up after this long (0: never)")
	return cmd
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status JOB_ID",
		Short: "Show a job's status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Job(pos[0]).Status(cmd.Context())
			if err != nil {
				return a.jobErr(pos[0], err)
			}
			if a.output == "json" {
				return a.printJSON(map[string]string{"job_id": pos[0], "status": string(st)})
			}
			fmt.Fprintln(a.out, a.statusText(st))
			return nil
		},
	}
}

// jobErr maps a job lookup error onto an exit code and a message that says what to do.
func (a *app) jobErr(id string, err error) error {
	if errors.Is(err, client.ErrNotFound) {
		return withCode(exitNotFound, fmt.Errorf(a.t("no record of job %s: it was never enqueued with this result store (check --redis-url and --key-prefix), or its record expired"), id))
	}
	if errors.Is(err, client.ErrNoResultStore) {
		return withCode(exitUsage, errors.New(a.t("result storage is disabled: set --redis-url (or ARQ_RESULT_STORE_URL)")))
	}
	return err
}

// showResult prints a job's record; with wait it first waits for the job to finish. A job that
// failed or was aborted exits with code 3.
func (a *app) showResult(ctx context.Context, j *client.Job, wait bool) error {
	var res *client.Result
	var err error
	if wait {
		// A job with no record would be waited for forever: say so at once.
		if _, err := j.Info(ctx); err != nil {
			return a.jobErr(j.ID, err)
		}
		res, err = j.Wait(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return withCode(exitError, fmt.Errorf(a.t("gave up waiting for job %s: it has not finished"), j.ID))
		}
		var jerr *client.JobError
		if err != nil && !errors.As(err, &jerr) {
			return a.jobErr(j.ID, err)
		}
	} else if res, err = j.Info(ctx); err != nil {
		return a.jobErr(j.ID, err)
	}
	if a.output == "json" {
		if err := a.printJSON(res); err != nil {
			return err
		}
	} else {
		a.printRecord(res)
	}
	if res.Status == client.StatusFailed || res.Status == client.StatusAborted {
		a.silentErr = a.output == "json"
		return withCode(exitJobFailed, fmt.Errorf(a.t("job %s %s"), res.JobID, a.t(string(res.Status))))
	}
	return nil
}

func (a *app) printRecord(r *client.Result) {
	rows := [][]string{
		{a.t("job"), r.JobID},
		{a.t("task"), r.FunctionName},
		{a.t("status"), a.statusText(r.Status)},
		{a.t("try"), strconv.Itoa(max(r.JobTry, r.RetryCount+1))},
		{a.t("queue"), orDash(r.QueueName)},
		{a.t("worker"), orDash(r.WorkerID)},
		{a.t("module"), orDash(moduleLabel(r.Module, r.ModuleVersion))},
		{a.t("enqueued"), fmtTime(&r.CreatedAt)},
		{a.t("started"), fmtTime(r.StartTime)},
		{a.t("finished"), fmtTime(r.EndTime)},
	}
	if r.Duration != nil {
		rows = append(rows, []string{a.t("duration"), (time.Duration(*r.Duration * float64(time.Second))).Round(time.Microsecond).String()})
	}
	if r.NextTryAt != nil {
		rows = append(rows, []string{a.t("next try"), fmtTime(r.NextTryAt)})
	}
	if len(r.Result) > 0 && string(r.Result) != "null" {
		rows = append(rows, []string{a.t("result"), compact(r.Result)})
	}
	if r.Error != nil {
		rows = append(rows, []string{a.t("error"), *r.Error})
	}
	for _, row := range rows {
		fmt.Fprintf(a.out, "%-10s %s\n", row[0]+":", row[1])
	}
}

func moduleLabel(name, version string) string {
	if name == "" {
		return ""
	}
	if len(version) > 12 {
		version = version[:12]
	}
	return name + "@" + version
}

func compact(b json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

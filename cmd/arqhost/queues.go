package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/spf13/cobra"

	"github.com/arqhost/arqhost/internal/broker"
	"github.com/arqhost/arqhost/internal/store"
	"github.com/arqhost/arqhost/internal/wire"
)

// brokerConn connects to RabbitMQ for the queue and DLQ commands.
func (a *app) brokerConn(cmd *cobra.Command) (*broker.Conn, error) {
	ctx, cancel := a.dialContext(cmd)
	defer cancel()
	conn, err := broker.Dial(ctx, a.cfg.RabbitMQURL, broker.DialOptions{Name: "arqhost cli"})
	if err != nil {
		return nil, withCode(exitUnreachable, err)
	}
	return conn, nil
}

func (a *app) queueOptions() broker.QueueOptions { return broker.QueueOptions{Quorum: a.cfg.Quorum} }

func (a *app) queueCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "queue", Short: "Inspect and purge queues"}
	cmd.AddCommand(&cobra.Command{
		Use:   "info",
		Short: "Show each queue's ready, unacknowledged, delayed and dead-lettered jobs and its consumers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := a.brokerConn(cmd)
			if err != nil {
				return err
			}
			defer conn.Close()
			unacked := unackedCounts()
			type row struct {
				Queue        string `json:"queue"`
				Ready        int    `json:"ready"`
				Unacked      *int   `json:"unacked"`
				Consumers    int    `json:"consumers"`
				Delayed      int    `json:"delayed"`
				DeadLettered int    `json:"dead_lettered"`
			}
			var rows []row
			for _, q := range a.cfg.Queues {
				d, err := conn.Inspect(q, a.queueOptions())
				if errors.Is(err, broker.ErrNotDeclared) {
					return withCode(exitNotFound, fmt.Errorf(a.t("queue %q does not exist (no worker or client has declared it yet)"), q))
				}
				if err != nil {
					return err
				}
				r := row{Queue: q, Ready: d.Ready, Consumers: d.Consumers, Delayed: d.Delayed, DeadLettered: d.DeadLettered}
				if n, ok := unacked[q]; ok {
					r.Unacked = &n
				}
				rows = append(rows, r)
			}
			if a.output == "json" {
				return a.printJSON(rows)
			}
			var out [][]string
			for _, r := range rows {
				un := "-"
				if r.Unacked != nil {
					un = strconv.Itoa(*r.Unacked)
				}
				out = append(out, []string{r.Queue, strconv.Itoa(r.Ready), un, strconv.Itoa(r.Consumers), strconv.Itoa(r.Delayed), strconv.Itoa(r.DeadLettered)})
			}
			a.table([]string{"QUEUE", "READY", "UNACKED", "CONSUMERS", "DELAYED", "DLQ"}, out)
			return nil
		},
	})
	var yes bool
	purge := &cobra.Command{
		Use:   "purge",
		Short: "Delete every job waiting in the queues, ready and delayed (asks first unless --yes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.confirm(yes, fmt.Sprintf(a.t("Delete every waiting and delayed job of %s?"), strings.Join(a.cfg.Queues, ", "))); err != nil {
				return err
			}
			return a.withChannel(cmd, func(ch *amqp.Channel) error {
				total := map[string]int{}
				for _, q := range a.cfg.Queues {
					names := []string{q}
					for l := 0; l < broker.Levels; l++ {
						names = append(names, broker.DelayQueue(q, l))
					}
					for _, n := range names {
						c, err := ch.QueuePurge(n, false)
						if err != nil {
							return fmt.Errorf(a.t("purge %s: %w"), n, err)
						}
						total[q] += c
					}
				}
				if a.output == "json" {
					return a.printJSON(total)
				}
				for _, q := range a.cfg.Queues {
					fmt.Fprintf(a.out, a.t("purged %d jobs from %s")+"\n", total[q], q)
				}
				return nil
			})
		},
	}
	purge.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.AddCommand(purge)
	return cmd
}

// unackedCounts asks a local rabbitmqctl for the unacknowledged counts (AMQP itself does not tell);
// empty when it is not available, and the table then shows "-".
func unackedCounts() map[string]int {
	out := map[string]int{}
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, path, "list_queues", "name", "messages_unacknowledged", "-q", "--no-table-headers").Output()
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if n, err := strconv.Atoi(f[1]); err == nil {
				out[f[0]] = n
			}
		}
	}
	return out
}

// confirm asks on the terminal; without a terminal, --yes is required.
func (a *app) confirm(yes bool, question string) error {
	if yes {
		return nil
	}
	if !isTerminal(os.Stdin) || !isTerminal(a.errw) {
		return withCode(exitUsage, errors.New(a.t("refusing to delete without confirmation: pass --yes")))
	}
	fmt.Fprintf(a.errw, "%s [y/N] ", question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if s := strings.ToLower(strings.TrimSpace(line)); s != "y" && s != "yes" {
		return withCode(exitError, errors.New(a.t("cancelled")))
	}
	return nil
}

// deadJob is one message of a DLQ, as the dlq commands show it.
type deadJob struct {
	JobID    string         `json:"job_id"`
	Task     string         `json:"task"`
	Queue    string         `json:"queue"`
	Tries    any            `json:"tries"`
	Outcome  string         `json:"outcome"`
	Error    string         `json:"error"`
	Reason   string         `json:"reason,omitempty"`
	FailedAt string         `json:"failed_at"`
	Module   string         `json:"module,omitempty"`
	Headers  map[string]any `json:"headers,omitempty"`
	Body     string         `json:"body,omitempty"`
	delivery amqp.Delivery
}

func headerString(h amqp.Table, k string) string {
	if v, ok := h[k]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

func toDeadJob(q string, d amqp.Delivery, full bool) deadJob {
	j := deadJob{Queue: q, JobID: headerString(d.Headers, wire.HeaderJobID), Tries: d.Headers[wire.HeaderTries],
		Outcome: headerString(d.Headers, wire.HeaderOutcome), FailedAt: headerString(d.Headers, wire.HeaderFailedAt),
		Error:  strings.TrimSuffix(headerString(d.Headers, wire.HeaderErrorType)+": "+headerString(d.Headers, wire.HeaderErrorMessage), ": "),
		Reason: headerString(d.Headers, wire.HeaderReason), delivery: d}
	if job, err := wire.Decode(d.Body); err == nil {
		j.JobID, j.Task = job.ID, job.Function
	}
	if j.JobID == "" {
		j.JobID = d.MessageId
	}
	if j.JobID == "" {
		// A body that is not a job and has no id: name it by its bytes, so that it can still be
		// shown (and told apart) with `dlq show`.
		sum := sha256.Sum256(d.Body)
		j.JobID = "body-" + hex.EncodeToString(sum[:6])
	}
	if v := headerString(d.Headers, wire.HeaderModuleVersion); v != "" {
		j.Module = moduleLabel(headerString(d.Headers, wire.HeaderModule), v)
	}
	if full {
		j.Headers = map[string]any(d.Headers)
		j.Body = string(d.Body)
	}
	return j
}

// browseDLQ reads the DLQ's messages without removing them: every message taken goes back to the
// queue when done is called, except those acked meanwhile (and passed to done as acked).
func (a *app) browseDLQ(ch *amqp.Channel, q string, limit int) (jobs []deadJob, done func(acked map[uint64]bool), err error) {
	dlq := broker.NamesFor(q, a.queueOptions()).DLQ
	var taken []amqp.Delivery
	done = func(acked map[uint64]bool) {
		for _, d := range taken {
			if !acked[d.DeliveryTag] {
				_ = d.Nack(false, true)
			}
		}
	}
	for limit <= 0 || len(taken) < limit {
		d, ok, err := ch.Get(dlq, false)
		if err != nil {
			done(nil)
			return nil, func(map[uint64]bool) {}, err
		}
		if !ok {
			break
		}
		taken = append(taken, d)
		jobs = append(jobs, toDeadJob(q, d, false))
	}
	return jobs, done, nil
}

func (a *app) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect dead-lettered jobs, send them back to run, or purge them"}
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the dead-lettered jobs of the queues with the reason each failed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withChannel(cmd, func(ch *amqp.Channel) error {
				var all []deadJob
				for _, q := range a.cfg.Queues {
					jobs, done, err := a.browseDLQ(ch, q, limit)
					if err != nil {
						return err
					}
					all = append(all, jobs...)
					done(nil)
				}
				if a.output == "json" {
					if all == nil {
						all = []deadJob{}
					}
					return a.printJSON(all)
				}
				var rows [][]string
				for _, j := range all {
					rows = append(rows, []string{j.JobID, orDash(j.Task), j.Queue, fmt.Sprint(orNil(j.Tries)), orDash(j.Outcome), clipText(j.Error, 60), orDash(j.FailedAt)})
				}
				a.table([]string{"JOB", "TASK", "QUEUE", "TRIES", "OUTCOME", "ERROR", "FAILED AT"}, rows)
				if limit > 0 && len(all) >= limit*len(a.cfg.Queues) {
					fmt.Fprintf(a.errw, a.t("(showing at most %d per queue; --limit 0 shows all)")+"\n", limit)
				}
				return nil
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "list at most this many per queue (0: all)")
	show := &cobra.Command{
		Use:   "show JOB_ID",
		Short: "Show one dead-lettered job: every header and the body",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			return a.withChannel(cmd, func(ch *amqp.Channel) error {
				for _, q := range a.cfg.Queues {
					jobs, done, err := a.browseDLQ(ch, q, 0)
					if err != nil {
						return err
					}
					defer done(nil)
					for _, j := range jobs {
						if j.JobID == pos[0] {
							full := toDeadJob(q, j.delivery, true)
							if a.output == "json" {
								return a.printJSON(full)
							}
							fmt.Fprintf(a.out, "%-10s %s\n%-10s %s\n%-10s %s\n%-10s %v\n%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n", a.t("job")+":", full.JobID,
								a.t("task")+":", orDash(full.Task), a.t("queue")+":", full.Queue, a.t("tries")+":", orNil(full.Tries),
								a.t("outcome")+":", orDash(full.Outcome), a.t("error")+":", orDash(full.Error), a.t("reason")+":", orDash(full.Reason),
								a.t("module")+":", orDash(full.Module))
							fmt.Fprintln(a.out, a.t("headers")+":")
							for k, v := range full.Headers {
								fmt.Fprintf(a.out, "  %s: %v\n", k, v)
							}
							fmt.Fprintf(a.out, "%s:\n  %s\n", a.t("body"), full.Body)
							return nil
						}
					}
				}
				return withCode(exitNotFound, fmt.Errorf(a.t("job %s is not in the dead-letter queue of %s"), pos[0], strings.Join(a.cfg.Queues, ", ")))
			})
		},
	}
	var all bool
	requeue := &cobra.Command{
		Use:   "requeue [JOB_ID...] [--all]",
		Short: "Send dead-lettered jobs back to their queue to run again with a fresh try count",
		RunE: func(cmd *cobra.Command, ids []string) error {
			if all == (len(ids) > 0) {
				return withCode(exitUsage, errors.New(a.t("name the jobs to requeue, or pass --all")))
			}
			return a.requeue(cmd, ids, all)
		},
	}
	requeue.Flags().BoolVar(&all, "all", false, "requeue every dead-lettered job of the queues")
	var yes bool
	purge := &cobra.Command{
		Use:   "purge",
		Short: "Delete every dead-lettered job of the queues (asks first unless --yes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.confirm(yes, fmt.Sprintf(a.t("Delete every dead-lettered job of %s?"), strings.Join(a.cfg.Queues, ", "))); err != nil {
				return err
			}
			return a.withChannel(cmd, func(ch *amqp.Channel) error {
				total := 0
				for _, q := range a.cfg.Queues {
					n, err := ch.QueuePurge(broker.NamesFor(q, a.queueOptions()).DLQ, false)
					if err != nil {
						return err
					}
					total += n
				}
				if a.output == "json" {
					return a.printJSON(map[string]int{"purged": total})
				}
				fmt.Fprintf(a.out, a.t("purged %d dead-lettered jobs")+"\n", total)
				return nil
			})
		},
	}
	purge.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.AddCommand(list, show, requeue, purge)
	return cmd
}

func (a *app) withChannel(cmd *cobra.Command, f func(*amqp.Channel) error) error {
	conn, err := a.brokerConn(cmd)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return f(ch)
}

// requeue sends dead-lettered jobs back to run: a fresh body (try 1, no deferral, a new expiry),
// the original headers minus the failure's, a fresh "queued" record (the failed one would make a
// worker skip the job), a confirmed publish, and only then the DLQ copy is removed.
func (a *app) requeue(cmd *cobra.Command, ids []string, all bool) error {
	conn, err := a.brokerConn(cmd)
	if err != nil {
		return err
	}
	defer conn.Close()
	pub := broker.NewPublisher(conn)
	defer pub.Close()
	var st *store.Store
	if url := a.redisURL(); url != "" {
		if st, err = store.Open(cmd.Context(), url, store.Options{Prefix: a.cfg.KeyPrefix, TTL: a.cfg.ResultTTL}); err != nil {
			return withCode(exitUnreachable, err)
		}
		defer st.Close()
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var done []string
	var skipped []string
	for _, q := range a.cfg.Queues {
		jobs, release, err := a.browseDLQ(ch, q, 0)
		if err != nil {
			return err
		}
		acked := map[uint64]bool{}
		for _, j := range jobs {
			if !all && !want[j.JobID] {
				continue
			}
			job, err := wire.Decode(j.delivery.Body)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf(a.t("%s: its body is not a job (%v); it stays in the DLQ"), j.JobID, err))
				continue
			}
			if err := a.requeueOne(cmd.Context(), pub, st, q, job, j.delivery); err != nil {
				release(acked)
				return fmt.Errorf(a.t("requeue %s: %w"), j.JobID, err)
			}
			acked[j.delivery.DeliveryTag] = true
			delete(want, j.JobID)
			done = append(done, j.JobID)
		}
		release(acked)
	}
	for id := range want {
		skipped = append(skipped, fmt.Sprintf(a.t("%s: not in the dead-letter queue"), id))
	}
	if a.output == "json" {
		if err := a.printJSON(map[string]any{"requeued": done, "skipped": skipped}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.out, a.t("requeued %d jobs")+"\n", len(done))
		for _, s := range skipped {
			fmt.Fprintln(a.out, "  "+s)
		}
	}
	if len(skipped) > 0 {
		return withCode(exitNotFound, errors.New(a.t("some jobs were not requeued")))
	}
	return nil
}

func (a *app) requeueOne(ctx context.Context, pub *broker.Publisher, st *store.Store, q string, job *wire.Job, d amqp.Delivery) error {
	now := time.Now()
	job.Try, job.DeferUntil, job.EnqueueTime = 1, time.Time{}, now
	job.Expires = now.Add(wire.DefaultExpiry)
	headers := amqp.Table{}
	for k, v := range d.Headers {
		if !strings.HasPrefix(k, "x-error-") && !strings.HasPrefix(k, "x-arqhost-") && !strings.HasPrefix(k, "x-death") &&
			!strings.HasPrefix(k, "x-first-death") && !strings.HasPrefix(k, "x-last-death") && k != wire.HeaderFailedAt && k != wire.HeaderJobID {
			headers[k] = v
		}
	}
	if st != nil {
		if err := st.Delete(ctx, job.ID); err != nil {
			return err
		}
		exp := job.Expires
		if _, err := st.Write(ctx, &store.Record{JobID: job.ID, Status: store.StatusQueued, QueueName: q, FunctionName: job.Function,
			Args: job.Args, Kwargs: job.Kwargs, CreatedAt: now, ExpiresAt: &exp, JobTry: 1}); err != nil {
			return err
		}
	}
	if err := pub.Publish(ctx, q, 0, broker.JobPublishing(job, headers)); err != nil {
		return err
	}
	return d.Ack(false)
}

func orNil(v any) any {
	if v == nil {
		return "-"
	}
	return v
}

func clipText(s string, n int) string {
	r := []rune(strings.ReplaceAll(s, "\n", " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}

// Command demo enqueues a handful of representative jobs with the Go client and prints their
// results as a table: what `make demo` shows. It expects a worker on the same queue, running the
// modules of modules/examples (make demo starts one).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arqhost/arqhost/client"
)

func main() {
	queue := flag.String("queue", "arqhost-demo", "queue the worker consumes")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(ctx, client.Config{
		RabbitMQURL: envOr("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		RedisURL:    envOr("ARQ_RESULT_STORE_URL", "redis://127.0.0.1:6379/0"),
		Queue:       *queue,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	defer c.Close()

	type demoJob struct {
		what string
		task string
		opts []client.Option
	}
	jobs := []demoJob{
		{"immediate", "send_email", []client.Option{client.Args{"ann@example.com"}, client.Kwargs{"subject": "Welcome", "body": "Hello Ann"}}},
		{"immediate (Extism guest)", "greet", []client.Option{client.Kwargs{"name": "Bo"}}},
		{"delayed 3s", "process_data", []client.Option{client.Args{map[string]any{"a": 1, "b": 2, "c": 3}}, client.Delay(3 * time.Second)}},
		{"typed struct args", "word_count", []client.Option{client.Kwargs{"text": "the quick brown fox jumps over the lazy dog", "min_len": 4}}},
		{"same task in Rust", "rust_word_count", []client.Option{client.Kwargs{"text": "the quick brown fox jumps over the lazy dog", "min_len": 4}}},
		{"same task in C", "c_word_count", []client.Option{client.Kwargs{"text": "the quick brown fox jumps over the lazy dog", "min_len": 4}}},
		{"retried twice, then ok", "send_email", []client.Option{client.Args{"fail@example.com", "Retry me", "..."}}},
		{"permanent error -> DLQ", "process_data", []client.Option{client.Args{map[string]any{}}}},
		{"unknown task -> DLQ", "no_such_task", nil},
	}
	fmt.Printf("enqueuing %d jobs on queue %q\n", len(jobs), *queue)
	handles := make([]*client.Job, len(jobs))
	start := time.Now()
	for i, j := range jobs {
		h, err := c.Enqueue(ctx, j.task, j.opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo: enqueue:", err)
			os.Exit(1)
		}
		handles[i] = h
	}
	fmt.Println("waiting for results (the retried job waits 5 s between tries)...")
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nJOB\tTASK\tSCENARIO\tSTATUS\tTRIES\tAFTER\tRESULT / ERROR")
	unfinished := 0
	for i, h := range handles {
		res, err := h.Wait(ctx)
		if res == nil {
			unfinished++
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\t%v\n", h.ID[:8], jobs[i].task, jobs[i].what, "?", err)
			continue
		}
		out := string(res.Result)
		if res.Error != nil {
			out = *res.Error
		}
		after := "-"
		if res.EndTime != nil {
			after = res.EndTime.Sub(start).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", h.ID[:8], jobs[i].task, jobs[i].what, res.Status, res.JobTry, after, clip(out, 70))
	}
	_ = tw.Flush()
	if unfinished > 0 {
		fmt.Fprintf(os.Stderr, "demo: %d jobs did not finish: is the worker running? (see build/demo-worker.log)\n", unfinished)
		os.Exit(1)
	}
	fmt.Println("\nfailed jobs are in the dead-letter queue: try `build/arqhost dlq list --queue " + *queue + "`")
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arqhost/arqhost/client"
)

// A soak: a steady stream of jobs at a high rate, of which most succeed, some succeed on a retry,
// some fail until they are dead-lettered and some time out (twice, then dead-lettered), for a
// bounded time, loopback only. The worker's memory must stay flat, its goroutines must come back
// down once the stream ends, and every job must be accounted for.
func TestSoak(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "soak", "email.wasm", "hostile.wasm")
	duration, rate := size(15*time.Second, 3*time.Minute), size(300, 600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := s.start("--metrics-addr", addr, "--concurrency", "16", "--job-timeout", "1s",
		"--max-retries", "1", "--retry-backoff", "100ms")
	ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
	defer cancel()

	type sample struct {
		rss        int64 // KiB
		goroutines int
	}
	samples := []sample{}
	take := func() sample {
		return sample{rss: rssKiB(w.cmd.Process.Pid), goroutines: goroutines(addr)}
	}

	var ids []string
	failing := map[string]bool{}
	kinds := map[string]int{}
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	nextSample := start
	for n := 0; time.Since(start) < duration; n++ {
		<-tick.C
		reqs := make([]client.Request, rate/10)
		kind := make([]string, len(reqs))
		for i := range reqs {
			switch k := (n*len(reqs) + i) % 200; {
			case k < 160:
				reqs[i], kind[i] = client.Request{Task: "noop"}, "succeed"
			case k < 180:
				reqs[i], kind[i] = client.Request{Task: "flaky", Options: []client.Option{client.Args{2, 50}}}, "succeed on the 2nd try"
			case k < 199:
				reqs[i], kind[i] = client.Request{Task: "fail", Options: []client.Option{client.Args{"soak"}}}, "fail twice, dead-lettered"
			default:
				reqs[i], kind[i] = client.Request{Task: "sleep", Options: []client.Option{client.Args{"3s"}}}, "time out twice, dead-lettered"
			}
		}
		jobs, err := s.client.EnqueueBatch(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, j := range jobs {
			ids = append(ids, j.ID)
			kinds[kind[i]]++
			if strings.Contains(kind[i], "dead-lettered") {
				failing[j.ID] = true
			}
		}
		if time.Now().After(nextSample) {
			samples = append(samples, take())
			nextSample = nextSample.Add(time.Second)
		}
	}
	s.waitTerminal(ids, 5*time.Minute)
	time.Sleep(2 * time.Second) // let the last acks, timers and instances settle
	end := take()
	if !w.stop(30 * time.Second) {
		t.Error("the worker did not stop within 30 s of SIGTERM")
	}

	// After a warm-up (the first 40% of the samples: instances are created, and replaced after
	// every timeout), the peaks of the middle and of the last stretch must match: memory and
	// goroutines that grow with the number of jobs would show there. Idle job goroutines stay
	// (up to the prefetch), so the end is compared with the peak, not with the start.
	peak := func(xs []sample) (rss int64, g int) {
		for _, x := range xs {
			rss, g = max(rss, x.rss), max(g, x.goroutines)
		}
		return rss, g
	}
	a, b := len(samples)*4/10, len(samples)*7/10
	midRSS, midG := peak(samples[a:b])
	lateRSS, lateG := peak(samples[b:])
	_, allG := peak(samples)
	r := s.account(ids, failing)
	r.Area = "load"
	r.Scenario = fmt.Sprintf("soak: %d jobs/s offered for %s (80%% succeed, 10%% on a retry, 9.5%% fail, 0.5%% time out)", rate, duration)
	r.Took = time.Since(start)
	memFlat := lateRSS <= midRSS*12/10+32*1024
	goFlat := lateG <= midG+20 && end.goroutines <= allG
	r.Notes = fmt.Sprintf("after warm-up, worker RSS peak %d MiB (middle) and %d MiB (end of the stream), %d MiB once idle; goroutines peak %d and %d, %d once idle; %d samples",
		midRSS/1024, lateRSS/1024, end.rss/1024, midG, lateG, end.goroutines, len(samples))
	r.Pass = memFlat && goFlat && r.DLQ == len(failing) && r.Unexpected == 0
	record(t, r)
}

// rssKiB reads a process's resident set size (VmRSS) in KiB.
func rssKiB(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// goroutines reads go_goroutines from a worker's /metrics (0 if it cannot).
func goroutines(addr string) int {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

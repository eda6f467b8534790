package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuShare is the CPU time the benchmark's own process (the worker or the ceiling's consumer),
// RabbitMQ and Redis spent during a timed phase, found in /proc (Linux). It says which of the
// three a drain is waiting on.
type cpuShare struct {
	self, broker, redis time.Duration
}

// cpuClock reads the CPU time used so far by this process, RabbitMQ (beam.smp) and Redis
// (redis-server); a process it cannot find counts as 0.
func cpuClock() cpuShare {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return cpuShare{
		self:   time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		broker: procCPU("beam.smp"),
		redis:  procCPU("redis-server"),
	}
}

func (c cpuShare) sub(o cpuShare) cpuShare {
	return cpuShare{c.self - o.self, c.broker - o.broker, c.redis - o.redis}
}

// perJob is each share in microseconds per job.
func (c cpuShare) perJob(n int) [3]float64 {
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	return [3]float64{us(c.self), us(c.broker), us(c.redis)}
}

// procCPU sums utime+stime of the processes whose command name is name.
func procCPU(name string) time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total time.Duration
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// Fields after the command (which is in parentheses and may hold spaces).
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	return total
}

// quiesce waits (up to 5 s) until RabbitMQ and Redis are idle: less than 10% of a core over
// 200 ms. A scenario's clean-up (deleting a queue of 20,000 messages, expiring keys) keeps the
// broker busy for a while after it returns, and that work must not be counted against the next
// measurement.
func quiesce() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		a := procCPU("beam.smp") + procCPU("redis-server")
		time.Sleep(200 * time.Millisecond)
		if procCPU("beam.smp")+procCPU("redis-server")-a < 20*time.Millisecond {
			return
		}
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// machine describes the computer the benchmark ran on.
type machine struct {
	cores      int
	gomaxprocs int
	memory     int64 // bytes
	cpu        string
	kernel     string
	load       string // /proc/loadavg's three averages when the run started
}

func (m machine) summary() string {
	return fmt.Sprintf("%d cores (%s), %s, Linux %s, load %s", m.cores, m.cpu, gib(m.memory), m.kernel, m.load)
}

// versions are the versions of everything measured.
type versions struct {
	goVersion string
	rabbitmq  string // from the AMQP server properties, or rabbitmqctl
	erlang    string
	redis     string
	modules   map[string]string // module path -> version, from the build info (go.mod's)
	arqhost   string            // the commit, and whether the tree had changes
}

func (v versions) summary() string {
	return fmt.Sprintf("%s, RabbitMQ %s, Redis %s", v.goVersion, v.rabbitmq, v.redis)
}

func describe(ctx context.Context, e *env) (machine, versions) {
	m := machine{cores: runtime.NumCPU(), gomaxprocs: runtime.GOMAXPROCS(0), cpu: "unknown", kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) == 2 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					m.memory = kb * 1024
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}

	v := versions{goVersion: runtime.Version(), rabbitmq: "unknown", erlang: "unknown", redis: "unknown", modules: map[string]string{}}
	props := e.conn.Properties
	if s, ok := props["version"].(string); ok {
		v.rabbitmq = s
	}
	if s, ok := props["platform"].(string); ok {
		v.erlang = s
	}
	if v.rabbitmq == "unknown" {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if out, err := exec.CommandContext(cctx, "rabbitmqctl", "version").Output(); err == nil {
			v.rabbitmq = strings.TrimSpace(string(out))
		}
		cancel()
	}
	if info, err := e.rdb.InfoMap(ctx, "server").Result(); err == nil {
		if s := info["Server"]["redis_version"]; s != "" {
			v.redis = s
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			v.modules[d.Path] = d.Version
		}
	}
	v.arqhost = gitDescribe(ctx)
	return m, v
}

// gitDescribe names the commit measured, with "+ uncommitted changes" when the tree has some.
func gitDescribe(ctx context.Context) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(cctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}

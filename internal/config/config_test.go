package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// envOf turns a map into a getenv function; nil means an empty environment.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// load binds the flags, parses args and loads with the environment m.
func load(t *testing.T, args []string, m map[string]string) (Config, Sources, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return Load(fs, envOf(m))
}

// inDir writes files into a fresh directory and makes it the working directory, so that
// errors name the files as given ("config.yaml: ...").
func inDir(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

func mustLoad(t *testing.T, args []string, m map[string]string) (Config, Sources) {
	t.Helper()
	c, s, err := load(t, args, m)
	if err != nil {
		t.Fatalf("Load(%q, %v): %v", args, m, err)
	}
	return c, s
}

func TestDefault(t *testing.T) {
	want := Config{
		RabbitMQURL:       "amqp://guest:guest@localhost:5672/",
		Prefetch:          100,
		ConnectionTimeout: 30 * time.Second,
		Queues:            []string{"default"},
		Concurrency:       10,
		JobTimeout:        300 * time.Second,
		MaxRetries:        3,
		RetryBackoff:      5 * time.Second,
		MemoryLimit:       256 << 20,
		BurstTimeout:      300 * time.Second,
		ShutdownGrace:     30 * time.Second,
		InProgressAfter:   50 * time.Millisecond,
		ModulesDir:        "./modules",
		WatchModules:      true,
		ResultStorage:     true,
		RedisURL:          "redis://localhost:6379/0",
		ResultTTL:         24 * time.Hour,
		KeyPrefix:         "rabbitmq_arq",
		LogLevel:          "info",
		LogFormat:         "text",
		Lang:              "en",
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() = %+v\nwant %+v", got, want)
	}
	if got := Default().MaxTries(); got != 4 {
		t.Errorf("MaxTries = %d, want 4", got)
	}
	d := Default()
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate(): %v", err)
	}

	for _, tc := range []struct {
		name string
		fs   *pflag.FlagSet
	}{{"bound flags", nil}, {"nil flag set", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			fs := tc.fs
			if tc.name == "bound flags" {
				fs = pflag.NewFlagSet("x", pflag.ContinueOnError)
				BindFlags(fs)
				if err := fs.Parse(nil); err != nil {
					t.Fatal(err)
				}
			}
			c, s, err := Load(fs, envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("Load = %+v\nwant %+v", c, want)
			}
			if len(s) != len(fields) {
				t.Errorf("Sources has %d entries, want %d", len(s), len(fields))
			}
			for name, src := range s {
				if src != SourceDefault {
					t.Errorf("Sources[%s] = %q, want default", name, src)
				}
			}
		})
	}
}

func TestEachEnvVar(t *testing.T) {
	tests := []struct {
		env, value string
		fields     []string // fields that change (the first is the one named by the variable)
		want       func(c *Config)
	}{
		{"RABBITMQ_URL", "amqps://u:p@mq.example:5671/vh", nil, func(c *Config) { c.RabbitMQURL = "amqps://u:p@mq.example:5671/vh" }},
		{"RABBITMQ_PREFETCH_COUNT", "5000", nil, func(c *Config) { c.Prefetch = 5000 }},
		{"RABBITMQ_CONNECTION_TIMEOUT", "12", nil, func(c *Config) { c.ConnectionTimeout = 12 * time.Second }},
		{"ARQ_QUORUM", "yes", nil, func(c *Config) { c.Quorum = true }},
		{"ARQ_QUEUE_NAME", "emails, reports", nil, func(c *Config) { c.Queues = []string{"emails", "reports"} }},
		{"ARQ_MAX_CONCURRENT_JOBS", "32", nil, func(c *Config) { c.Concurrency = 32 }},
		{"ARQ_JOB_TIMEOUT", "1m30s", nil, func(c *Config) { c.JobTimeout = 90 * time.Second }},
		{"ARQ_MAX_RETRIES", "0", nil, func(c *Config) { c.MaxRetries = 0 }},
		{"ARQ_RETRY_BACKOFF", "0.5", nil, func(c *Config) { c.RetryBackoff = 500 * time.Millisecond }},
		{"ARQ_MEMORY_LIMIT", "1GiB", nil, func(c *Config) { c.MemoryLimit = 1 << 30 }},
		{"ARQ_BURST_MODE", "True", nil, func(c *Config) { c.Burst = true }},
		{"ARQ_BURST_TIMEOUT", "60.0", nil, func(c *Config) { c.BurstTimeout = time.Minute }},
		{"ARQ_SHUTDOWN_GRACE", "2m", nil, func(c *Config) { c.ShutdownGrace = 2 * time.Minute }},
		{"ARQ_IN_PROGRESS_AFTER", "0", nil, func(c *Config) { c.InProgressAfter = 0 }},
		{"ARQ_WORKER_NAME", "w-1", nil, func(c *Config) { c.WorkerName = "w-1" }},
		{"ARQ_MODULES_DIR", "/srv/mods", nil, func(c *Config) { c.ModulesDir = "/srv/mods" }},
		{"ARQ_CACHE_DIR", "/tmp/cache", nil, func(c *Config) { c.CacheDir = "/tmp/cache" }},
		{"ARQ_WATCH_MODULES", "off", nil, func(c *Config) { c.WatchModules = false }},
		{"ARQ_MODULES_POLL", "10", nil, func(c *Config) { c.ModulesPoll = 10 * time.Second }},
		{"ARQ_ENABLE_RESULT_STORAGE", "False", nil, func(c *Config) { c.ResultStorage = false }},
		{"ARQ_RESULT_STORE_URL", "redis-sentinel://:pw@s1,s2/0?master=m", nil, func(c *Config) { c.RedisURL = "redis-sentinel://:pw@s1,s2/0?master=m" }},
		{"ARQ_RESULT_STORE_URL", "", []string{"RedisURL", "ResultStorage"}, func(c *Config) { c.RedisURL, c.ResultStorage = "", false }},
		{"ARQ_RESULT_STORE_TTL", "3600", nil, func(c *Config) { c.ResultTTL = time.Hour }},
		{"ARQ_RESULT_KEY_PREFIX", "myapp", nil, func(c *Config) { c.KeyPrefix = "myapp" }},
		{"ARQ_METRICS_ADDR", "127.0.0.1:9090", nil, func(c *Config) { c.MetricsAddr = "127.0.0.1:9090" }},
		{"ARQ_LOG_LEVEL", "WARNING", nil, func(c *Config) { c.LogLevel = "warn" }},
		{"ARQ_LOG_FORMAT", "structured", nil, func(c *Config) { c.LogFormat = "json" }},
		{"ARQ_LANG", "ZH", nil, func(c *Config) { c.Lang = "zh" }},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.env] = true
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			c, s := mustLoad(t, nil, map[string]string{tc.env: tc.value})
			want := Default()
			tc.want(&want)
			if reflect.DeepEqual(want, Default()) {
				t.Fatal("test case changes nothing")
			}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("got  %+v\nwant %+v", c, want)
			}
			changed := tc.fields
			if changed == nil {
				for _, f := range fields {
					if f.env == tc.env {
						changed = []string{f.name}
					}
				}
			}
			for _, f := range fields {
				wantSrc := SourceDefault
				for _, n := range changed {
					if n == f.name {
						wantSrc = SourceEnv
					}
				}
				if s[f.name] != wantSrc {
					t.Errorf("Sources[%s] = %q, want %q", f.name, s[f.name], wantSrc)
				}
			}
		})
	}
	for _, f := range fields {
		if !covered[f.env] {
			t.Errorf("no test case for %s", f.env)
		}
	}
}

// The example config.yaml of the original README, verbatim.
const originalYAML = `# config.yaml
rabbitmq:
  url: "amqp://localhost:5672"
  prefetch_count: 5000
  
worker:
  max_workers: 10
  queues: ["default", "high_priority"]
  result_storage:
    enabled: true
    store_url: "redis://localhost:6379/0"
    ttl: 86400  # 24小时
  
logging:
  level: "INFO"
  format: "structured"
`

func TestOriginalYAMLShape(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": originalYAML})
	c, s := mustLoad(t, []string{"--config", "config.yaml"}, nil)
	want := Default()
	want.RabbitMQURL = "amqp://localhost:5672"
	want.Prefetch = 5000
	want.Queues = []string{"default", "high_priority"}
	want.LogFormat = "json"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	for _, name := range []string{"RabbitMQURL", "Prefetch", "Concurrency", "Queues", "ResultStorage", "RedisURL", "ResultTTL", "LogLevel", "LogFormat"} {
		if s[name] != SourceFile {
			t.Errorf("Sources[%s] = %q, want file", name, s[name])
		}
	}
	if s["JobTimeout"] != SourceDefault {
		t.Errorf("Sources[JobTimeout] = %q, want default", s["JobTimeout"])
	}
}

func TestSampleFile(t *testing.T) {
	c, s, err := Load(nil, envOf(map[string]string{"ARQ_CONFIG": "testdata/config.yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		RabbitMQURL:       "amqp://arq:s3cret-amqp@rabbit.internal:5672/jobs",
		Prefetch:          5000,
		ConnectionTimeout: 15 * time.Second,
		Quorum:            false,
		Queues:            []string{"default", "high_priority"},
		Concurrency:       20,
		JobTimeout:        5 * time.Minute,
		MaxRetries:        4,
		RetryBackoff:      2500 * time.Millisecond,
		MemoryLimit:       128 << 20,
		Burst:             false,
		BurstTimeout:      10 * time.Minute,
		ShutdownGrace:     45 * time.Second,
		InProgressAfter:   time.Second,
		WorkerName:        "worker-a",
		ModulesDir:        "/srv/arqhost/modules",
		CacheDir:          "/var/cache/arqhost",
		WatchModules:      true,
		ModulesPoll:       30 * time.Second,
		ResultStorage:     true,
		RedisURL:          "redis://:s3cret-redis@redis.internal:6379/0",
		ResultTTL:         24 * time.Hour,
		KeyPrefix:         "rabbitmq_arq",
		MetricsAddr:       ":9090",
		LogLevel:          "info",
		LogFormat:         "json",
		Lang:              "en",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if c.MaxTries() != 5 {
		t.Errorf("MaxTries = %d, want 5", c.MaxTries())
	}
	// The sample names every key.
	for _, f := range fields {
		if s[f.name] != SourceFile {
			t.Errorf("testdata/config.yaml does not set %s (%s)", f.key, f.name)
		}
	}
}

func TestPrecedence(t *testing.T) {
	const file = "rabbitmq:\n  prefetch_count: 1\nworker:\n  queues: [f]\n  job_timeout: 1\n"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    int
		queues  []string
		timeout time.Duration
		src     string
	}{
		{"file", nil, nil, 1, []string{"f"}, time.Second, SourceFile},
		{"env over file", map[string]string{"RABBITMQ_PREFETCH_COUNT": "2", "ARQ_QUEUE_NAME": "e", "ARQ_JOB_TIMEOUT": "2"}, nil, 2, []string{"e"}, 2 * time.Second, SourceEnv},
		{"flag over env", map[string]string{"RABBITMQ_PREFETCH_COUNT": "2", "ARQ_QUEUE_NAME": "e", "ARQ_JOB_TIMEOUT": "2"},
			[]string{"--prefetch", "3", "--queue", "g", "--job-timeout", "3s"}, 3, []string{"g"}, 3 * time.Second, SourceFlag},
		{"flag over file", nil, []string{"--prefetch=3", "--queue=g", "--job-timeout=3"}, 3, []string{"g"}, 3 * time.Second, SourceFlag},
		{"flag at its default still counts", map[string]string{"RABBITMQ_PREFETCH_COUNT": "2", "ARQ_QUEUE_NAME": "e", "ARQ_JOB_TIMEOUT": "2"},
			[]string{"--prefetch", "100", "--queue", "default", "--job-timeout", "300"}, 100, []string{"default"}, 300 * time.Second, SourceFlag},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inDir(t, map[string]string{"c.yaml": file})
			env := map[string]string{"ARQ_CONFIG": "c.yaml"}
			for k, v := range tc.env {
				env[k] = v
			}
			c, s := mustLoad(t, tc.args, env)
			if c.Prefetch != tc.want || !reflect.DeepEqual(c.Queues, tc.queues) || c.JobTimeout != tc.timeout {
				t.Errorf("prefetch %d queues %q timeout %v, want %d %q %v", c.Prefetch, c.Queues, c.JobTimeout, tc.want, tc.queues, tc.timeout)
			}
			for _, name := range []string{"Prefetch", "Queues", "JobTimeout"} {
				if s[name] != tc.src {
					t.Errorf("Sources[%s] = %q, want %q", name, s[name], tc.src)
				}
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		c, s := mustLoad(t, nil, nil)
		if c.Prefetch != 100 || s["Prefetch"] != SourceDefault {
			t.Errorf("prefetch %d from %s", c.Prefetch, s["Prefetch"])
		}
	})
}

func TestConfigFileSelection(t *testing.T) {
	inDir(t, map[string]string{
		"a.yaml": "rabbitmq:\n  prefetch_count: 7\n",
		"b.yaml": "rabbitmq:\n  prefetch_count: 8\n",
	})
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"env", nil, map[string]string{"ARQ_CONFIG": "a.yaml"}, 7},
		{"flag over env", []string{"--config", "b.yaml"}, map[string]string{"ARQ_CONFIG": "a.yaml"}, 8},
		{"explicitly empty flag reads no file", []string{"--config="}, map[string]string{"ARQ_CONFIG": "a.yaml"}, 100},
		{"empty env reads no file", nil, map[string]string{"ARQ_CONFIG": ""}, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := mustLoad(t, tc.args, tc.env)
			if c.Prefetch != tc.want {
				t.Errorf("prefetch = %d, want %d", c.Prefetch, tc.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *Config)
	}{
		{"repeated --queue", []string{"--queue", "a", "--queue", "b,c"}, nil, func(c *Config) { c.Queues = []string{"a", "b", "c"} }},
		{"--queue replaces env", []string{"--queue", "a"}, map[string]string{"ARQ_QUEUE_NAME": "x,y"}, func(c *Config) { c.Queues = []string{"a"} }},
		{"--max-concurrent-jobs alias", []string{"--max-concurrent-jobs", "7"}, nil, func(c *Config) { c.Concurrency = 7 }},
		{"alias over env", []string{"--max-concurrent-jobs=7"}, map[string]string{"ARQ_MAX_CONCURRENT_JOBS": "3"}, func(c *Config) { c.Concurrency = 7 }},
		{"last of name and alias wins", []string{"--concurrency", "5", "--max-concurrent-jobs", "6"}, nil, func(c *Config) { c.Concurrency = 6 }},
		{"bool flag without value", []string{"--burst", "--quorum"}, nil, func(c *Config) { c.Burst, c.Quorum = true, true }},
		{"bool flag =false over env", []string{"--burst=false"}, map[string]string{"ARQ_BURST_MODE": "on"}, func(c *Config) {}},
		{"empty --redis-url disables storage", []string{"--redis-url="}, map[string]string{"ARQ_ENABLE_RESULT_STORAGE": "true"},
			func(c *Config) { c.RedisURL, c.ResultStorage = "", false }},
		{"durations in seconds", []string{"--connection-timeout", "2.5", "--result-ttl", "90", "--shutdown-grace", "1m", "--burst-timeout", "1h", "--retry-backoff", "0"},
			nil, func(c *Config) {
				c.ConnectionTimeout, c.ResultTTL, c.ShutdownGrace, c.BurstTimeout, c.RetryBackoff = 2500*time.Millisecond, 90*time.Second, time.Minute, time.Hour, 0
			}},
		{"every other flag", []string{
			"--rabbitmq-url", "amqp://h/", "--prefetch", "9", "--max-retries", "1", "--memory-limit", "512KiB",
			"--worker-name", "n", "--modules", "m", "--cache-dir", "cd", "--redis-url", "rediss://r:6380/1",
			"--key-prefix", "kp", "--metrics-addr", ":9100", "--log-level", "Debug", "--log-format", "JSON", "--lang", "zh",
		}, nil, func(c *Config) {
			c.RabbitMQURL, c.Prefetch, c.MaxRetries, c.MemoryLimit = "amqp://h/", 9, 1, 512<<10
			c.WorkerName, c.ModulesDir, c.CacheDir, c.RedisURL = "n", "m", "cd", "rediss://r:6380/1"
			c.KeyPrefix, c.MetricsAddr, c.LogLevel, c.LogFormat, c.Lang = "kp", ":9100", "debug", "json", "zh"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := mustLoad(t, tc.args, tc.env)
			want := Default()
			tc.want(&want)
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("got  %+v\nwant %+v", c, want)
			}
		})
	}
	t.Run("sources", func(t *testing.T) {
		_, s := mustLoad(t, []string{"--max-concurrent-jobs", "7", "--redis-url="}, nil)
		for _, name := range []string{"Concurrency", "RedisURL", "ResultStorage"} {
			if s[name] != SourceFlag {
				t.Errorf("Sources[%s] = %q, want flag", name, s[name])
			}
		}
	})
}

func TestBindFlags(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	BindFlags(fs)
	if f := fs.Lookup("config"); f == nil || !strings.Contains(f.Usage, "ARQ_CONFIG") {
		t.Errorf("--config missing or without ARQ_CONFIG: %+v", f)
	}
	if fs.Lookup("print-config") != nil {
		t.Error("--print-config belongs to the CLI")
	}
	for _, f := range fields {
		if f.flag == "" {
			continue
		}
		fl := fs.Lookup(f.flag)
		if fl == nil {
			t.Errorf("flag --%s not registered", f.flag)
			continue
		}
		suffix := "(env " + f.env + ", yaml " + f.key + ")"
		if !strings.HasSuffix(fl.Usage, suffix) {
			t.Errorf("--%s usage %q does not end with %q", f.flag, fl.Usage, suffix)
		}
	}
	if got, want := fs.Lookup("concurrency").Usage, "max jobs running at once (env ARQ_MAX_CONCURRENT_JOBS, yaml worker.max_workers)"; got != want {
		t.Errorf("--concurrency usage %q, want %q", got, want)
	}
	if f := fs.Lookup("max-concurrent-jobs"); f == nil || f.Usage != "alias of --concurrency (env ARQ_MAX_CONCURRENT_JOBS, yaml worker.max_concurrent_jobs)" {
		t.Errorf("--max-concurrent-jobs: %+v", f)
	}
	usage := fs.FlagUsages()
	if strings.Contains(usage, "guest:guest") {
		t.Errorf("usage shows the default password:\n%s", usage)
	}
	for _, want := range []string{"--config FILE", "amqp://guest:xxxxx@localhost:5672/", "--job-timeout duration", "(default 5m)", "--memory-limit size", "(default 256MiB)", "--queue strings", "(default [default])", "--burst "} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("q", 256)
	tests := []struct {
		name string
		file string // written as config.yaml and named by --config when not empty
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown nested key", file: "rabbitmq:\n  url: amqp://localhost/\nworker:\n  queues: [a]\n  max_wrokers: 5\n",
			want: `config.yaml: unknown key "worker.max_wrokers" (line 5)`},
		{name: "unknown section", file: "redis:\n  url: redis://x\n",
			want: `config.yaml: unknown key "redis" (line 1)`},
		{name: "unknown deep key", file: "worker:\n  result_storage:\n    url: redis://x\n",
			want: `config.yaml: unknown key "worker.result_storage.url" (line 3)`},
		{name: "section not a mapping", file: "worker: [1, 2]\n",
			want: `config.yaml: "worker" must be a mapping of keys, not a list (line 1)`},
		{name: "top level not a mapping", file: "- a\n",
			want: `config.yaml: the top level must be a mapping of sections (rabbitmq, worker, metrics, logging), not a list (line 1)`},
		{name: "yaml bad int", file: "worker:\n  max_retries: three\n",
			want: `config.yaml: worker.max_retries: "three" is not a whole number (line 2)`},
		{name: "yaml float for int", file: "worker:\n  max_workers: 10.5\n",
			want: `config.yaml: worker.max_workers: "10.5" is not a whole number (line 2)`},
		{name: "yaml list for scalar", file: "worker:\n  job_timeout: [1]\n",
			want: `config.yaml: worker.job_timeout: must be a single value, not a list (line 2)`},
		{name: "yaml alias keys both given", file: "worker:\n  max_workers: 3\n  max_concurrent_jobs: 4\n",
			want: `config.yaml: worker.max_concurrent_jobs and worker.max_workers (line 2) are the same setting; keep one (line 3)`},
		{name: "yaml duplicate key", file: "logging:\n  level: info\n  level: debug\n",
			want: `config.yaml: duplicate key "logging.level", already given at line 2 (line 3)`},
		{name: "yaml zero workers", file: "worker:\n  max_workers: 0\n",
			want: `config.yaml: worker.max_workers: must be at least 1, got 0 (line 2)`},
		{name: "yaml syntax", file: "worker:\n  max_workers: [\n",
			want: "config.yaml: yaml: line 2: did not find expected node content"},
		{name: "missing file from flag", args: []string{"--config", "nope.yaml"},
			want: "flag --config: open nope.yaml: no such file or directory"},
		{name: "missing file from env", env: map[string]string{"ARQ_CONFIG": "nope.yaml"},
			want: "env ARQ_CONFIG: open nope.yaml: no such file or directory"},
		{name: "env not a number", env: map[string]string{"ARQ_MAX_RETRIES": "three"},
			want: `env ARQ_MAX_RETRIES: "three" is not a whole number`},
		{name: "env empty number", env: map[string]string{"RABBITMQ_PREFETCH_COUNT": ""},
			want: `env RABBITMQ_PREFETCH_COUNT: "" is not a whole number`},
		{name: "env bad duration", env: map[string]string{"ARQ_JOB_TIMEOUT": "soon"},
			want: `env ARQ_JOB_TIMEOUT: "soon" is not a duration (use e.g. 30s, 5m, 1h or a number of seconds)`},
		{name: "env bad bool", env: map[string]string{"ARQ_BURST_MODE": "maybe"},
			want: `env ARQ_BURST_MODE: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0)`},
		{name: "env decimal megabytes", env: map[string]string{"ARQ_MEMORY_LIMIT": "256MB"},
			want: `env ARQ_MEMORY_LIMIT: "256MB" is ambiguous: write 256MiB (powers of 1024) or a number of bytes`},
		{name: "env bad size", env: map[string]string{"ARQ_MEMORY_LIMIT": "1.5GiB"},
			want: `env ARQ_MEMORY_LIMIT: "1.5GiB" is not a size (use bytes or a KiB, MiB or GiB suffix, e.g. 256MiB)`},
		{name: "flag not a number", args: []string{"--max-retries", "three"},
			want: `flag --max-retries: "three" is not a whole number`},
		{name: "flag zero concurrency", args: []string{"--concurrency", "0"},
			want: "flag --concurrency: must be at least 1, got 0"},
		{name: "alias flag zero concurrency", args: []string{"--max-concurrent-jobs", "0"},
			want: "flag --max-concurrent-jobs: must be at least 1, got 0"},
		{name: "env negative concurrency", env: map[string]string{"ARQ_MAX_CONCURRENT_JOBS": "-1"},
			want: "env ARQ_MAX_CONCURRENT_JOBS: must be at least 1, got -1"},
		{name: "prefetch zero", env: map[string]string{"RABBITMQ_PREFETCH_COUNT": "0"},
			want: "env RABBITMQ_PREFETCH_COUNT: must be between 1 and 65535, got 0"},
		{name: "prefetch too big", args: []string{"--prefetch", "70000"},
			want: "flag --prefetch: must be between 1 and 65535, got 70000"},
		{name: "negative retries", env: map[string]string{"ARQ_MAX_RETRIES": "-1"},
			want: "env ARQ_MAX_RETRIES: must be at least 0, got -1"},
		{name: "zero job timeout", env: map[string]string{"ARQ_JOB_TIMEOUT": "0"},
			want: "env ARQ_JOB_TIMEOUT: must be greater than 0, got 0s"},
		{name: "negative connection timeout", args: []string{"--connection-timeout", "-5"},
			want: "flag --connection-timeout: must be greater than 0, got -5s"},
		{name: "zero ttl", file: "worker:\n  result_storage:\n    ttl: 0\n",
			want: "config.yaml: worker.result_storage.ttl: must be greater than 0, got 0s (line 3)"},
		{name: "negative backoff", env: map[string]string{"ARQ_RETRY_BACKOFF": "-1s"},
			want: "env ARQ_RETRY_BACKOFF: must not be negative, got -1s"},
		{name: "memory too small", env: map[string]string{"ARQ_MEMORY_LIMIT": "1KiB"},
			want: "env ARQ_MEMORY_LIMIT: must be between 64KiB (one WebAssembly page) and 4GiB, got 1KiB"},
		{name: "bad log level", env: map[string]string{"ARQ_LOG_LEVEL": "verbose"},
			want: `env ARQ_LOG_LEVEL: "verbose" is not a log level (use debug, info, warn or error)`},
		{name: "bad log format", file: "logging:\n  format: xml\n",
			want: `config.yaml: logging.format: "xml" is not a log format (use text or json) (line 2)`},
		{name: "bad lang", args: []string{"--lang", "fr"},
			want: `flag --lang: "fr" is not a language (use en or zh)`},
		{name: "empty queue name", env: map[string]string{"ARQ_QUEUE_NAME": "a,,b"},
			want: "env ARQ_QUEUE_NAME: a queue name must not be empty"},
		{name: "long queue name", args: []string{"--queue", long},
			want: `flag --queue: queue name "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"… is 256 bytes; the limit is 237`},
		{name: "reserved queue name", file: "worker:\n  queues:\n    - amq.direct\n",
			want: `config.yaml: worker.queues: queue name "amq.direct" starts with amq., which RabbitMQ reserves (line 3)`},
		{name: "duplicate queue", args: []string{"--queue", "a", "--queue", "a"},
			want: `flag --queue: queue "a" is listed twice`},
		{name: "empty queue list", file: "worker:\n  queues: []\n",
			want: "config.yaml: worker.queues: at least one queue is needed (line 2)"},
		{name: "rabbitmq scheme", env: map[string]string{"RABBITMQ_URL": "http://user:hunter2@mq/"},
			want: `env RABBITMQ_URL: "http://user:xxxxx@mq/" has scheme "http" (use amqp:// or amqps://)`},
		{name: "rabbitmq not a url", env: map[string]string{"RABBITMQ_URL": "localhost:5672"},
			want: `env RABBITMQ_URL: "localhost:5672" is not a URL (use amqp:// or amqps://)`},
		{name: "rabbitmq bad port", args: []string{"--rabbitmq-url", "amqp://u:hunter2@mq:abc/"},
			want: `flag --rabbitmq-url: "amqp://u:xxxxx@mq:abc/" is not a valid URL: invalid port ":abc" after host`},
		{name: "empty rabbitmq url", env: map[string]string{"RABBITMQ_URL": ""},
			want: "env RABBITMQ_URL: must not be empty (use amqp:// or amqps://)"},
		{name: "redis scheme", file: "worker:\n  result_storage:\n    store_url: \"memcached://:hunter2@m\"\n",
			want: `config.yaml: worker.result_storage.store_url: "memcached://:xxxxx@m" has scheme "memcached" (use redis://, rediss://, redis-sentinel://, rediss-sentinel://, redis-cluster:// or rediss-cluster://) (line 3)`},
		{name: "storage on, url empty, same source", env: map[string]string{"ARQ_ENABLE_RESULT_STORAGE": "true", "ARQ_RESULT_STORE_URL": ""},
			want: "env ARQ_ENABLE_RESULT_STORAGE: result storage is enabled but the store URL is empty (env ARQ_RESULT_STORE_URL)"},
		{name: "storage on in env, url empty in file", file: "worker:\n  result_storage:\n    store_url: \"\"\n", env: map[string]string{"ARQ_ENABLE_RESULT_STORAGE": "yes"},
			want: "env ARQ_ENABLE_RESULT_STORAGE: result storage is enabled but the store URL is empty (config.yaml: worker.result_storage.store_url, line 3)"},
		{name: "bad metrics addr", env: map[string]string{"ARQ_METRICS_ADDR": "9090"},
			want: `env ARQ_METRICS_ADDR: "9090" is not host:port (e.g. :9090 or 127.0.0.1:9090)`},
		{name: "empty modules dir", args: []string{"--modules", ""},
			want: "flag --modules: must not be empty"},
		{name: "several errors", env: map[string]string{"ARQ_MAX_RETRIES": "x", "ARQ_JOB_TIMEOUT": "y"},
			want: "env ARQ_JOB_TIMEOUT: \"y\" is not a duration (use e.g. 30s, 5m, 1h or a number of seconds)\nenv ARQ_MAX_RETRIES: \"x\" is not a whole number"},
		{name: "parse error in an overridden source", env: map[string]string{"ARQ_MAX_RETRIES": "three"}, args: []string{"--max-retries", "2"},
			want: `env ARQ_MAX_RETRIES: "three" is not a whole number`},
		{name: "password of a URL given to the wrong setting", env: map[string]string{"ARQ_MAX_RETRIES": "redis://:hunter2@r"},
			want: `env ARQ_MAX_RETRIES: "redis://:xxxxx@r" is not a whole number`},
		// url.Parse's own message would quote the password written without percent-encoding.
		{name: "password with a slash, not percent-encoded", args: []string{"--rabbitmq-url", "amqp://u:hunter2/secret@mq:5672/"},
			want: `flag --rabbitmq-url: "amqp://u:xxxxx@mq:5672/" has an @ after the host: percent-encode @ as %40 in the password, the path or the query (a password holding an unencoded / ? or # is cut there, and the rest is taken for the host)`},
		// net/url reads this one without error, as user u, password "hun" at host "ter2".
		{name: "password with @ before a slash, not percent-encoded", env: map[string]string{"ARQ_RESULT_STORE_URL": "redis://u:hun@ter2/secret@r:6379/0"},
			want: `env ARQ_RESULT_STORE_URL: "redis://u:xxxxx@r:6379/0" has an @ after the host: percent-encode @ as %40 in the password, the path or the query (a password holding an unencoded / ? or # is cut there, and the rest is taken for the host)`},
		{name: "password with a colon, not percent-encoded", args: []string{"--rabbitmq-url", "amqp://u:hun:ter2@mq:abc/"},
			want: `flag --rabbitmq-url: "amqp://u:xxxxx@mq:abc/" is not a valid URL: invalid port ":abc" after host`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			args := tc.args
			if tc.file != "" {
				files["config.yaml"] = tc.file
				args = append([]string{"--config", "config.yaml"}, args...)
			}
			inDir(t, files)
			c, s, err := load(t, args, tc.env)
			if err == nil {
				t.Fatalf("no error; got %+v", c)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a password: %s", err)
			}
			if s != nil || !reflect.DeepEqual(c, Config{}) {
				t.Errorf("on error Load returned %+v, %v", c, s)
			}
		})
	}
}

func TestLimitsCheckOnlyTheWinner(t *testing.T) {
	c, s := mustLoad(t, []string{"--log-level", "debug", "--concurrency", "4"},
		map[string]string{"ARQ_LOG_LEVEL": "verbose", "ARQ_MAX_CONCURRENT_JOBS": "0"})
	if c.LogLevel != "debug" || c.Concurrency != 4 || s["LogLevel"] != SourceFlag {
		t.Errorf("got level %q concurrency %d from %s", c.LogLevel, c.Concurrency, s["LogLevel"])
	}
	// A disabled result store is not checked.
	c, _ = mustLoad(t, nil, map[string]string{"ARQ_ENABLE_RESULT_STORAGE": "0", "ARQ_RESULT_STORE_URL": "nonsense", "ARQ_RESULT_STORE_TTL": "0"})
	if c.ResultStorage {
		t.Error("result storage still enabled")
	}
	// Null and empty YAML values leave the setting unset.
	inDir(t, map[string]string{"c.yaml": "rabbitmq:\n  prefetch_count:\nworker:\n  job_timeout: ~\nlogging:\n"})
	c, s = mustLoad(t, []string{"--config", "c.yaml"}, nil)
	if c.Prefetch != 100 || c.JobTimeout != 300*time.Second || s["Prefetch"] != SourceDefault {
		t.Errorf("null values changed settings: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	c.LogLevel, c.LogFormat, c.Lang = "WARNING", "Structured", "Zh"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "warn" || c.LogFormat != "json" || c.Lang != "zh" {
		t.Errorf("not normalised: %q %q %q", c.LogLevel, c.LogFormat, c.Lang)
	}
	c.Concurrency, c.Queues = 0, nil
	want := "worker.queues: at least one queue is needed\nworker.max_workers: must be at least 1, got 0"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

func TestPrint(t *testing.T) {
	c, s, err := Load(nil, envOf(map[string]string{
		"ARQ_CONFIG":           "testdata/config.yaml",
		"RABBITMQ_URL":         "amqps://admin:pa55word@mq:5671/?auth_mechanism=plain",
		"ARQ_RESULT_STORE_URL": "redis-sentinel://u:pa55word@s1:26379,s2/0?master=m&sentinel_password=pa55word",
	}))
	if err != nil {
		t.Fatal(err)
	}

	var table bytes.Buffer
	c.Print(&table, s, "table")
	out := table.String()
	for _, want := range []string{
		"KEY", "VALUE", "SOURCE",
		"rabbitmq.url", "amqps://admin:xxxxx@mq:5671/?auth_mechanism=xxxxx",
		"redis-sentinel://u:xxxxx@s1:26379,s2/0?master=m&sentinel_password=xxxxx",
		"worker.max_workers", "memory_limit", "128MiB", "24h", "worker-a", "high_priority",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(fields)+1 {
		t.Errorf("table has %d lines, want %d", len(lines), len(fields)+1)
	}
	for _, l := range lines {
		switch f := strings.Fields(l); {
		case strings.HasPrefix(l, "rabbitmq.url ") || strings.HasPrefix(l, "worker.result_storage.store_url "):
			if f[len(f)-1] != SourceEnv {
				t.Errorf("line %q: want source env", l)
			}
		case strings.HasPrefix(l, "worker.max_workers "):
			if f[1] != "20" || f[2] != SourceFile {
				t.Errorf("line %q", l)
			}
		}
	}

	var js bytes.Buffer
	c.Print(&js, s, "json")
	var got map[string]struct {
		Value  any    `json:"value"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, js.String())
	}
	if len(got) != len(fields) {
		t.Errorf("json has %d keys, want %d", len(got), len(fields))
	}
	checks := map[string]any{
		"rabbitmq.url":                    "amqps://admin:xxxxx@mq:5671/?auth_mechanism=xxxxx",
		"rabbitmq.prefetch_count":         5000.0,
		"worker.queues":                   []any{"default", "high_priority"},
		"worker.memory_limit":             float64(128 << 20),
		"worker.job_timeout":              "5m",
		"worker.retry_backoff":            "2.5s",
		"worker.burst_mode":               false,
		"worker.result_storage.store_url": "redis-sentinel://u:xxxxx@s1:26379,s2/0?master=m&sentinel_password=xxxxx",
		"logging.format":                  "json",
	}
	for k, want := range checks {
		if !reflect.DeepEqual(got[k].Value, want) {
			t.Errorf("json %s = %#v, want %#v", k, got[k].Value, want)
		}
	}
	if got["rabbitmq.url"].Source != SourceEnv || got["worker.max_workers"].Source != SourceFile {
		t.Errorf("json sources: %+v", got)
	}

	for name, out := range map[string]string{"table": table.String(), "json": js.String()} {
		for _, secret := range []string{"pa55word", "s3cret"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output reveals %q:\n%s", name, secret, out)
			}
		}
	}

	// Without sources everything reads default; empty strings are visible.
	var d bytes.Buffer
	Default().Print(&d, nil, "")
	if !strings.Contains(d.String(), "worker.name") || !strings.Contains(d.String(), `""`) ||
		!strings.Contains(d.String(), "amqp://guest:xxxxx@localhost:5672/") || strings.Contains(d.String(), "guest:guest") {
		t.Errorf("default table:\n%s", d.String())
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"30s", 30 * time.Second, false},
		{"5m", 5 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"300", 300 * time.Second, false},
		{"5.0", 5 * time.Second, false},
		{"0.5", 500 * time.Millisecond, false},
		{".25", 250 * time.Millisecond, false},
		{" 86400 ", 24 * time.Hour, false},
		{"-1", -time.Second, false},
		{"1e3", 1000 * time.Second, false},
		{"0", 0, false},
		{"", 0, true},
		{"5 minutes", 0, true},
		{"1e30", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"268435456", 256 << 20, false},
		{"256MiB", 256 << 20, false},
		{"256 MiB", 256 << 20, false},
		{"64kib", 64 << 10, false},
		{"4GiB", 4 << 30, false},
		{"1024B", 1024, false},
		{"256MB", 0, true},
		{"256M", 0, true},
		{"1G", 0, true},
		{"1.5GiB", 0, true},
		{"-1", 0, true},
		{"", 0, true},
		{"99999999999999999999", 0, true},
		{"16777216TiB", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, in := range []string{"true", "True", "TRUE", "1", "yes", "Yes", "on", "ON"} {
		if b, err := ParseBool(in); err != nil || !b {
			t.Errorf("ParseBool(%q) = %v, %v", in, b, err)
		}
	}
	for _, in := range []string{"false", "False", "0", "no", "NO", "off", " off "} {
		if b, err := ParseBool(in); err != nil || b {
			t.Errorf("ParseBool(%q) = %v, %v", in, b, err)
		}
	}
	for _, in := range []string{"", "y", "n", "2", "enabled"} {
		if _, err := ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"amqp://guest:guest@localhost:5672/", "amqp://guest:xxxxx@localhost:5672/"},
		{"redis://:pw@localhost:6379/0", "redis://:xxxxx@localhost:6379/0"},
		{"redis://localhost:6379/0", "redis://localhost:6379/0"},
		{"redis://user@localhost", "redis://user@localhost"},
		{"amqp://u:p%40ss@h/", "amqp://u:xxxxx@h/"},
		{"amqp://u:p@ss@h/", "amqp://u:xxxxx@h/"},
		{"rediss-cluster://h1,h2?password=pw&db=0", "rediss-cluster://h1,h2?password=xxxxx&db=0"},
		{"user:pw@host", "xxxxx@host"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arqhost/arqhost/internal/broker"
)

var (
	amqpSchemes  = []string{"amqp", "amqps"}
	redisSchemes = []string{"redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}
)

// Validate checks c's values against their limits and normalises LogLevel ("WARNING" → "warn"),
// LogFormat ("structured" → "json") and Lang to lower case. Load calls it on the merged values;
// errors name the YAML key of the setting, e.g. "worker.max_workers: must be at least 1, got 0".
func (c *Config) Validate() error {
	return errors.Join(validate(c, defaultOrigins())...)
}

// validate checks c, attributing each error to the origin of the offending field.
func validate(c *Config, origins map[string]origin) []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, origins[name].errorf(format, args...))
	}
	atLeast := func(name string, v, lo int) {
		if v < lo {
			bad(name, "must be at least %d, got %d", lo, v)
		}
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			bad(name, "must be greater than 0, got %s", formatDuration(d))
		}
	}

	if msg := checkURL(c.RabbitMQURL, amqpSchemes, true); msg != "" {
		bad("RabbitMQURL", "%s", msg)
	}
	if c.Prefetch < 1 || c.Prefetch > MaxPrefetch {
		bad("Prefetch", "must be between 1 and %d, got %d", MaxPrefetch, c.Prefetch)
	}
	positive("ConnectionTimeout", c.ConnectionTimeout)
	for _, msg := range checkQueues(c.Queues) {
		bad("Queues", "%s", msg)
	}
	atLeast("Concurrency", c.Concurrency, 1)
	positive("JobTimeout", c.JobTimeout)
	atLeast("MaxRetries", c.MaxRetries, 0)
	if c.RetryBackoff < 0 {
		bad("RetryBackoff", "must not be negative, got %s", formatDuration(c.RetryBackoff))
	}
	if c.MemoryLimit < MinMemoryLimit || c.MemoryLimit > MaxMemoryLimit {
		bad("MemoryLimit", "must be between 64KiB (one WebAssembly page) and 4GiB, got %s", formatSize(c.MemoryLimit))
	}
	positive("BurstTimeout", c.BurstTimeout)
	positive("ShutdownGrace", c.ShutdownGrace)
	if c.InProgressAfter < 0 {
		bad("InProgressAfter", "must not be negative, got %s", formatDuration(c.InProgressAfter))
	}
	if c.ModulesPoll < 0 {
		bad("ModulesPoll", "must not be negative, got %s", formatDuration(c.ModulesPoll))
	}
	if c.ModulesDir == "" {
		bad("ModulesDir", "must not be empty")
	}
	if c.ResultStorage {
		if c.RedisURL == "" {
			bad("ResultStorage", "result storage is enabled but the store URL is empty (%s)", origins["RedisURL"].describe())
		} else if msg := checkURL(c.RedisURL, redisSchemes, false); msg != "" {
			bad("RedisURL", "%s", msg)
		}
		positive("ResultTTL", c.ResultTTL)
		if c.KeyPrefix == "" {
			bad("KeyPrefix", "must not be empty")
		}
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || !validPort(port) {
			bad("MetricsAddr", "%q is not host:port (e.g. :9090 or 127.0.0.1:9090)", c.MetricsAddr)
		}
	}

	switch l := strings.ToLower(strings.TrimSpace(c.LogLevel)); l {
	case "debug", "info", "warn", "error":
		c.LogLevel = l
	case "warning":
		c.LogLevel = "warn"
	default:
		bad("LogLevel", "%q is not a log level (use debug, info, warn or error)", c.LogLevel)
	}
	switch f := strings.ToLower(strings.TrimSpace(c.LogFormat)); f {
	case "text", "json":
		c.LogFormat = f
	case "structured":
		c.LogFormat = "json"
	default:
		bad("LogFormat", "%q is not a log format (use text or json)", c.LogFormat)
	}
	switch g := strings.ToLower(strings.TrimSpace(c.Lang)); g {
	case "en", "zh":
		c.Lang = g
	default:
		bad("Lang", "%q is not a language (use en or zh)", c.Lang)
	}
	return errs
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// checkURL returns why raw is not a URL with one of schemes, or "". strict also requires
// net/url to parse it (Redis URLs may list several hosts, which net/url refuses).
func checkURL(raw string, schemes []string, strict bool) string {
	want := strings.Join(schemes, "://, ") + "://"
	if i := strings.LastIndex(want, ", "); i >= 0 {
		want = want[:i] + " or " + want[i+2:]
	}
	if raw == "" {
		return "must not be empty (use " + want + ")"
	}
	i := strings.Index(raw, "://")
	if i <= 0 {
		return fmt.Sprintf("%q is not a URL (use %s)", Redact(raw), want)
	}
	scheme := strings.ToLower(raw[:i])
	ok := false
	for _, s := range schemes {
		ok = ok || s == scheme
	}
	if !ok {
		return fmt.Sprintf("%q has scheme %q (use %s)", Redact(raw), raw[:i], want)
	}
	if broker.AtAfterHost(raw) {
		return fmt.Sprintf("%q has an @ after the host: percent-encode @ as %%40 in the password, the path or the query "+
			"(a password holding an unencoded / ? or # is cut there, and the rest is taken for the host)", Redact(raw))
	}
	if strict {
		if _, err := url.Parse(raw); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			// url.Parse quotes the part it could not read, which for a password written without
			// percent-encoding is the password or a piece of it: then say what is wrong without it.
			if quotesUserinfo(raw[i+3:], err.Error()) {
				return fmt.Sprintf("%q is not a valid URL (a user name or password holding reserved characters such as @ / : %% # ? must be percent-encoded)", Redact(raw))
			}
			return fmt.Sprintf("%q is not a valid URL: %s", Redact(raw), Redact(err.Error()))
		}
	}
	return ""
}

// quotesUserinfo reports whether msg holds four or more characters in a row of what may be the
// user name and password of a URL (rest is the URL after "://": up to its last "@").
func quotesUserinfo(rest, msg string) bool {
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return false
	}
	userinfo := rest[:at]
	for k := 0; k+4 <= len(userinfo); k++ {
		if strings.Contains(msg, userinfo[k:k+4]) {
			return true
		}
	}
	return len(userinfo) > 0 && len(userinfo) < 4 && strings.Contains(msg, userinfo)
}

// checkQueues returns what is wrong with a list of queue names.
func checkQueues(queues []string) []string {
	if len(queues) == 0 {
		return []string{"at least one queue is needed"}
	}
	var msgs []string
	seen := make(map[string]bool, len(queues))
	for _, q := range queues {
		switch {
		case q == "":
			msgs = append(msgs, "a queue name must not be empty")
		case len(q) > MaxQueueNameBytes:
			msgs = append(msgs, fmt.Sprintf("queue name %.40q… is %d bytes; the limit is %d", q, len(q), MaxQueueNameBytes))
		case strings.HasPrefix(q, "amq."):
			msgs = append(msgs, fmt.Sprintf("queue name %q starts with amq., which RabbitMQ reserves", q))
		case seen[q]:
			msgs = append(msgs, fmt.Sprintf("queue %q is listed twice", q))
		}
		seen[q] = true
	}
	return msgs
}

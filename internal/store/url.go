package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode is the kind of Redis deployment a URL points at.
type Mode string

// The deployments Open can connect to.
const (
	ModeStandalone Mode = "standalone" // one server (redis://, rediss://)
	ModeSentinel   Mode = "sentinel"   // a master found through Sentinel (redis-sentinel://)
	ModeCluster    Mode = "cluster"    // Redis Cluster (redis-cluster://)
)

// Default ports per scheme.
const (
	defaultRedisPort    = "6379"
	defaultSentinelPort = "26379"
)

// ParseURL turns a Redis URL into go-redis options for redis.NewUniversalClient and reports which
// deployment it describes. The forms are:
//
//	redis://[[user]:password@]host[:port][/db][?params]          one server
//	rediss://...                                                  the same over TLS
//	redis-sentinel://[[user]:password@]h1[:port],h2[:port][/db]?master=NAME[&params]
//	rediss-sentinel://...                                         the same over TLS
//	redis-cluster://[[user]:password@]h1[:port],h2[:port][?params]
//	rediss-cluster://...                                          the same over TLS
//
// Ports default to 6379 (26379 for the Sentinel addresses); IPv6 hosts are written in brackets,
// [::1]:6379. The user name and password (percent-encoded if they contain reserved characters)
// authenticate to the Redis servers that hold the data: the single server, the Sentinel-managed
// master and replicas, or every cluster node. Sentinels that require their own credentials take
// them from the sentinel_username and sentinel_password parameters. The database number is the
// path or the db parameter; Redis Cluster only has database 0.
//
// Parameters (all optional unless noted):
//
//	db                 database number (standalone, sentinel)
//	master             Sentinel master name; required for redis-sentinel:// (alias master_name)
//	sentinel_username  user name for the Sentinels
//	sentinel_password  password for the Sentinels
//	client_name        CLIENT SETNAME for every connection
//	protocol           RESP version, 2 or 3
//	dial_timeout, read_timeout, write_timeout, pool_timeout
//	                   durations: "500ms", "3s", or a number of seconds ("2", "0.5")
//	pool_size, min_idle_conns, max_retries
//	                   integers
//
// An unknown parameter is an error, so that a misspelt option is not silently ignored. Errors
// never contain the password: they quote the URL through Redact.
func ParseURL(rawURL string) (*redis.UniversalOptions, Mode, error) {
	fail := func(format string, args ...any) (*redis.UniversalOptions, Mode, error) {
		return nil, "", fmt.Errorf("store: invalid Redis URL %s: %s", Redact(rawURL), fmt.Sprintf(format, args...))
	}
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return fail("missing scheme (want redis://, rediss://, redis-sentinel:// or redis-cluster://)")
	}
	scheme, rest := strings.ToLower(rawURL[:i]), rawURL[i+3:]
	var (
		mode        Mode
		useTLS      bool
		defaultPort = defaultRedisPort
	)
	switch scheme {
	case "redis", "rediss":
		mode = ModeStandalone
	case "redis-sentinel", "rediss-sentinel":
		mode, defaultPort = ModeSentinel, defaultSentinelPort
	case "redis-cluster", "rediss-cluster":
		mode = ModeCluster
	default:
		return fail("unsupported scheme %q (want redis://, rediss://, redis-sentinel:// or redis-cluster://)", scheme)
	}
	useTLS = strings.HasPrefix(scheme, "rediss")
	if strings.Contains(rest, "#") {
		return fail("a fragment (#...) is not allowed; percent-encode '#' in a password as %%23")
	}

	// authority / path / query, with net/url's rules: the authority ends at the first '/' or '?'.
	authority, tail := rest, ""
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		authority, tail = rest[:j], rest[j:]
	}
	path, rawQuery := tail, ""
	if j := strings.IndexByte(tail, '?'); j >= 0 {
		path, rawQuery = tail[:j], tail[j+1:]
	}

	opt := &redis.UniversalOptions{}
	hostPart := authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		hostPart = authority[at+1:]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		var err error
		if opt.Username, err = url.PathUnescape(user); err != nil {
			return fail("bad percent-encoding in the user name")
		}
		if hasPass {
			if opt.Password, err = url.PathUnescape(pass); err != nil {
				return fail("bad percent-encoding in the password")
			}
		}
	}

	addrs, err := parseHosts(hostPart, defaultPort)
	if err != nil {
		return fail("%v", err)
	}
	if mode == ModeStandalone && len(addrs) > 1 {
		return fail("several hosts need redis-cluster:// or redis-sentinel://")
	}
	opt.Addrs = addrs

	db := -1
	switch p := strings.Trim(path, "/"); {
	case p == "":
	case strings.Contains(p, "/"):
		return fail("the path must be a database number")
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return fail("the path must be a database number")
		}
		db = n
	}

	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fail("bad query string")
	}
	// Process parameters in a fixed order so that errors are deterministic.
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := q.Get(name)
		var perr error
		switch name {
		case "db":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				perr = errors.New("must be a database number")
			} else if db >= 0 && db != n {
				perr = errors.New("disagrees with the path")
			} else {
				db = n
			}
		case "master", "master_name":
			if mode != ModeSentinel {
				perr = errors.New("only applies to redis-sentinel://")
			} else if opt.MasterName != "" && opt.MasterName != v {
				perr = errors.New("given twice")
			} else {
				opt.MasterName = v
			}
		case "sentinel_username", "sentinel_password":
			if mode != ModeSentinel {
				perr = errors.New("only applies to redis-sentinel://")
			} else if name == "sentinel_username" {
				opt.SentinelUsername = v
			} else {
				opt.SentinelPassword = v
			}
		case "client_name":
			opt.ClientName = v
		case "protocol":
			n, err := strconv.Atoi(v)
			if err != nil || (n != 2 && n != 3) {
				perr = errors.New("must be 2 or 3")
			}
			opt.Protocol = n
		case "dial_timeout":
			opt.DialTimeout, perr = parseSeconds(v)
		case "read_timeout":
			opt.ReadTimeout, perr = parseSeconds(v)
		case "write_timeout":
			opt.WriteTimeout, perr = parseSeconds(v)
		case "pool_timeout":
			opt.PoolTimeout, perr = parseSeconds(v)
		case "pool_size":
			opt.PoolSize, perr = parseCount(v)
		case "min_idle_conns":
			opt.MinIdleConns, perr = parseCount(v)
		case "max_retries":
			opt.MaxRetries, perr = strconv.Atoi(v)
			if perr != nil {
				perr = errors.New("must be an integer")
			}
		default:
			perr = errors.New("unknown parameter")
		}
		if perr != nil {
			return fail("parameter %s: %v", name, perr)
		}
	}

	switch mode {
	case ModeSentinel:
		if opt.MasterName == "" {
			return fail("redis-sentinel:// needs the master name: ?master=NAME")
		}
	case ModeCluster:
		if db > 0 {
			return fail("Redis Cluster only has database 0")
		}
		opt.IsClusterMode = true
	}
	if db > 0 {
		opt.DB = db
	}
	if useTLS {
		// ServerName is left empty: crypto/tls takes it from each address dialled, which is what a
		// multi-host URL needs. Open replaces this with Options.TLSConfig when one is given.
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opt, mode, nil
}

// parseHosts splits "h1:p1,h2,[::1]:p3" into host:port addresses.
func parseHosts(s, defaultPort string) ([]string, error) {
	if s == "" {
		return nil, errors.New("missing host")
	}
	var addrs []string
	for _, h := range strings.Split(s, ",") {
		if h == "" {
			return nil, errors.New("empty host in the host list")
		}
		host, port := h, ""
		switch {
		case strings.HasPrefix(h, "["):
			end := strings.IndexByte(h, ']')
			if end < 0 {
				return nil, errors.New("unclosed '[' in an IPv6 host")
			}
			host, port = h[1:end], h[end+1:]
			if port != "" {
				if !strings.HasPrefix(port, ":") {
					return nil, errors.New("garbage after an IPv6 host")
				}
				port = port[1:]
			}
		case strings.Count(h, ":") > 1:
			return nil, errors.New("an IPv6 host must be written in brackets, [::1]:6379")
		case strings.Contains(h, ":"):
			host, port, _ = strings.Cut(h, ":")
		}
		if host == "" {
			return nil, errors.New("missing host")
		}
		if port == "" {
			port = defaultPort
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("a port must be a number from 1 to 65535")
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// parseSeconds reads "500ms", "3s" or a plain number of seconds ("2", "0.5").
func parseSeconds(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, errors.New(`must be a duration ("500ms", "3s") or a number of seconds`)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func parseCount(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errors.New("must be a non-negative integer")
	}
	return n, nil
}

// secretParam matches the value of a query parameter whose name suggests a secret.
var secretParam = regexp.MustCompile(`(?i)([?&][^=&#]*(?:pass|secret|token|auth|key)[^=&#]*=)[^&#]*`)

// redactedSecret replaces every secret Redact hides.
const redactedSecret = "xxxxx"

// Redact returns rawURL with its password hidden, for logs and error messages: the password of
// the user-info part becomes "xxxxx" (the user name stays), and so does the value of any query
// parameter whose name contains "pass", "secret", "token", "auth" or "key" (sentinel_password).
// It works on malformed URLs too, erring on the side of hiding more: the user info is taken to end
// at the last '@', and a string without "://" that contains '@' loses everything before it.
func Redact(rawURL string) string {
	out := rawURL
	if i := strings.Index(out, "://"); i >= 0 {
		head, rest := out[:i+3], out[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if c := strings.IndexByte(rest[:at], ':'); c >= 0 {
				out = head + rest[:c] + ":" + redactedSecret + rest[at:]
			}
		}
	} else if at := strings.LastIndexByte(out, '@'); at >= 0 {
		out = redactedSecret + out[at:]
	}
	return secretParam.ReplaceAllString(out, "${1}"+redactedSecret)
}

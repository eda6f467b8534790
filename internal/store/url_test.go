package store

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	type want struct {
		mode                   Mode
		addrs                  []string
		db                     int
		user, pass             string
		sentUser, sentPass     string
		master                 string
		cluster, tls           bool
		clientName             string
		protocol               int
		dial, read, write, poo time.Duration
		poolSize, minIdle      int
		maxRetries             int
	}
	cases := []struct {
		url  string
		want want
	}{
		{"redis://127.0.0.1:6379/0", want{mode: ModeStandalone, addrs: []string{"127.0.0.1:6379"}}},
		{"redis://localhost", want{mode: ModeStandalone, addrs: []string{"localhost:6379"}}},
		{"redis://localhost/", want{mode: ModeStandalone, addrs: []string{"localhost:6379"}}},
		{"REDIS://h:1/3", want{mode: ModeStandalone, addrs: []string{"h:1"}, db: 3}},
		{"redis://user:p%40ss%3Aw@redis.example.com:6380/2", want{
			mode: ModeStandalone, addrs: []string{"redis.example.com:6380"}, db: 2, user: "user", pass: "p@ss:w"}},
		{"redis://:secret@h/1", want{mode: ModeStandalone, addrs: []string{"h:6379"}, db: 1, pass: "secret"}},
		{"redis://u:p@ss@h", want{mode: ModeStandalone, addrs: []string{"h:6379"}, user: "u", pass: "p@ss"}},
		{"redis://h?db=4", want{mode: ModeStandalone, addrs: []string{"h:6379"}, db: 4}},
		{"redis://h/4?db=4", want{mode: ModeStandalone, addrs: []string{"h:6379"}, db: 4}},
		{"rediss://user:pass@h:6380/1", want{
			mode: ModeStandalone, addrs: []string{"h:6380"}, db: 1, user: "user", pass: "pass", tls: true}},
		{"redis://[::1]:7000/0", want{mode: ModeStandalone, addrs: []string{"[::1]:7000"}}},
		{"redis://[::1]", want{mode: ModeStandalone, addrs: []string{"[::1]:6379"}}},
		{"redis://h?client_name=arq&protocol=2&dial_timeout=2&read_timeout=500ms&write_timeout=1.5" +
			"&pool_timeout=3s&pool_size=7&min_idle_conns=2&max_retries=-1", want{
			mode: ModeStandalone, addrs: []string{"h:6379"}, clientName: "arq", protocol: 2,
			dial: 2 * time.Second, read: 500 * time.Millisecond, write: 1500 * time.Millisecond,
			poo: 3 * time.Second, poolSize: 7, minIdle: 2, maxRetries: -1}},
		{"redis-sentinel://:pw@s1:26379,s2,s3:26380/2?master=mymaster", want{
			mode: ModeSentinel, addrs: []string{"s1:26379", "s2:26379", "s3:26380"}, db: 2, pass: "pw",
			master: "mymaster"}},
		{"redis-sentinel://s1?master_name=m&sentinel_username=su&sentinel_password=sp", want{
			mode: ModeSentinel, addrs: []string{"s1:26379"}, master: "m", sentUser: "su", sentPass: "sp"}},
		{"rediss-sentinel://u:p@s1:5000/0?master=m", want{
			mode: ModeSentinel, addrs: []string{"s1:5000"}, user: "u", pass: "p", master: "m", tls: true}},
		{"redis-cluster://host1:7000,host2:7001", want{
			mode: ModeCluster, addrs: []string{"host1:7000", "host2:7001"}, cluster: true}},
		{"redis-cluster://host1", want{mode: ModeCluster, addrs: []string{"host1:6379"}, cluster: true}},
		{"rediss-cluster://u:p@host1:7000,[fe80::1]:7001/0", want{
			mode: ModeCluster, addrs: []string{"host1:7000", "[fe80::1]:7001"}, cluster: true, user: "u", pass: "p", tls: true}},
	}
	for _, tc := range cases {
		opt, mode, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%s): %v", tc.url, err)
			continue
		}
		w := tc.want
		got := want{
			mode: mode, addrs: opt.Addrs, db: opt.DB, user: opt.Username, pass: opt.Password,
			sentUser: opt.SentinelUsername, sentPass: opt.SentinelPassword, master: opt.MasterName,
			cluster: opt.IsClusterMode, tls: opt.TLSConfig != nil, clientName: opt.ClientName,
			protocol: opt.Protocol, dial: opt.DialTimeout, read: opt.ReadTimeout, write: opt.WriteTimeout,
			poo: opt.PoolTimeout, poolSize: opt.PoolSize, minIdle: opt.MinIdleConns, maxRetries: opt.MaxRetries,
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("ParseURL(%s):\n got %+v\nwant %+v", tc.url, got, w)
		}
		if opt.TLSConfig != nil && opt.TLSConfig.ServerName != "" {
			t.Errorf("ParseURL(%s): TLS ServerName %q, want empty (taken from each address)", tc.url, opt.TLSConfig.ServerName)
		}
	}
}

// The options must make redis.NewUniversalClient build the right kind of client. Creating a
// client does not connect, so no Sentinel or Cluster is needed.
func TestParseURLClientKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url     string
		cluster bool
	}{
		{"redis://127.0.0.1:1/0", false},
		{"redis-sentinel://127.0.0.1:1,127.0.0.1:2?master=m", false},
		{"redis-cluster://127.0.0.1:1", true},
		{"redis-cluster://127.0.0.1:1,127.0.0.1:2", true},
	} {
		opt, _, err := ParseURL(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewUniversalClient(opt)
		_, isCluster := c.(*redis.ClusterClient)
		_, isClient := c.(*redis.Client)
		if isCluster != tc.cluster || isClient == tc.cluster {
			t.Errorf("%s: client %T", tc.url, c)
		}
		_ = c.Close()
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"",
		"127.0.0.1:6379",
		"http://h",
		"unix:///tmp/redis.sock",
		"redis://",
		"redis://h:0",
		"redis://h:99999",
		"redis://h:port",
		"redis://::1:6379",
		"redis://[::1:6379",
		"redis://h1,h2",
		"redis://h,",
		"redis://h/x",
		"redis://h/1/2",
		"redis://h/-1",
		"redis://h/1?db=2",
		"redis://h?db=x",
		"redis://h?unknown=1",
		"redis://h?dial_timeout=soon",
		"redis://h?protocol=4",
		"redis://h?pool_size=-2",
		"redis://h?master=m",
		"redis://h?sentinel_password=x",
		"redis://h?%zz",
		"redis://h#frag",
		"redis://u:%zz@h",
		"redis-sentinel://s1,s2",
		"redis-sentinel://s1?master=a&master_name=b",
		"redis-cluster://h1,h2/1",
	} {
		if _, _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
	// Errors quote the URL redacted.
	_, _, err := ParseURL("redis://admin:hunter2@h:badport/0")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "admin:xxxxx@h:badport") {
		t.Fatalf("error %v", err)
	}
	_, _, err = ParseURL("redis-sentinel://s1?sentinel_password=hunter2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"redis://127.0.0.1:6379/0":                    "redis://127.0.0.1:6379/0",
		"redis://user:secret@127.0.0.1:1/0":           "redis://user:xxxxx@127.0.0.1:1/0",
		"redis://:secret@h":                           "redis://:xxxxx@h",
		"rediss://user:p%40ss@h:6380/1?client_name=x": "rediss://user:xxxxx@h:6380/1?client_name=x",
		"redis://user@h":                              "redis://user@h",
		"redis://u:se:cr@et@h/0":                      "redis://u:xxxxx@h/0",
		"redis://u:se/cr?et@h/0":                      "redis://u:xxxxx@h/0",
		"redis-sentinel://:pw@s1,s2/0?master=m&sentinel_password=spw&db=0": "redis-sentinel://:xxxxx@s1,s2/0?master=m&sentinel_password=xxxxx&db=0",
		"redis://h?password=pw": "redis://h?password=xxxxx",
		"user:secret@host:6379": "xxxxx@host:6379",
		"not a url":             "not a url",
		"":                      "",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

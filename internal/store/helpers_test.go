package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testURL is the Redis the tests use: ARQ_TEST_REDIS_URL, or the local server.
func testURL() string {
	if v := os.Getenv("ARQ_TEST_REDIS_URL"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

// uniquePrefix returns a key prefix no other test (or test run) uses.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("arqtest:%s:%016x", t.Name(), rand.Uint64())
}

// openStore opens a Store on the test Redis with a unique prefix (unless opt has one) and
// registers cleanup: the prefix's keys are deleted and the store closed.
func openStore(t *testing.T, opt Options) *Store {
	t.Helper()
	return openStoreURL(t, testURL(), opt)
}

func openStoreURL(t *testing.T, url string, opt Options) *Store {
	t.Helper()
	if opt.Prefix == "" {
		opt.Prefix = uniquePrefix(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := Open(ctx, url, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		// A client of its own: the test may have closed the store.
		uopt, _, err := ParseURL(url)
		if err != nil {
			t.Error(err)
			return
		}
		c := redis.NewUniversalClient(uopt)
		defer c.Close()
		deletePrefix(t, c, s.Prefix())
		_ = s.Close()
	})
	return s
}

// escapeGlob escapes the characters SCAN MATCH treats specially.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// deletePrefix deletes every key under prefix+":" (tests only: it SCANs the keyspace).
func deletePrefix(t *testing.T, c redis.UniversalClient, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, escapeGlob(prefix)+":*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) == 0 {
			return
		}
		pipe := c.Pipeline()
		for _, k := range batch {
			pipe.Del(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Errorf("cleanup of %s: %v", prefix, err)
		}
		batch = batch[:0]
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) >= 500 {
			flush()
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("cleanup scan of %s: %v", prefix, err)
	}
	flush()
}

// testCtx is a context that ends with the test or after d.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func ptr[T any](v T) *T { return &v }

// newID returns a random job id (uuid4 hex style).
func newID() string { return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64()) }

// rec builds a minimal record.
func rec(id string, st Status, try int) *Record {
	return &Record{
		JobID:        id,
		Status:       st,
		JobTry:       try,
		QueueName:    "default",
		FunctionName: "task",
		Args:         json.RawMessage(`[1]`),
		CreatedAt:    time.Date(2026, 1, 15, 10, 30, 0, 123456000, time.UTC),
	}
}

// rawStatus returns the bare status key's value ("" if missing).
func rawStatus(t *testing.T, s *Store, id string) string {
	t.Helper()
	v, err := s.Client().Get(context.Background(), s.StatusKey(id)).Result()
	if err == redis.Nil {
		return ""
	}
	if err != nil {
		t.Fatalf("GET status: %v", err)
	}
	return v
}

// mustWrite writes r and checks that the outcome is want.
func mustWrite(t *testing.T, s *Store, r *Record, want bool) {
	t.Helper()
	got, err := s.Write(context.Background(), r)
	if err != nil {
		t.Fatalf("Write(%s try %d): %v", r.Status, r.JobTry, err)
	}
	if got != want {
		t.Fatalf("Write(%s try %d) applied = %v, want %v", r.Status, r.JobTry, got, want)
	}
}

// mustGet reads a record.
func mustGet(t *testing.T, s *Store, id string) *Record {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// bothLayouts runs test on a store that writes a job's two keys with one script (one server) and
// on one that writes them the Redis Cluster way, with single-key scripts in turn, so that both
// paths are held to the same behaviour on the local server.
func bothLayouts(t *testing.T, test func(*testing.T, *Store)) {
	t.Parallel()
	for _, split := range []bool{false, true} {
		name := "one-server"
		if split {
			name = "cluster-layout"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, Options{})
			s.split = split
			test(t, s)
		})
	}
}

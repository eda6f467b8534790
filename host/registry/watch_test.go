package registry

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/arqhost/arqhost/host/wasm"
)

// watched starts watching r and collects every reload's report.
type watched struct {
	mu      sync.Mutex
	reports []Report
	errs    []error
}

func (w *watched) refused() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Event
	for _, r := range w.reports {
		for _, e := range r.Events {
			if e.Kind == Refused {
				out = append(out, e)
			}
		}
	}
	return out
}

func watch(t *testing.T, r *Registry, debounce time.Duration) *watched {
	t.Helper()
	w := &watched{}
	stop, err := r.Watch(context.Background(), WatchOptions{Debounce: debounce, OnReload: func(rep Report, err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.reports = append(w.reports, rep)
		if err != nil {
			w.errs = append(w.errs, err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return w
}

// serving waits until wat_tagged is served by version v.
func serving(t *testing.T, r *Registry, v string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if m, ok := r.Lookup("wat_tagged"); ok && m.Version() == v {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("version %.12s not serving after 10s", v)
	return 0
}

func TestWatchPicksUpChanges(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	w := watch(t, r, 50*time.Millisecond)
	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	took := serving(t, r, wasm.VersionOf(tagged(t, "v002")))
	t.Logf("replaced file served after %v", took)
	// Removal.
	if err := os.Remove(filepath.Join(dir, "tagged.wasm")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := r.Lookup("wat_tagged"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("removed module still served")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ev := w.refused(); len(ev) != 0 {
		t.Fatalf("refused: %+v", ev)
	}
}

// TestWatchNeverLoadsAHalfWrittenFile writes a module in place, slowly, in chunks: the watcher must
// wait for the file to settle rather than try (and refuse) a partial module.
func TestWatchNeverLoadsAHalfWrittenFile(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	w := watch(t, r, 150*time.Millisecond)
	b := tagged(t, "v002")
	f, err := os.OpenFile(filepath.Join(dir, "tagged.wasm"), os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	chunk := len(b)/8 + 1
	for off := 0; off < len(b); off += chunk {
		if _, err := f.Write(b[off:min(off+chunk, len(b))]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond) // slower than the debounce overall, each pause shorter
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	serving(t, r, wasm.VersionOf(b))
	if ev := w.refused(); len(ev) != 0 {
		t.Fatalf("a partial file was tried: %+v", ev[0].Err)
	}
}

// TestWatchSeesChangesBeforeItStarted: a file replaced between Load and Watch is picked up.
func TestWatchSeesChangesBeforeItStarted(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	old := time.Now().Add(-time.Minute)
	_ = os.Chtimes(filepath.Join(dir, "tagged.wasm"), old, old)
	watch(t, r, 30*time.Millisecond)
	serving(t, r, wasm.VersionOf(tagged(t, "v002")))
}

// TestWatchFollowsASwitchedSymlink: deployments that switch a symlink to a new release directory
// (ln -sfn) are seen, and so are changes inside the new directory afterwards.
func TestWatchFollowsASwitchedSymlink(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	noop := mustRead(t, built(t, "ARQHOST_FIXTURES", "fixtures", "noop"))
	release := func(name, tag string) string {
		d := filepath.Join(root, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		install(t, d, "noop.wasm", noop)
		install(t, d, "tagged.wasm", tagged(t, tag))
		return d
	}
	link := filepath.Join(root, "current")
	if err := os.Symlink(release("r1", "v001"), link); err != nil {
		t.Fatal(err)
	}
	r, err := Load(context.Background(), engine(t), link)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	watch(t, r, 30*time.Millisecond)
	r2 := release("r2", "v002")
	tmp := filepath.Join(root, "current.tmp")
	if err := os.Symlink(r2, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	serving(t, r, wasm.VersionOf(tagged(t, "v002")))
	install(t, r2, "tagged.wasm", tagged(t, "v003"))
	serving(t, r, wasm.VersionOf(tagged(t, "v003")))
}

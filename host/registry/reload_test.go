package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arqhost/arqhost/host/wasm"
)

// tagged returns the wat_tagged fixture patched to answer tag (four bytes, e.g. "v001"): each tag
// is another version of the module, whose results show which code ran.
func tagged(t testing.TB, tag string) []byte {
	t.Helper()
	b, err := os.ReadFile(built(t, "ARQHOST_FIXTURES", "fixtures", "tagged"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tag) != 4 || bytes.Count(b, []byte("v000")) != 1 {
		t.Fatalf("cannot patch the tagged fixture with %q", tag)
	}
	return bytes.Replace(b, []byte("v000"), []byte(tag), 1)
}

// install writes b to dir/name the way operators should: into a temporary file, then renamed.
func install(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// runTagged runs wat_tagged on m and returns the tag it answered with.
func runTagged(t testing.TB, m *wasm.Module) (string, wasm.Outcome) {
	o := m.Invoke(context.Background(), input("wat_tagged", `{}`))
	var tag string
	if o.Kind == wasm.Success {
		_ = json.Unmarshal(o.Result, &tag)
	}
	return tag, o
}

func kinds(rep Report) string {
	var s []string
	for _, e := range rep.Events {
		s = append(s, string(e.Kind)+":"+e.Module)
	}
	return strings.Join(s, ",")
}

func loadTagged(t *testing.T, tag string) (*Registry, string) {
	t.Helper()
	dir := dirWith(t, map[string]string{"noop.wasm": built(t, "ARQHOST_FIXTURES", "fixtures", "noop")})
	install(t, dir, "tagged.wasm", tagged(t, tag))
	r, err := Load(context.Background(), engine(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r, dir
}

func TestReplaceDrainsTheOldVersion(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	var events []Event
	var mu sync.Mutex
	closed := make(chan Event, 1)
	r.Notify(func(ev Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		if ev.Kind == Closed {
			closed <- ev
		}
	})
	held, ok := r.Acquire("wat_tagged") // a job running on v001 during the swap
	if !ok {
		t.Fatal("wat_tagged not served")
	}
	oldVersion := held.Module().Version()

	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	rep, err := r.Reload(context.Background(), ReloadOptions{})
	if err != nil || kinds(rep) != "replaced:tagged" || rep.Unchanged != 1 {
		t.Fatalf("reload: %v %s unchanged=%d", err, kinds(rep), rep.Unchanged)
	}
	if ev := rep.Events[0]; ev.OldVersion != oldVersion || ev.Version != wasm.VersionOf(tagged(t, "v002")) {
		t.Fatalf("versions: %+v", ev)
	}
	// New jobs run on v002 ...
	l, _ := r.Acquire("wat_tagged")
	if tag, o := runTagged(t, l.Module()); tag != "v002" || o.Version != rep.Events[0].Version {
		t.Fatalf("new job ran %q on %s", tag, o.Version)
	}
	l.Release()
	// ... the job holding v001 still finishes on it, and v001 drains then.
	if tag, o := runTagged(t, held.Module()); tag != "v001" || o.Version != oldVersion {
		t.Fatalf("held job ran %q (%s %s)", tag, o.Kind, o.Reason)
	}
	if d := r.Draining(); len(d) != 1 || d[0].Version() != oldVersion {
		t.Fatalf("draining: %v", d)
	}
	select {
	case <-closed:
		t.Fatal("the old version closed while a job held it")
	case <-time.After(50 * time.Millisecond):
	}
	held.Release()
	select {
	case ev := <-closed:
		if ev.Version != oldVersion {
			t.Fatalf("closed %s", ev.Version)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the old version was not closed after its last job")
	}
	if st := held.Module().Stats(); st.Live != 0 {
		t.Fatalf("old instances left: %+v", st)
	}
	if len(r.Draining()) != 0 {
		t.Fatal("still draining")
	}
	// An unchanged directory changes nothing.
	if rep, err := r.Reload(context.Background(), ReloadOptions{}); err != nil || len(rep.Events) != 0 || rep.Unchanged != 2 {
		t.Fatalf("second reload: %v %s", err, kinds(rep))
	}
}

func TestBrokenReplacementIsRefused(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	good := wasm.VersionOf(tagged(t, "v001"))
	for name, b := range map[string][]byte{
		"truncated":      tagged(t, "v002")[:100],
		"not wasm":       []byte("#!/bin/sh\necho hi\n"),
		"wrong abi":      mustRead(t, built(t, "ARQHOST_FIXTURES", "fixtures", "abi2")),
		"foreign import": mustRead(t, built(t, "ARQHOST_FIXTURES", "fixtures", "badimport")),
	} {
		install(t, dir, "tagged.wasm", b)
		rep, err := r.Reload(context.Background(), ReloadOptions{})
		if err != nil || kinds(rep) != "refused:tagged" || rep.Events[0].Err == nil || rep.Events[0].OldVersion != good {
			t.Fatalf("%s: %v %s", name, err, kinds(rep))
		}
		if !strings.Contains(rep.Events[0].Err.Error(), "tagged.wasm") {
			t.Errorf("%s: error does not name the file: %v", name, rep.Events[0].Err)
		}
		m, _ := r.Lookup("wat_tagged")
		if tag, _ := runTagged(t, m); tag != "v001" {
			t.Fatalf("%s: old version not serving: %q", name, tag)
		}
	}
	// A bad sidecar is refused too.
	install(t, dir, "tagged.wasm", tagged(t, "v001"))
	if err := os.WriteFile(filepath.Join(dir, "tagged.yaml"), []byte("timeout: never\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, _ := r.Reload(context.Background(), ReloadOptions{}); kinds(rep) != "refused:tagged" || !strings.Contains(rep.Err().Error(), "tagged.yaml") {
		t.Fatalf("bad sidecar: %s %v", kinds(rep), rep.Err())
	}
	// A fixed sidecar changes the limits: the same bytes with new limits is a new version.
	if err := os.WriteFile(filepath.Join(dir, "tagged.yaml"), []byte("timeout: 7s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Reload(context.Background(), ReloadOptions{})
	if err != nil || kinds(rep) != "replaced:tagged" {
		t.Fatalf("sidecar change: %v %s", err, kinds(rep))
	}
	if m, _ := r.Lookup("wat_tagged"); m.Limits().Timeout != 7*time.Second {
		t.Fatalf("limits not applied: %v", m.Limits())
	}
}

func mustRead(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAddRemoveAndClash(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	// A new module claiming a task already served is refused; the server keeps it.
	install(t, dir, "again.wasm", tagged(t, "v009"))
	rep, err := r.Reload(context.Background(), ReloadOptions{})
	var clash *ClashError
	if err != nil || kinds(rep) != "refused:again" || !errors.As(rep.Events[0].Err, &clash) {
		t.Fatalf("clash: %v %s", err, kinds(rep))
	}
	if m, _ := r.Lookup("wat_tagged"); m.Name() != "tagged" {
		t.Fatalf("clash moved the task to %s", m.Name())
	}
	if err := os.Remove(filepath.Join(dir, "again.wasm")); err != nil {
		t.Fatal(err)
	}
	// Adding a module serves its tasks.
	install(t, dir, "fib.wasm", mustRead(t, built(t, "ARQHOST_FIXTURES", "fixtures", "fib")))
	rep, err = r.Reload(context.Background(), ReloadOptions{})
	if err != nil || kinds(rep) != "added:fib" {
		t.Fatalf("add: %v %s", err, kinds(rep))
	}
	if _, ok := r.Lookup("wat_fib"); !ok {
		t.Fatalf("fib's task not served: %v", r.Tasks())
	}
	// Removing one stops its tasks; a job holding it finishes first.
	held, _ := r.Acquire("wat_tagged")
	if err := os.Remove(filepath.Join(dir, "tagged.wasm")); err != nil {
		t.Fatal(err)
	}
	rep, err = r.Reload(context.Background(), ReloadOptions{})
	if err != nil || kinds(rep) != "removed:tagged" {
		t.Fatalf("remove: %v %s", err, kinds(rep))
	}
	if o := r.Invoke(context.Background(), input("wat_tagged", `{}`)); o.Kind != wasm.UnknownTask {
		t.Fatalf("removed task ran: %s", o.Kind)
	}
	if tag, _ := runTagged(t, held.Module()); tag != "v001" {
		t.Fatalf("held job: %q", tag)
	}
	held.Release()
	// Emptying the directory is refused as a whole.
	for _, n := range []string{"noop.wasm", "fib.wasm"} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Reload(context.Background(), ReloadOptions{}); err == nil || !strings.Contains(err.Error(), "keeping the 2 loaded modules") {
		t.Fatalf("empty directory: %v", err)
	}
	if len(r.Tasks()) != 2 {
		t.Fatalf("tasks after refused reload: %v", r.Tasks())
	}
}

func TestSettleLeavesYoungFilesPending(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "noop.wasm"), old, old); err != nil {
		t.Fatal(err)
	}
	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	rep, err := r.Reload(context.Background(), ReloadOptions{Settle: time.Hour})
	if err != nil || kinds(rep) != "pending:tagged" || !rep.Pending() || rep.Changed() {
		t.Fatalf("young file: %v %s", err, kinds(rep))
	}
	if m, _ := r.Lookup("wat_tagged"); m.Version() != wasm.VersionOf(tagged(t, "v001")) {
		t.Fatal("a pending file was loaded")
	}
}

// TestSwapsUnderConcurrentJobs swaps versions again and again while jobs run on every core: no job
// fails, each result comes from the version its outcome names, and every replaced version closes.
func TestSwapsUnderConcurrentJobs(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v000")
	var closedN atomic.Int64
	r.Notify(func(ev Event) {
		if ev.Kind == Closed {
			closedN.Add(1)
		}
	})
	versions := map[string]string{} // version -> tag
	for i := range 20 {
		tag := fmt.Sprintf("v%03d", i)
		versions[wasm.VersionOf(tagged(t, tag))] = tag
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var jobs atomic.Int64
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				o := r.Invoke(context.Background(), input("wat_tagged", `{}`))
				var tag string
				_ = json.Unmarshal(o.Result, &tag)
				if o.Kind != wasm.Success || versions[o.Version] != tag {
					select {
					case errs <- fmt.Sprintf("%s %s: %q from version %.12s", o.Kind, o.Reason, tag, o.Version):
					default:
					}
					return
				}
				jobs.Add(1)
			}
		}()
	}
	for i := 1; i < 20; i++ {
		install(t, dir, "tagged.wasm", tagged(t, fmt.Sprintf("v%03d", i)))
		if rep, err := r.Reload(context.Background(), ReloadOptions{}); err != nil || kinds(rep) != "replaced:tagged" {
			t.Fatalf("swap %d: %v %s", i, err, kinds(rep))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	deadline := time.Now().Add(5 * time.Second)
	for closedN.Load() < 19 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if closedN.Load() != 19 || len(r.Draining()) != 0 {
		t.Fatalf("%d of 19 replaced versions closed; draining %d", closedN.Load(), len(r.Draining()))
	}
	t.Logf("%d jobs across 19 swaps", jobs.Load())
}

// TestReloadNeverLeavesNothingServed: a deployment that removes one module and adds a broken one
// would leave no task served; the reload is refused as a whole.
func TestReloadNeverLeavesNothingServed(t *testing.T) {
	t.Parallel()
	dir := dirWith(t, map[string]string{})
	install(t, dir, "tagged.wasm", tagged(t, "v001"))
	r, err := Load(context.Background(), engine(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if err := os.Remove(filepath.Join(dir, "tagged.wasm")); err != nil {
		t.Fatal(err)
	}
	install(t, dir, "broken.wasm", []byte("\x00asm\x01\x00\x00\x00\x0a"))
	if _, err := r.Reload(context.Background(), ReloadOptions{}); err == nil || !strings.Contains(err.Error(), "would serve any task") {
		t.Fatalf("got %v", err)
	}
	if _, ok := r.Lookup("wat_tagged"); !ok {
		t.Fatal("the loaded module stopped serving")
	}
}

// TestRefusedFileIsNotCompiledAgain: a broken file is compiled once; later reloads report it as a
// repeat until it changes.
func TestRefusedFileIsNotCompiledAgain(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	install(t, dir, "tagged.wasm", tagged(t, "v002")[:150])
	rep, _ := r.Reload(context.Background(), ReloadOptions{})
	if kinds(rep) != "refused:tagged" || rep.Events[0].Repeat {
		t.Fatalf("first: %s %+v", kinds(rep), rep.Events)
	}
	rep, _ = r.Reload(context.Background(), ReloadOptions{})
	if kinds(rep) != "refused:tagged" || !rep.Events[0].Repeat || rep.Events[0].Err == nil || rep.Events[0].Version == "" {
		t.Fatalf("second: %s %+v", kinds(rep), rep.Events)
	}
	install(t, dir, "tagged.wasm", tagged(t, "v003"))
	if rep, _ = r.Reload(context.Background(), ReloadOptions{}); kinds(rep) != "replaced:tagged" {
		t.Fatalf("fixed: %s", kinds(rep))
	}
}

// TestInterruptedReloadSwapsNothing: a reload whose context ends while modules compile reports
// that, not refusals, and changes nothing.
func TestInterruptedReloadSwapsNothing(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := r.Reload(ctx, ReloadOptions{})
	if err == nil || len(rep.Events) != 0 {
		t.Fatalf("got %v %s", err, kinds(rep))
	}
	if m, _ := r.Lookup("wat_tagged"); m.Version() != wasm.VersionOf(tagged(t, "v001")) {
		t.Fatal("an interrupted reload swapped")
	}
}

// TestFutureModificationTimeIsSettled: a file dated in the future (clock skew) is loaded, not left
// pending for ever.
func TestFutureModificationTimeIsSettled(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	future := time.Now().Add(time.Hour)
	for _, n := range []string{"tagged.wasm", "noop.wasm"} {
		if err := os.Chtimes(filepath.Join(dir, n), future, future); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := r.Reload(context.Background(), ReloadOptions{Settle: time.Second}); err != nil || kinds(rep) != "replaced:tagged" {
		t.Fatalf("got %v %s", err, kinds(rep))
	}
}

// TestReplacedVersionReleasesIdleInstances: a replaced version keeps only the instances its last
// jobs use.
func TestReplacedVersionReleasesIdleInstances(t *testing.T) {
	t.Parallel()
	r, dir := loadTagged(t, "v001")
	held, _ := r.Acquire("wat_tagged")
	old := held.Module()
	if old.Stats().Idle == 0 {
		t.Fatal("no warm instance to begin with")
	}
	install(t, dir, "tagged.wasm", tagged(t, "v002"))
	if _, err := r.Reload(context.Background(), ReloadOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := old.Stats(); st.Idle != 0 || st.Live != 0 {
		t.Fatalf("old version still holds instances: %+v", st)
	}
	if tag, _ := runTagged(t, old); tag != "v001" { // its job still runs
		t.Fatalf("held job: %q", tag)
	}
	held.Release()
}

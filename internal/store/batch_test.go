package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Begin's verdicts, on both layouts: what is stored before decides whether the delivered try
// runs, and the in_progress record is stored only when it moves the job forward.
func TestBegin(t *testing.T) { bothLayouts(t, testBegin) }

func testBegin(t *testing.T, s *Store) {
	ctx := testCtx(t, 20*time.Second)
	cases := []struct {
		name       string
		before     []*Record // written first (id filled in)
		python     string    // or a Python-library record (%s is the id)
		aborted    bool
		keep       bool // VerdictRun, but the stored record already is as far along
		try        int
		want       Verdict
		wantStatus Status // stored afterwards
		wantTry    int
	}{
		{name: "nothing stored", try: 1, want: VerdictRun, wantStatus: StatusInProgress, wantTry: 1},
		{name: "queued", before: []*Record{rec("", StatusQueued, 1)}, try: 1, want: VerdictRun, wantStatus: StatusInProgress, wantTry: 1},
		{name: "redelivered while in progress", before: []*Record{rec("", StatusInProgress, 1)}, keep: true, try: 1, want: VerdictRun, wantStatus: StatusInProgress, wantTry: 1},
		{name: "completed", before: []*Record{rec("", StatusCompleted, 1)}, try: 1, want: VerdictDone, wantStatus: StatusCompleted, wantTry: 1},
		{name: "failed, later try delivered", before: []*Record{rec("", StatusFailed, 1)}, try: 2, want: VerdictDone, wantStatus: StatusFailed, wantTry: 1},
		{name: "aborted record", before: []*Record{rec("", StatusAborted, 1)}, try: 1, want: VerdictDone, wantStatus: StatusAborted, wantTry: 1},
		{name: "stale try", before: []*Record{rec("", StatusInProgress, 3)}, try: 2, want: VerdictStale, wantStatus: StatusInProgress, wantTry: 3},
		{name: "retry already scheduled", before: []*Record{rec("", StatusRetrying, 2)}, try: 2, want: VerdictRetryScheduled, wantStatus: StatusRetrying, wantTry: 2},
		{name: "the scheduled retry arrives", before: []*Record{rec("", StatusRetrying, 1)}, try: 2, want: VerdictRun, wantStatus: StatusInProgress, wantTry: 2},
		{name: "aborted flag", before: []*Record{rec("", StatusQueued, 1)}, aborted: true, try: 1, want: VerdictAborted, wantStatus: StatusQueued, wantTry: 1},
		{name: "aborted flag, nothing stored", aborted: true, try: 1, want: VerdictAborted},
		{name: "completed wins over the aborted flag", before: []*Record{rec("", StatusCompleted, 1)}, aborted: true, try: 1, want: VerdictDone, wantStatus: StatusCompleted, wantTry: 1},
		{name: "python retrying (try 2)", python: `{"job_id":"%s","status":"retrying","retry_count":1}`, try: 2, want: VerdictRetryScheduled, wantStatus: StatusRetrying, wantTry: 2},
		{name: "python completed", python: `{"job_id":"%s","status":"completed","retry_count":0}`, try: 1, want: VerdictDone, wantStatus: StatusCompleted, wantTry: 1},
		{name: "python queued", python: `{"job_id":"%s","status":"queued","retry_count":0}`, try: 1, want: VerdictRun, wantStatus: StatusInProgress, wantTry: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := newID()
			for _, r := range tc.before {
				r.JobID = id
				mustWrite(t, s, r, true)
			}
			if tc.python != "" {
				if err := s.Client().Set(ctx, s.ResultKey(id), fmt.Sprintf(tc.python, id), time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.aborted {
				if err := s.Abort(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			// Check gives the same verdict and stores nothing.
			before, _ := s.Client().Get(ctx, s.ResultKey(id)).Result()
			checked, err := s.Check(ctx, id, tc.try)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := s.Client().Get(ctx, s.ResultKey(id)).Result(); after != before {
				t.Fatalf("Check changed the record:\n%s\n%s", before, after)
			}
			r := rec(id, StatusInProgress, tc.try)
			r.WorkerID = "w1"
			got, err := s.Begin(ctx, r)
			if err == nil && checked != got {
				t.Fatalf("Check says %+v, Begin %+v", checked, got)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tc.want {
				t.Fatalf("verdict %d, want %d (%+v)", got.Verdict, tc.want, got)
			}
			if len(tc.before) > 0 && (got.Status != tc.before[0].Status || got.Try != tc.before[0].JobTry) {
				t.Fatalf("Begun reports stored %s try %d, want %s try %d", got.Status, got.Try, tc.before[0].Status, tc.before[0].JobTry)
			}
			if tc.wantStatus == "" {
				if _, err := s.Get(ctx, id); err == nil {
					t.Fatal("a record was stored for a job that must not run")
				}
				return
			}
			stored := mustGet(t, s, id)
			if stored.Status != tc.wantStatus || stored.JobTry != tc.wantTry {
				t.Fatalf("stored %s try %d, want %s try %d", stored.Status, stored.JobTry, tc.wantStatus, tc.wantTry)
			}
			if st := rawStatus(t, s, id); tc.python == "" && st != string(tc.wantStatus) {
				t.Fatalf("status key %q, want %q", st, tc.wantStatus)
			}
			if tc.want == VerdictRun && !tc.keep && stored.WorkerID != "w1" {
				t.Fatalf("in_progress record not the one Begin stored: %+v", stored)
			}
		})
	}
	if _, err := s.Begin(ctx, rec(newID(), StatusQueued, 1)); err == nil {
		t.Fatal("Begin with a queued record: no error")
	}
}

// Many goroutines beginning and finishing jobs at once share pipelines and still get each their
// own answer: every job runs exactly once, even though each is delivered twice.
func TestBeginAndWriteConcurrently(t *testing.T) { bothLayouts(t, testBeginAndWriteConcurrently) }

func testBeginAndWriteConcurrently(t *testing.T, s *Store) {
	ctx := testCtx(t, 60*time.Second)
	const jobs = 300
	ids := make([]string, jobs)
	for i := range ids {
		ids[i] = newID()
	}
	// A first lap runs every job (Begin then Write completed); a second lap, the duplicate
	// deliveries, must find every job done.
	var mu sync.Mutex
	runs := map[string]int{}
	var errs []error
	lap := func() {
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := s.Begin(ctx, rec(id, StatusInProgress, 1))
				if err == nil && b.Verdict == VerdictRun {
					mu.Lock()
					runs[id]++
					mu.Unlock()
					_, err = s.Write(ctx, rec(id, StatusCompleted, 1))
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	lap()
	lap()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	for _, id := range ids {
		if runs[id] != 1 {
			t.Fatalf("job %s ran %d times", id, runs[id])
		}
	}
	recs, err := s.GetMany(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r == nil || r.Status != StatusCompleted {
			t.Fatalf("job %d: %+v", i, r)
		}
	}
}

// Calls waiting in the queue when the store closes get ErrClosed, not a hang.
func TestBatchClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := testCtx(t, 20*time.Second)
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = s.Write(ctx, rec(newID(), StatusCompleted, 1))
		}()
	}
	_ = s.Close()
	wg.Wait()
	if _, err := s.Begin(ctx, rec(newID(), StatusInProgress, 1)); err != ErrClosed {
		t.Fatalf("Begin after Close: %v", err)
	}
}

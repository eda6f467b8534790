package store

import (
	"context"
	"testing"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := context.Background()
	if rec, aborted, err := s.Lookup(ctx, "none"); rec != nil || aborted || err != nil {
		t.Fatalf("missing job: %v %v %v", rec, aborted, err)
	}
	if _, err := s.Write(ctx, &Record{JobID: "j", Status: StatusQueued, JobTry: 1, FunctionName: "f"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	rec, aborted, err := s.Lookup(ctx, "j")
	if err != nil || rec == nil || rec.Status != StatusQueued || !aborted {
		t.Fatalf("got %+v %v %v", rec, aborted, err)
	}
}

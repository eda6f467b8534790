package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The record encoder is written by hand for speed; these tests hold it to encoding/json's output
// of the layout below, byte for byte.

// recordOut is the JSON layout written; field order matters.
type recordOut struct {
	JobID        string          `json:"job_id"`
	Status       Status          `json:"status"`
	Result       json.RawMessage `json:"result"`
	Error        *string         `json:"error"`
	StartTime    *isoTime        `json:"start_time"`
	EndTime      *isoTime        `json:"end_time"`
	Duration     *float64        `json:"duration"`
	WorkerID     *string         `json:"worker_id"`
	QueueName    string          `json:"queue_name"`
	RetryCount   int             `json:"retry_count"`
	FunctionName string          `json:"function_name"`
	Args         json.RawMessage `json:"args"`
	Kwargs       json.RawMessage `json:"kwargs"`
	CreatedAt    *isoTime        `json:"created_at"`
	ExpiresAt    *isoTime        `json:"expires_at"`

	JobTry        int      `json:"job_try,omitempty"`
	Module        string   `json:"module,omitempty"`
	ModuleVersion string   `json:"module_version,omitempty"`
	Outcome       string   `json:"outcome,omitempty"`
	ErrorKind     string   `json:"error_kind,omitempty"`
	ErrorType     string   `json:"error_type,omitempty"`
	ErrorMessage  string   `json:"error_message,omitempty"`
	NextTryAt     *isoTime `json:"next_try_at,omitempty"`
}

func isoPtr(t *time.Time) *isoTime {
	if t == nil || t.IsZero() {
		return nil
	}
	v := isoTime(*t)
	return &v
}

// referenceJSON is what MarshalJSON wrote when it used encoding/json.
func referenceJSON(r Record) ([]byte, error) {
	result, err := rawOr("result", r.Result, "", 0)
	if err != nil {
		return nil, err
	}
	args, err := rawOr("args", r.Args, "[]", '[')
	if err != nil {
		return nil, err
	}
	kwargs, err := rawOr("kwargs", r.Kwargs, "{}", '{')
	if err != nil {
		return nil, err
	}
	out := recordOut{
		JobID: r.JobID, Status: r.Status, Result: result, Error: r.Error,
		StartTime: isoPtr(r.StartTime), EndTime: isoPtr(r.EndTime), QueueName: r.QueueName,
		RetryCount: r.RetryCount, FunctionName: r.FunctionName, Args: args, Kwargs: kwargs,
		CreatedAt: isoPtr(&r.CreatedAt), ExpiresAt: isoPtr(r.ExpiresAt), JobTry: r.JobTry,
		Module: r.Module, ModuleVersion: r.ModuleVersion, Outcome: r.Outcome, ErrorKind: r.ErrorKind,
		ErrorType: r.ErrorType, ErrorMessage: r.ErrorMessage, NextTryAt: isoPtr(r.NextTryAt),
	}
	if r.Duration != nil && !math.IsNaN(*r.Duration) && !math.IsInf(*r.Duration, 0) {
		d := *r.Duration
		out.Duration = &d
	}
	if r.WorkerID != "" {
		w := r.WorkerID
		out.WorkerID = &w
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

var awkwardStrings = []string{
	"", "plain", "with \"quotes\" and \\ backslash", "new\nline\r\ttab", "\b\f\x00\x01\x1f\x7f",
	"<html> & 'amp'", "日本語 ✓ emoji 🎉", "\u2028 line sep \u2029 para sep", "bad utf8 \xff\xfe end",
	"truncated \xe2\x82", "\xed\xa0\x80 surrogate", strings.Repeat("x", 3000),
}

func randomRecord(rng *rand.Rand) Record {
	pick := func() string { return awkwardStrings[rng.IntN(len(awkwardStrings))] }
	tm := func() *time.Time {
		if rng.IntN(3) == 0 {
			return nil
		}
		t := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("x", 3600*rng.IntN(12)))
		if rng.IntN(50) == 0 { // outside four-digit years, and the first years of the era
			t = time.Date([]int{-5, 0, 7, 999, 9999, 10000, 123456}[rng.IntN(7)], 12, 31, 23, 59, 59, 999999999, time.FixedZone("y", -7200))
		}
		return &t
	}
	raws := []string{`[1, 2, {"a": "b"}]`, `{ "k" : [ true , null ] }`, `"s<>&"`, `12.5e3`, `null`, ``, ` [ ] `, `{"x":"\u003c"}`}
	r := Record{
		JobID: pick(), Status: Status(pick()), WorkerID: pick(), QueueName: pick(), FunctionName: pick(),
		RetryCount: rng.IntN(5) - 1, JobTry: rng.IntN(4), Module: pick(), ModuleVersion: pick(),
		Outcome: pick(), ErrorKind: pick(), ErrorType: pick(), ErrorMessage: pick(),
		StartTime: tm(), EndTime: tm(), ExpiresAt: tm(), NextTryAt: tm(),
	}
	if t := tm(); t != nil {
		r.CreatedAt = *t
	}
	if rng.IntN(2) == 0 {
		e := pick()
		r.Error = &e
	}
	if rng.IntN(4) != 0 {
		d := []float64{0, 1e-9, 5e-7, 1e-6, 0.000123, 1.5, 42, 1e20, 1e21, 3e300, math.NaN(), math.Inf(1), -2.5e-8}[rng.IntN(13)]
		r.Duration = &d
	}
	for _, dst := range []*json.RawMessage{&r.Result, &r.Args, &r.Kwargs} {
		if s := raws[rng.IntN(len(raws))]; s != "" {
			*dst = json.RawMessage(s)
		}
	}
	return r
}

func TestMarshalJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		r := randomRecord(rng)
		want, wantErr := referenceJSON(r)
		got, gotErr := r.MarshalJSON()
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("record %d: error %v, encoding/json's %v (%+v)", i, gotErr, wantErr, r)
		}
		if wantErr == nil && !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	start := time.Now()
	d := 0.0123
	r := Record{
		JobID: "0123456789abcdef0123456789abcdef", Status: StatusCompleted, Result: json.RawMessage(`{"ok":true}`),
		StartTime: &start, EndTime: &start, Duration: &d, WorkerID: "worker-1", QueueName: "default",
		FunctionName: "noop", Args: json.RawMessage(`[1,"a"]`), CreatedAt: start, ExpiresAt: &start,
		JobTry: 1, Module: "email", ModuleVersion: strings.Repeat("ab", 32), Outcome: "success",
	}
	for _, impl := range []struct {
		name string
		fn   func(Record) ([]byte, error)
	}{{"hand", Record.MarshalJSON}, {"encoding_json", referenceJSON}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.fn(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ = fmt.Sprint

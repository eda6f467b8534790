package arq

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

type nilPanicErr struct{ msg string }

func (e *nilPanicErr) Error() string { return e.msg }

func TestLogAttrs(t *testing.T) {
	tm := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	var nilErr *nilPanicErr
	tests := []struct {
		name  string
		args  []any
		attrs string
	}{
		{"none", nil, ""},
		{"pairs", []any{"to", "a@x", "n", 3, "ok", true, "f", 1.5}, `{"to":"a@x","n":3,"ok":true,"f":1.5}`},
		{"nested values", []any{"m", map[string]int{"b": 2, "a": 1}, "s", []string{"x"}, "nil", nil},
			`{"m":{"a":1,"b":2},"s":["x"],"nil":null}`},
		{"struct and time", []any{"p", point{1, 2}, "t", tm}, `{"p":{"X":1,"Y":2},"t":"2026-01-15T10:30:00Z"}`},
		{"error value", []any{"err", errors.New("boom")}, `{"err":"boom"}`},
		{"odd trailing value", []any{"k", 1, "dangling"}, `{"k":1,"!BADKEY":"dangling"}`},
		{"single value", []any{"only"}, `{"!BADKEY":"only"}`},
		{"non-string key", []any{42, "x", "k", "v"}, `{"!BADKEY":42,"x":"k","!BADKEY":"v"}`},
		{"unencodable values", []any{"nan", math.NaN(), "c", complex(1, 2), "fn", (func())(nil)},
			`{"nan":"NaN","c":"(1+2i)","fn":"<nil>"}`},
		{"panicking value", []any{"err", nilErr}, `{"err":"!PANIC: runtime error: invalid memory address or nil pointer dereference"}`},
		{"escaped key and value", []any{"a\"b\n", "<tag> & \u2028"}, `{"a\"b\n":"<tag> & \u2028"}`},
		{"invalid UTF-8", []any{"k\xff", "v\xfe"}, `{"k\ufffd":"v\ufffd"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			takeLogs()
			Context{}.Info("message", tt.args...)
			logs := takeLogs()
			if len(logs) != 1 {
				t.Fatalf("%d records", len(logs))
			}
			if logs[0].Attrs != tt.attrs {
				t.Errorf("attrs %s\nwant  %s", logs[0].Attrs, tt.attrs)
			}
			if tt.attrs != "" && !json.Valid([]byte(logs[0].Attrs)) {
				t.Errorf("attrs are not valid JSON")
			}
		})
	}
}

func TestLogLevels(t *testing.T) {
	takeLogs()
	ctx := Context{JobID: "j"}
	ctx.Debug("d")
	ctx.Info("i", "k", 1)
	ctx.Warn("w")
	ctx.Error("e")
	Log(LevelWarn, "outside", "phase", "init")
	Log(Level(7), "odd level")
	want := []logRecord{
		{LevelDebug, "d", ""},
		{LevelInfo, "i", `{"k":1}`},
		{LevelWarn, "w", ""},
		{LevelError, "e", ""},
		{LevelWarn, "outside", `{"phase":"init"}`},
		{Level(7), "odd level", ""},
	}
	got := takeLogs()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if LevelDebug != 0 || LevelInfo != 1 || LevelWarn != 2 || LevelError != 3 {
		t.Errorf("levels do not match ABI.md 4.1")
	}
	for l, s := range map[Level]string{LevelDebug: "DEBUG", LevelInfo: "INFO", LevelWarn: "WARN", LevelError: "ERROR", 9: "Level(9)"} {
		if l.String() != s {
			t.Errorf("Level(%d).String() = %q, want %q", int32(l), l.String(), s)
		}
	}
}

func TestLogDuringJob(t *testing.T) {
	register(t, "logs", func(ctx Context, to string) error {
		ctx.Info("sending", "to", to, "try", ctx.Try)
		return nil
	}, "to")
	takeLogs()
	call(t, "logs", `["a@x"]`, "")
	got := takeLogs()
	if len(got) != 1 || got[0] != (logRecord{LevelInfo, "sending", `{"to":"a@x","try":1}`}) {
		t.Errorf("records %+v", got)
	}
}

func TestLogBounded(t *testing.T) {
	takeLogs()
	for range maxNativeLogs + 10 {
		Log(LevelDebug, "x")
	}
	if n := len(takeLogs()); n > maxNativeLogs || n < maxNativeLogs/2 {
		t.Errorf("%d records kept", n)
	}
}

func TestContextIsContext(t *testing.T) {
	var ctx context.Context = Context{JobID: "j"}
	if _, ok := ctx.Deadline(); ok || ctx.Done() != nil || ctx.Err() != nil || ctx.Value("k") != nil {
		t.Errorf("Context is not a background-like context.Context")
	}
	child, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	if _, ok := child.Deadline(); !ok {
		t.Errorf("derived context has no deadline")
	}
}

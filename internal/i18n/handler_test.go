package i18n

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// noTime drops the time so that outputs compare byte for byte.
func noTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func textLogger(buf *bytes.Buffer, lang Lang, keys bool) *slog.Logger {
	h := slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})
	return slog.New(NewHandler(h, lang, keys))
}

// logSample writes the same records through any logger: plain, WithAttrs, WithGroup, nested group,
// LogAttrs, an unknown message.
func logSample(log *slog.Logger) {
	log.Info("job completed", "job_id", "j1", "task", "send_email", "duration", 1500*time.Millisecond)
	log.With("queue", "default", "try", 2).Warn("job failed; retrying", "error", "ValueError: bad", "retry_in", 5*time.Second)
	log.WithGroup("attrs").Info("worker started", "task", "t", "extra", 1)
	log.LogAttrs(context.Background(), slog.LevelError, "cannot instantiate module",
		slog.String("module", "m"), slog.Group("attrs", slog.String("version", "v1")), slog.Any("err", errors.New("boom")))
	log.Debug("a message nobody cataloged", "job_id", "j2")
}

func TestHandlerZhTextTranslatesMessagesAndKeys(t *testing.T) {
	var buf bytes.Buffer
	logSample(textLogger(&buf, Zh, true))
	want := []string{
		`level=INFO msg=任务完成 任务ID=j1 任务=send_email 耗时=1.5s`,
		`level=WARN msg=任务失败，将重试 队列=default 尝试次数=2 错误="ValueError: bad" 重试延迟=5s`,
		`level=INFO msg="Worker 已启动" 附加属性.任务=t 附加属性.extra=1`,
		`level=ERROR msg=无法实例化模块 模块=m 附加属性.版本=v1 错误=boom`,
		`level=DEBUG msg="a message nobody cataloged" 任务ID=j2`,
	}
	checkLines(t, buf.String(), want)
}

func TestHandlerZhJSONKeepsKeys(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})
	log := slog.New(NewHandler(h, Zh, false))
	log.With("queue", "default").Info("job completed", "job_id", "j1", "duration", time.Second)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.Bytes())
	}
	if rec["msg"] != "任务完成" || rec["job_id"] != "j1" || rec["queue"] != "default" || rec["duration"] != float64(time.Second) {
		t.Errorf("record = %v", rec)
	}
}

func TestHandlerEnglishIsUntouched(t *testing.T) {
	for _, keys := range []bool{false, true} {
		var plain, wrapped bytes.Buffer
		logSample(slog.New(slog.NewTextHandler(&plain, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})))
		logSample(textLogger(&wrapped, En, keys))
		if plain.String() != wrapped.String() {
			t.Errorf("keys=%v: en output differs from the plain handler's:\n%s\nwant\n%s", keys, wrapped.String(), plain.String())
		}
	}
}

func TestHandlerUnknownLanguageIsUntouched(t *testing.T) {
	var plain, wrapped bytes.Buffer
	logSample(slog.New(slog.NewTextHandler(&plain, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})))
	logSample(textLogger(&wrapped, Lang("fr"), true))
	if plain.String() != wrapped.String() {
		t.Errorf("output differs from the plain handler's:\n%s\nwant\n%s", wrapped.String(), plain.String())
	}
}

// capture records what reaches the wrapped handler, and the levels it was asked about.
type capture struct {
	level   slog.Level
	asked   []slog.Level
	records []slog.Record
	attrs   []slog.Attr
	groups  []string
}

func (c *capture) Enabled(_ context.Context, l slog.Level) bool {
	c.asked = append(c.asked, l)
	return l >= c.level
}

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.records = append(c.records, r.Clone())
	return nil
}

func (c *capture) WithAttrs(as []slog.Attr) slog.Handler {
	c.attrs = append(c.attrs, as...)
	return c
}

func (c *capture) WithGroup(name string) slog.Handler {
	c.groups = append(c.groups, name)
	return c
}

func TestHandlerEnabledPassesThrough(t *testing.T) {
	for _, lang := range []Lang{En, Zh} {
		c := &capture{level: slog.LevelWarn}
		h := NewHandler(c, lang, true)
		ctx := context.Background()
		if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) || !h.Enabled(ctx, slog.LevelError) {
			t.Errorf("%s: Enabled does not follow the wrapped handler", lang)
		}
		if len(c.asked) != 3 {
			t.Errorf("%s: the wrapped handler was asked %d times, want 3", lang, len(c.asked))
		}
		// Derived handlers pass through too.
		if h.WithAttrs([]slog.Attr{slog.String("k", "v")}).WithGroup("g").Enabled(ctx, slog.LevelDebug) {
			t.Errorf("%s: a derived handler is enabled below the wrapped handler's level", lang)
		}
	}
}

func TestHandlerKeepsValuesAndTheCallersRecord(t *testing.T) {
	c := &capture{level: slog.LevelDebug}
	h := NewHandler(c, Zh, true)
	now := time.Now()
	r := slog.NewRecord(now, slog.LevelInfo, "job completed", 42)
	errVal := errors.New("boom")
	r.AddAttrs(slog.String("job_id", "j1"), slog.Any("err", errVal), slog.Int("unknown_key", 7),
		slog.Group("module", slog.String("version", "abc")))
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if r.Message != "job completed" {
		t.Errorf("the caller's record was changed: %q", r.Message)
	}
	var callerKeys []string
	r.Attrs(func(a slog.Attr) bool { callerKeys = append(callerKeys, a.Key); return true })
	if strings.Join(callerKeys, ",") != "job_id,err,unknown_key,module" {
		t.Errorf("the caller's attributes were changed: %v", callerKeys)
	}
	if len(c.records) != 1 {
		t.Fatalf("%d records handled", len(c.records))
	}
	got := c.records[0]
	if got.Message != "任务完成" || !got.Time.Equal(now) || got.Level != slog.LevelInfo || got.PC != 42 {
		t.Errorf("record = %q %v %v %v", got.Message, got.Time, got.Level, got.PC)
	}
	var attrs []slog.Attr
	got.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	if len(attrs) != 4 {
		t.Fatalf("attrs = %v", attrs)
	}
	if attrs[0].Key != "任务ID" || attrs[0].Value.String() != "j1" {
		t.Errorf("attr 0 = %v", attrs[0])
	}
	if attrs[1].Key != "错误" || attrs[1].Value.Any() != errVal {
		t.Errorf("attr 1 = %v: the error value must be kept as it is", attrs[1])
	}
	if attrs[2].Key != "unknown_key" || attrs[2].Value.Int64() != 7 {
		t.Errorf("attr 2 = %v", attrs[2])
	}
	if g := attrs[3].Value.Group(); attrs[3].Key != "模块" || len(g) != 1 || g[0].Key != "版本" || g[0].Value.String() != "abc" {
		t.Errorf("attr 3 = %v", attrs[3])
	}
}

func TestHandlerWithAttrsAndWithGroup(t *testing.T) {
	c := &capture{level: slog.LevelDebug}
	h := NewHandler(c, Zh, true).WithAttrs([]slog.Attr{slog.String("queue", "q"), slog.Int("try", 1)}).WithGroup("attrs")
	if err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "worker stopped", 0)); err != nil {
		t.Fatal(err)
	}
	if len(c.attrs) != 2 || c.attrs[0].Key != "队列" || c.attrs[0].Value.String() != "q" || c.attrs[1].Key != "尝试次数" || c.attrs[1].Value.Int64() != 1 {
		t.Errorf("WithAttrs passed %v", c.attrs)
	}
	if len(c.groups) != 1 || c.groups[0] != "附加属性" {
		t.Errorf("WithGroup passed %v", c.groups)
	}
	if len(c.records) != 1 || c.records[0].Message != "Worker 已停止" {
		t.Errorf("records = %v", c.records)
	}

	// Without key translation, WithAttrs and WithGroup pass keys and names unchanged.
	c = &capture{level: slog.LevelDebug}
	h = NewHandler(c, Zh, false).WithAttrs([]slog.Attr{slog.String("queue", "q")}).WithGroup("attrs")
	if err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "worker stopped", 0)); err != nil {
		t.Fatal(err)
	}
	if len(c.attrs) != 1 || c.attrs[0].Key != "queue" || len(c.groups) != 1 || c.groups[0] != "attrs" {
		t.Errorf("keys translated without translateKeys: %v %v", c.attrs, c.groups)
	}
	if len(c.records) != 1 || c.records[0].Message != "Worker 已停止" {
		t.Errorf("message not translated without translateKeys: %v", c.records)
	}
}

// jobInfo is a LogValuer: the handler translates the keys of the group it resolves to.
type jobInfo struct{ id string }

func (j jobInfo) LogValue() slog.Value {
	return slog.GroupValue(slog.String("job_id", j.id), slog.String("status", "completed"))
}

func TestHandlerResolvesLogValuers(t *testing.T) {
	var buf bytes.Buffer
	textLogger(&buf, Zh, true).Info("job completed", "job", jobInfo{id: "j9"})
	checkLines(t, buf.String(), []string{`level=INFO msg=任务完成 job.任务ID=j9 job.状态=completed`})
}

func checkLines(t *testing.T, out string, want []string) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

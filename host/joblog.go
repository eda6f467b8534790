package host

import (
	"context"
	"log/slog"
)

// jobLog is a job's logger: the worker's logger and the job's attributes, which are added to a
// record only when one is written. (slog's Logger.With formats its attributes at once; for a job
// that logs one line, that cost as much as the line.)
type jobLog struct {
	l     *slog.Logger
	attrs []any
}

func newJobLog(l *slog.Logger, attrs ...any) jobLog { return jobLog{l: l, attrs: attrs} }

// With returns a jobLog with more attributes.
func (j jobLog) With(args ...any) jobLog {
	return jobLog{l: j.l, attrs: append(j.attrs[:len(j.attrs):len(j.attrs)], args...)}
}

func (j jobLog) Debug(msg string, args ...any) { j.log(slog.LevelDebug, msg, args) }
func (j jobLog) Info(msg string, args ...any)  { j.log(slog.LevelInfo, msg, args) }
func (j jobLog) Warn(msg string, args ...any)  { j.log(slog.LevelWarn, msg, args) }
func (j jobLog) Error(msg string, args ...any) { j.log(slog.LevelError, msg, args) }

func (j jobLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !j.l.Enabled(ctx, level) {
		return
	}
	j.l.Log(ctx, level, msg, append(j.attrs[:len(j.attrs):len(j.attrs)], args...)...)
}

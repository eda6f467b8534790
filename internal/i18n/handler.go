package i18n

import (
	"context"
	"log/slog"
)

// NewHandler wraps h so that each record's message is translated into lang (by T) before h
// formats it. Attribute values are never changed: job ids, task names, errors and durations reach
// h as they were logged.
//
// With translateKeys, attribute keys and group names are translated too (by Key: job_id becomes
// 任务ID, queue 队列, ...), at every depth. Use it for the text format, which people read. Leave it
// off for the JSON format: its keys are a schema that log pipelines and alerts query, and they
// should not change with the operator's language (the message is translated either way).
//
// For English (or any language other than zh) the records pass through untouched. Enabled always
// defers to h.
func NewHandler(h slog.Handler, lang Lang, translateKeys bool) slog.Handler {
	return &handler{next: h, lang: lang, keys: translateKeys && lang == Zh}
}

type handler struct {
	next slog.Handler
	lang Lang
	keys bool
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if h.lang != Zh {
		return h.next.Handle(ctx, r)
	}
	msg := T(h.lang, r.Message)
	if !h.keys {
		r.Message = msg // r is a copy: the caller's record and its attributes are not changed
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if h.keys {
		tr := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			tr[i] = h.attr(a)
		}
		attrs = tr
	}
	return &handler{next: h.next.WithAttrs(attrs), lang: h.lang, keys: h.keys}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if h.keys {
		name = Key(h.lang, name)
	}
	return &handler{next: h.next.WithGroup(name), lang: h.lang, keys: h.keys}
}

// attr translates a's key and, for a group, the keys inside it. The value is kept; a LogValuer is
// resolved first so that a group it returns is translated too.
func (h *handler) attr(a slog.Attr) slog.Attr {
	a.Key = Key(h.lang, a.Key)
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	if a.Value.Kind() == slog.KindGroup {
		group := a.Value.Group()
		tr := make([]slog.Attr, len(group))
		for i, g := range group {
			tr[i] = h.attr(g)
		}
		a.Value = slog.GroupValue(tr...)
	}
	return a
}

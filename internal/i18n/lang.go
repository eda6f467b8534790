package i18n

import (
	"fmt"
	"strings"
)

// Lang is the language of operator-facing text.
type Lang string

const (
	// En is English, the language the code is written in: nothing is translated.
	En Lang = "en"
	// Zh is Simplified Chinese.
	Zh Lang = "zh"
)

// Parse reads a language name: "en" (also "english", "en-US", "en_US") or "zh" (also "zh-CN",
// "zh_CN", "zh-Hans", "chinese", "中文"), case-insensitive. Anything else, the empty string
// included, is an error naming the value.
func Parse(s string) (Lang, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "en", "english", "en-us", "en_us":
		return En, nil
	case "zh", "zh-cn", "zh_cn", "zh-hans", "chinese", "中文":
		return Zh, nil
	}
	return "", fmt.Errorf("unknown language %q: want en or zh", s)
}

// String returns the language's name, "en" or "zh".
func (l Lang) String() string { return string(l) }

// T returns the translation of msg into lang, or msg itself when lang is English (or unknown) or
// msg has no translation. msg is the exact English text the code logs or prints.
func T(lang Lang, msg string) string {
	if lang != Zh {
		return msg
	}
	if zh, ok := lookup(msg); ok {
		return zh
	}
	return msg
}

// Tf translates the format string as T does, then formats it with args as fmt.Sprintf. A
// translation has the original's verbs; where Chinese wants another order it uses explicit
// argument indexes (%[2]s), so the arguments are always passed in the English order.
func Tf(lang Lang, format string, args ...any) string {
	return fmt.Sprintf(T(lang, format), args...)
}

// Missing returns the messages, in their order, that have no Chinese translation.
func Missing(messages []string) []string {
	var out []string
	for _, m := range messages {
		if _, ok := lookup(m); !ok {
			out = append(out, m)
		}
	}
	return out
}

// lookup finds msg's Chinese translation: a catalog entry, or else a message composed by one of
// the patterns from a cataloged fragment.
func lookup(msg string) (string, bool) {
	if zh, ok := messages[msg]; ok {
		return zh, true
	}
	return composed(msg)
}

// composed translates msg by the patterns: prefix + fragment + suffix, with a cataloged fragment.
func composed(msg string) (string, bool) {
	for _, p := range patterns {
		if len(msg) <= len(p.prefix)+len(p.suffix) || !strings.HasPrefix(msg, p.prefix) || !strings.HasSuffix(msg, p.suffix) {
			continue
		}
		if zh, ok := fragments[msg[len(p.prefix):len(msg)-len(p.suffix)]]; ok {
			return fmt.Sprintf(p.zh, zh), true
		}
	}
	return "", false
}

// Key returns the translation of a log attribute key into lang, or key itself when lang is
// English or the key has no translation.
func Key(lang Lang, key string) string {
	if lang != Zh {
		return key
	}
	if zh, ok := keys[key]; ok {
		return zh
	}
	return key
}

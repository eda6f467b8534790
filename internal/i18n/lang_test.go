package i18n

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Lang
		err  bool
	}{
		{in: "en", want: En},
		{in: "EN", want: En},
		{in: " en ", want: En},
		{in: "english", want: En},
		{in: "en-US", want: En},
		{in: "en_US", want: En},
		{in: "zh", want: Zh},
		{in: "ZH", want: Zh},
		{in: "zh-CN", want: Zh},
		{in: "zh_CN", want: Zh},
		{in: "zh-cn", want: Zh},
		{in: "zh-Hans", want: Zh},
		{in: "chinese", want: Zh},
		{in: "Chinese", want: Zh},
		{in: "中文", want: Zh},
		{in: "", err: true},
		{in: "fr", err: true},
		{in: "zh-TW", err: true},
		{in: "e n", err: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("Parse(%q) = %q, want an error", tt.in, got)
			} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
				t.Errorf("Parse(%q) error %q does not name the value", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		lang     Lang
		msg, out string
	}{
		{En, "job completed", "job completed"},
		{Zh, "job completed", "任务完成"},
		{Zh, "job failed; sending it to the dead-letter queue", "任务失败，发送到死信队列"},
		{Zh, "no such message in the catalog", "no such message in the catalog"},
		{Lang("fr"), "job completed", "job completed"},
		{Lang(""), "job completed", "job completed"},
		{Zh, "", ""},
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.msg); got != tt.out {
			t.Errorf("T(%q, %q) = %q, want %q", tt.lang, tt.msg, got, tt.out)
		}
	}
}

func TestTf(t *testing.T) {
	tests := []struct {
		lang   Lang
		format string
		args   []any
		out    string
	}{
		{En, "requeued %d jobs", []any{3}, "requeued 3 jobs"},
		{Zh, "requeued %d jobs", []any{3}, "已重新入队 3 个任务"},
		// The translation reorders its arguments with explicit indexes.
		{En, "purged %d jobs from %s", []any{3, "default"}, "purged 3 jobs from default"},
		{Zh, "purged %d jobs from %s", []any{3, "default"}, "已从 default 清除 3 个任务"},
		{Zh, "unknown %s", []any{"x"}, "unknown x"},
	}
	for _, tt := range tests {
		if got := Tf(tt.lang, tt.format, tt.args...); got != tt.out {
			t.Errorf("Tf(%q, %q, %v) = %q, want %q", tt.lang, tt.format, tt.args, got, tt.out)
		}
	}
}

func TestMissing(t *testing.T) {
	in := []string{
		"job completed",
		"not cataloged one",
		"cannot read the job's record; returning the job to the queue",
		"not cataloged two",
		"worker started",
	}
	want := []string{"not cataloged one", "not cataloged two"}
	if got := Missing(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Missing = %q, want %q", got, want)
	}
	if got := Missing(nil); len(got) != 0 {
		t.Errorf("Missing(nil) = %q", got)
	}
}

func TestKey(t *testing.T) {
	if got := Key(Zh, "job_id"); got != "任务ID" {
		t.Errorf("Key(zh, job_id) = %q", got)
	}
	if got := Key(En, "job_id"); got != "job_id" {
		t.Errorf("Key(en, job_id) = %q", got)
	}
	if got := Key(Zh, "no_such_key"); got != "no_such_key" {
		t.Errorf("Key(zh, no_such_key) = %q", got)
	}
}

// TestComposedEntriesAgree checks the explicit entries of messages composed in host/job.go
// against the composition of their fragments, and that the composition alone translates messages
// built from a cataloged fragment.
func TestComposedEntriesAgree(t *testing.T) {
	n := 0
	for en, zh := range messages {
		c, ok := composed(en)
		if !ok {
			continue
		}
		n++
		if c != zh {
			t.Errorf("%q: entry %q, composed from its fragment %q", en, zh, c)
		}
	}
	if n < 6 {
		t.Errorf("%d composed entries found, want the 6 of host/job.go", n)
	}
	// A composed message without an entry of its own.
	if got, want := T(Zh, "record the job's result; returning the job to the queue"), "记录任务结果，将任务退回队列"; got != want {
		t.Errorf("composition fallback: %q, want %q", got, want)
	}
	for _, p := range patterns {
		if strings.Count(p.zh, "%s") != 1 || strings.Count(p.zh, "%") != 1 {
			t.Errorf("pattern %q: zh %q must have exactly one %%s", p.suffix, p.zh)
		}
	}
}

// TestTranslationsWellFormed checks every entry: Chinese text that is not the English, and, for a
// format string, a translation that formats the same arguments without a formatting error.
func TestTranslationsWellFormed(t *testing.T) {
	for en, zh := range messages {
		if strings.TrimSpace(zh) == "" || zh == en {
			t.Errorf("%q: translation %q is empty or untranslated", en, zh)
		}
		if !utf8.ValidString(zh) || strings.TrimSpace(zh) != zh {
			t.Errorf("%q: translation %q is not valid UTF-8 or has surrounding spaces", en, zh)
		}
		checkVerbs(t, en, zh)
	}
	for en, zh := range fragments {
		if zh == "" || strings.Contains(zh, "%") {
			t.Errorf("fragment %q: translation %q is empty or has a verb", en, zh)
		}
	}
	for k, zh := range keys {
		if zh == "" || strings.ContainsAny(zh, " =\"") {
			t.Errorf("key %q: translation %q is empty or would need quoting in the text format", k, zh)
		}
	}
}

// TestKeyTranslationsDistinct guards the text format against two attributes of one record coming
// out under the same key. err and error are the same thing under two names (the code uses one or
// the other), so they may share one.
func TestKeyTranslationsDistinct(t *testing.T) {
	synonyms := map[string]string{"err": "error"}
	by := map[string]string{}
	for k, zh := range keys {
		if canon, ok := synonyms[k]; ok {
			if keys[canon] != zh {
				t.Errorf("key %q is a synonym of %q but translates to %q, not %q", k, canon, zh, keys[canon])
			}
			continue
		}
		if other, dup := by[zh]; dup {
			t.Errorf("keys %q and %q both translate to %q", k, other, zh)
		}
		by[zh] = k
	}
}

// checkVerbs formats en and zh with the same arguments, chosen from en's verbs, and checks that zh
// uses each argument and reports no formatting error.
func checkVerbs(t *testing.T, en, zh string) {
	t.Helper()
	verbs := formatVerbs(en)
	if len(verbs) == 0 {
		if strings.Contains(zh, "%") {
			t.Errorf("%q: translation %q has a verb the English has not", en, zh)
		}
		return
	}
	args := make([]any, len(verbs))
	marks := make([]string, len(verbs))
	for i, v := range verbs {
		switch v {
		case 'd':
			args[i] = 7001 + i
			marks[i] = fmt.Sprint(7001 + i)
		case 'f':
			args[i] = 8001.0 + float64(i)
			marks[i] = fmt.Sprint(8001 + i)
		case 'w':
			marks[i] = fmt.Sprintf("ERR%d", i)
			args[i] = errors.New(marks[i])
		default:
			marks[i] = fmt.Sprintf("ARG%d", i)
			args[i] = marks[i]
		}
	}
	out := fmt.Errorf(zh, args...).Error()
	if strings.Contains(out, "%!") {
		t.Errorf("%q: translation %q formats with an error: %q", en, zh, out)
	}
	for _, m := range marks {
		if !strings.Contains(out, m) {
			t.Errorf("%q: translation %q drops an argument: %q", en, zh, out)
		}
	}
	if eo := fmt.Errorf(en, args...).Error(); strings.Contains(eo, "%!") {
		t.Errorf("%q does not format with the arguments its verbs want: %q", en, eo)
	}
}

// formatVerbs lists the verbs of a format string in order (%% excluded).
func formatVerbs(format string) []rune {
	var verbs []rune
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.[]", format[j]) >= 0 {
			j++
		}
		if j < len(format) {
			if format[j] != '%' {
				verbs = append(verbs, rune(format[j]))
			}
			i = j
		}
	}
	return verbs
}

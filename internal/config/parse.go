package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/arqhost/arqhost/internal/store"
)

// plainNumber matches a decimal number, which as a duration means seconds.
var plainNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// ParseDuration reads a Go duration ("30s", "1h30m") or a number of seconds ("300", "0.5").
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if plainNumber.MatchString(t) {
		f, err := strconv.ParseFloat(t, 64)
		ns := f * float64(time.Second)
		if err != nil || math.IsInf(ns, 0) || math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(math.Round(ns)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. 30s, 5m, 1h or a number of seconds)", s)
	}
	return d, nil
}

// ParseBool reads true/false, yes/no, on/off or 1/0, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true/false, yes/no, on/off or 1/0)", s)
}

// ParseInt reads a decimal whole number.
func ParseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

var sizeSyntax = regexp.MustCompile(`^([0-9]+)\s*([A-Za-z]*)$`)

// ParseSize reads a number of bytes, with an optional B, KiB, MiB, GiB or TiB suffix (in any
// case). Decimal units (KB, MB, GB, TB and K, M, G, T) are refused: 1 MB could mean 1,000,000 or
// 1,048,576 bytes.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	m := sizeSyntax.FindStringSubmatch(t)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (use bytes or a KiB, MiB or GiB suffix, e.g. 256MiB)", s)
	}
	var unit uint64
	switch strings.ToLower(m[2]) {
	case "", "b":
		unit = 1
	case "kib":
		unit = KiB
	case "mib":
		unit = MiB
	case "gib":
		unit = GiB
	case "tib":
		unit = TiB
	case "k", "kb", "m", "mb", "g", "gb", "t", "tb":
		binary := strings.ToUpper(m[2][:1]) + "iB"
		return 0, fmt.Errorf("%q is ambiguous: write %s%s (powers of 1024) or a number of bytes", s, m[1], binary)
	default:
		return 0, fmt.Errorf("%q is not a size (use bytes or a KiB, MiB or GiB suffix, e.g. 256MiB)", s)
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || n > math.MaxUint64/unit {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n * unit, nil
}

// splitList splits a comma-separated list, trimming blanks around each item. An empty string
// is one empty item, which validation refuses as a queue name.
func splitList(s string) []string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// apply parses raw as f's type and stores it in c. Only scalar kinds and comma-separated lists.
func (f *field) apply(c *Config, raw string) error {
	switch p := f.ptr(c).(type) {
	case *string:
		if f.kind == kindURL {
			raw = strings.TrimSpace(raw)
		}
		*p = raw
	case *int:
		n, err := ParseInt(raw)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		d, err := ParseDuration(raw)
		if err != nil {
			return err
		}
		*p = d
	case *bool:
		b, err := ParseBool(raw)
		if err != nil {
			return err
		}
		*p = b
	case *uint64:
		n, err := ParseSize(raw)
		if err != nil {
			return err
		}
		*p = n
	case *[]string:
		*p = splitList(raw)
	default:
		panic("config: unhandled field type for " + f.name)
	}
	return nil
}

// secretParam matches the value of a query parameter whose name suggests a secret
// (password, sentinel_password, token, ...).
var secretParam = regexp.MustCompile(`(?i)([?&][^=&#]*(?:pass|secret|token|auth|key)[^=&#]*=)[^&#]*`)

// Redact hides the password of a URL (and query parameters named like a secret); it is the store's
// redaction, which covers the AMQP and Redis URL forms alike.
func Redact(rawURL string) string { return store.Redact(rawURL) }

// formatDuration writes d as a Go duration without trailing zero units: 5m, 24h, 1h30m, 500ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// formatSize writes n with the largest binary unit that divides it exactly.
func formatSize(n uint64) string {
	switch {
	case n == 0:
		return "0"
	case n%TiB == 0:
		return strconv.FormatUint(n/TiB, 10) + "TiB"
	case n%GiB == 0:
		return strconv.FormatUint(n/GiB, 10) + "GiB"
	case n%MiB == 0:
		return strconv.FormatUint(n/MiB, 10) + "MiB"
	case n%KiB == 0:
		return strconv.FormatUint(n/KiB, 10) + "KiB"
	}
	return strconv.FormatUint(n, 10)
}

package wire

import (
	"strings"
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 15, 10, 30, 0, 123456789, time.UTC), "2026-01-15T10:30:00.123456+00:00"},
		{time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC), "2026-01-15T10:30:00+00:00"},   // Python omits a zero fraction
		{time.Date(2026, 1, 15, 10, 30, 0, 999, time.UTC), "2026-01-15T10:30:00+00:00"}, // below a microsecond
		{time.Date(2026, 1, 15, 10, 30, 0, 5000, time.UTC), "2026-01-15T10:30:00.000005+00:00"},
		{time.Date(2026, 1, 15, 10, 30, 0, 0, time.FixedZone("", 5*3600+30*60)), "2026-01-15T10:30:00+05:30"},
		{time.Date(2026, 1, 15, 10, 30, 0, 5000, time.FixedZone("", -(5*3600+30*60+15))), "2026-01-15T10:30:00.000005-05:30:15"},
		{time.Time{}, "0001-01-01T00:00:00+00:00"},
	}
	for _, c := range cases {
		if got := FormatTime(c.t); got != c.want {
			t.Errorf("FormatTime(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	cases := []struct {
		in   string
		want time.Time
		off  int
	}{
		{"2026-01-15T10:30:00.123456+00:00", time.Date(2026, 1, 15, 10, 30, 0, 123456000, utc), 0},
		{"2026-01-15T10:30:00.123456", time.Date(2026, 1, 15, 10, 30, 0, 123456000, utc), 0}, // naive = UTC
		{"2026-01-15T10:30:00", time.Date(2026, 1, 15, 10, 30, 0, 0, utc), 0},
		{"2026-01-15 10:30:00Z", time.Date(2026, 1, 15, 10, 30, 0, 0, utc), 0},
		{"2026-01-15t10:30z", time.Date(2026, 1, 15, 10, 30, 0, 0, utc), 0},
		{"2026-01-15T10:30:00,5-01:00", time.Date(2026, 1, 15, 11, 30, 0, 500000000, utc), -3600},
		{"2026-01-15T10:30:00.123456789+0530", time.Date(2026, 1, 15, 5, 0, 0, 123456789, utc), 19800},
		{"2026-01-15T10:30:00+05", time.Date(2026, 1, 15, 5, 30, 0, 0, utc), 18000},
		{"2026-01-15T10:30:00.000005-05:30:15", time.Date(2026, 1, 15, 16, 0, 15, 5000, utc), -19815},
		{"2026-01-15", time.Date(2026, 1, 15, 0, 0, 0, 0, utc), 0},
		{"2024-02-29T00:00:00", time.Date(2024, 2, 29, 0, 0, 0, 0, utc), 0},
		{"0001-01-01T00:00:00+00:00", time.Time{}, 0},
		{"9999-12-31T23:59:59.999999-23:59", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.FixedZone("", -(23*3600+59*60))), -(23*3600 + 59*60)},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", c.in, got, c.want)
		}
		if _, off := got.Zone(); off != c.off {
			t.Errorf("ParseTime(%q) offset %d, want %d", c.in, off, c.off)
		}
	}
}

func TestParseTimeErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                                  "want a date YYYY-MM-DD first",
		"2026-1-15":                         "want a date YYYY-MM-DD first",
		"0000-01-01":                        "year 0 is out of range",
		"2026-13-01":                        "month 13 is out of range",
		"2025-02-29":                        "day 29 is out of range for 2025-02",
		"2026-01-15X10:30":                  `want 'T' or ' ' after the date, got 'X'`,
		"2026-01-15T10":                     "want a time HH:MM after the date",
		"2026-01-15T10:3":                   "want a time HH:MM after the date",
		"2026-01-15T10:30:":                 "want seconds SS after HH:MM:",
		"2026-01-15T10:30:00.":              "want 1 to 9 digits of fraction after the seconds",
		"2026-01-15T10:30:00.1234567890":    "want 1 to 9 digits of fraction after the seconds",
		"2026-01-15T24:00:00":               "time 24:00:00 is out of range",
		"2026-01-15T10:60:00":               "time 10:60:00 is out of range",
		"2026-01-15T10:30:60":               "time 10:30:60 is out of range",
		"2026-01-15T10:30:00 UTC":           `want an offset (Z, +HH:MM or -HH:MM) after the time, got " UTC"`,
		"2026-01-15T10:30:00+5":             "want an offset ±HH:MM after the time",
		"2026-01-15T10:30:00+05:3":          "want offset minutes after ±HH",
		"2026-01-15T10:30:00+05:30:":        "want offset seconds after ±HH:MM:",
		"2026-01-15T10:30:00+05:60":         "offset is out of range (must be under 24 hours)",
		"2026-01-15T10:30:00Zjunk":          `unexpected "junk" after the timestamp`,
		"2026-01-15T10:30:00.123456+00:00x": `unexpected "x" after the timestamp`,
	}
	for in, want := range cases {
		_, err := ParseTime(in)
		if err == nil {
			t.Errorf("ParseTime(%q) succeeded, want %q", in, want)
			continue
		}
		if !strings.HasSuffix(err.Error(), ": "+want) || !strings.HasPrefix(err.Error(), "invalid timestamp ") {
			t.Errorf("ParseTime(%q)\n got %q\nwant suffix %q", in, err, want)
		}
	}
}

func TestTimeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"2026-01-15T10:30:00.123456+00:00", "2026-01-15T10:30:00+00:00", "2026-01-15T10:30:00.000001-05:30:15",
		"0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59.999999-23:59",
	} {
		tm, err := ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatTime(tm); got != s {
			t.Errorf("FormatTime(ParseTime(%q)) = %q", s, got)
		}
	}
}

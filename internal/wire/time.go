package wire

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// FormatTime writes t as Python's datetime.isoformat() writes an aware datetime:
// 2026-01-15T10:30:00.123456+00:00. Like Python it keeps microseconds (truncating the rest),
// leaves the fraction out when it is zero, and writes t's own UTC offset (with seconds when the
// offset has them).
func FormatTime(t time.Time) string {
	return string(AppendTime(make([]byte, 0, 32), t))
}

// AppendTime appends FormatTime(t) to b.
func AppendTime(b []byte, t time.Time) []byte {
	b = AppendDateTime(b, t)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendInt(b, us, 6)
	}
	_, off := t.Zone()
	if off < 0 {
		b = append(b, '-')
		off = -off
	} else {
		b = append(b, '+')
	}
	b = appendInt(b, off/3600, 2)
	b = append(b, ':')
	b = appendInt(b, off/60%60, 2)
	if off%60 != 0 {
		b = append(b, ':')
		b = appendInt(b, off%60, 2)
	}
	return b
}

// AppendDateTime appends t's date and time of day in t's zone, 2026-01-15T10:30:00, without a
// fraction or an offset; AppendMicros appends the fraction.
func AppendDateTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = appendInt(b, year, 4)
	b = append(b, '-')
	b = appendInt(b, int(month), 2)
	b = append(b, '-')
	b = appendInt(b, day, 2)
	b = append(b, 'T')
	b = appendInt(b, hour, 2)
	b = append(b, ':')
	b = appendInt(b, minute, 2)
	b = append(b, ':')
	b = appendInt(b, sec, 2)
	return b
}

// AppendMicros appends t's microseconds as six digits, 123456.
func AppendMicros(b []byte, t time.Time) []byte {
	return appendInt(b, t.Nanosecond()/1000, 6)

}

// appendInt appends n zero-padded to width digits (a minus sign for negative n, as Go years
// before 1 would need; Python has none).
func appendInt(b []byte, n, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// ParseTime reads an ISO-8601 timestamp as Python writes and reads them:
//
//	2026-01-15T10:30:00.123456+00:00   datetime.isoformat() of an aware datetime
//	2026-01-15T10:30:00.123456         a naive datetime: taken as UTC
//	2026-01-15 10:30:00Z               a space instead of T, Z for UTC, no fraction
//	2026-01-15T10:30+0530              minutes only, an offset without a colon
//	2026-01-15                         a date alone: midnight UTC
//
// The fraction may have 1 to 9 digits (',' is accepted for '.'); an offset is ±HH, ±HH:MM,
// ±HHMM or ±HH:MM:SS and must be under 24 hours. Years run from 1 to 9999, as in Python. The
// result carries the offset as a fixed zone (time.UTC for Z, +00:00 and naive times).
func ParseTime(s string) (time.Time, error) {
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid timestamp %q: %v", clip(s), err)
	}
	return t, nil
}

type scanner struct {
	s string
	i int
}

func (p *scanner) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for k := 0; k < n; k++ {
		c := p.s[p.i+k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func (p *scanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *scanner) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

func parseTime(s string) (time.Time, error) {
	p := &scanner{s: s}
	year, ok := p.digits(4)
	if !ok || !p.eat('-') {
		return time.Time{}, errors.New("want a date YYYY-MM-DD first")
	}
	month, ok := p.digits(2)
	if !ok || !p.eat('-') {
		return time.Time{}, errors.New("want a date YYYY-MM-DD first")
	}
	day, ok := p.digits(2)
	if !ok {
		return time.Time{}, errors.New("want a date YYYY-MM-DD first")
	}
	if year < 1 {
		return time.Time{}, errors.New("year 0 is out of range")
	}
	if month < 1 || month > 12 {
		return time.Time{}, fmt.Errorf("month %d is out of range", month)
	}
	if day < 1 || day > daysIn(year, month) {
		return time.Time{}, fmt.Errorf("day %d is out of range for %04d-%02d", day, year, month)
	}
	var hour, minute, sec, nsec int
	loc := time.UTC
	if p.i < len(s) {
		if c := p.peek(); c != 'T' && c != 't' && c != ' ' {
			return time.Time{}, fmt.Errorf("want 'T' or ' ' after the date, got %q", c)
		}
		p.i++
		if hour, ok = p.digits(2); !ok || !p.eat(':') {
			return time.Time{}, errors.New("want a time HH:MM after the date")
		}
		if minute, ok = p.digits(2); !ok {
			return time.Time{}, errors.New("want a time HH:MM after the date")
		}
		if p.eat(':') {
			if sec, ok = p.digits(2); !ok {
				return time.Time{}, errors.New("want seconds SS after HH:MM:")
			}
			if p.peek() == '.' || p.peek() == ',' {
				p.i++
				start := p.i
				for p.i < len(s) && s[p.i] >= '0' && s[p.i] <= '9' {
					p.i++
				}
				n := p.i - start
				if n == 0 || n > 9 {
					return time.Time{}, errors.New("want 1 to 9 digits of fraction after the seconds")
				}
				nsec, _ = strconv.Atoi(s[start:p.i])
				for ; n < 9; n++ {
					nsec *= 10
				}
			}
		}
		if hour > 23 || minute > 59 || sec > 59 {
			return time.Time{}, fmt.Errorf("time %02d:%02d:%02d is out of range", hour, minute, sec)
		}
		if p.i < len(s) {
			var err error
			if loc, err = parseOffset(p); err != nil {
				return time.Time{}, err
			}
		}
	}
	if p.i != len(s) {
		return time.Time{}, fmt.Errorf("unexpected %q after the timestamp", clip(s[p.i:]))
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), nil
}

func parseOffset(p *scanner) (*time.Location, error) {
	c := p.peek()
	if c == 'Z' || c == 'z' {
		p.i++
		return time.UTC, nil
	}
	if c != '+' && c != '-' {
		return nil, fmt.Errorf("want an offset (Z, +HH:MM or -HH:MM) after the time, got %q", clip(p.s[p.i:]))
	}
	p.i++
	h, ok := p.digits(2)
	if !ok {
		return nil, errors.New("want an offset ±HH:MM after the time")
	}
	var m, sec int
	colon := p.eat(':')
	if colon || p.i < len(p.s) {
		if m, ok = p.digits(2); !ok {
			return nil, errors.New("want offset minutes after ±HH")
		}
		if colon && p.eat(':') {
			if sec, ok = p.digits(2); !ok {
				return nil, errors.New("want offset seconds after ±HH:MM:")
			}
		}
	}
	if h > 23 || m > 59 || sec > 59 {
		return nil, errors.New("offset is out of range (must be under 24 hours)")
	}
	off := h*3600 + m*60 + sec
	if c == '-' {
		off = -off
	}
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone("", off), nil
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

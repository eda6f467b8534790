// Package jsonscan reads and writes JSON without reflection, for the paths that run on every job:
// splitting a delivered job or a guest's output into members, and appending strings and raw
// values the way encoding/json writes them.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Object splits a JSON object into its members, as json.Unmarshal into a
// map[string]json.RawMessage would (keys unescaped, the last of duplicate keys wins, values
// without surrounding whitespace; the values share body's memory). body must be valid JSON
// (json.Valid) whose first non-space byte is '{'.
func Object(body []byte) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, 12)
	i := skipSpace(body, 0) + 1 // past '{'
	for {
		i = skipSpace(body, i)
		switch body[i] {
		case '}':
			return m
		case ',':
			i = skipSpace(body, i+1)
		}
		kEnd := endOfString(body, i)
		key := body[i:kEnd]
		i = skipSpace(body, kEnd) + 1 // past ':'
		i = skipSpace(body, i)
		vEnd := endOfValue(body, i)
		m[Unquote(key)] = body[i:vEnd:vEnd]
		i = vEnd
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index just past the string that starts at b[i] ('"').
func endOfString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// endOfValue returns the index just past the value that starts at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = endOfString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// Unquote returns the text of a valid JSON string (given with its quotes).
func Unquote(s []byte) string {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s[1 : len(s)-1])
	}
	var v string
	_ = json.Unmarshal(s, &v) // valid: the whole body was checked
	return v
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string the way encoding/json does with HTML escaping off:
// quote, backslash and control characters escaped (\n, \r, \t, else \u00XX), U+2028 and U+2029
// escaped, and invalid UTF-8 replaced by U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendCompact appends a valid JSON value without insignificant whitespace, as encoding/json
// writes a json.RawMessage; it is an error if raw is not valid JSON.
func AppendCompact(b []byte, raw []byte) ([]byte, error) {
	if !hasSpace(raw) {
		if !json.Valid(raw) {
			return nil, errInvalid
		}
		return append(b, raw...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var errInvalid = errors.New("invalid JSON")

// hasSpace reports whether raw holds any byte json.Compact could remove (or a space inside a
// string, to keep the test simple).
func hasSpace(raw []byte) bool {
	for _, c := range raw {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// MaxDepth is how deep encoding/json nests arrays and objects before it gives up ("exceeded max
// depth"), and so the deepest JSON that arqhost reads.
const MaxDepth = 10000

// TooDeep reports whether b, read as JSON text, opens more than MaxDepth arrays or objects
// inside one another. It looks only at brackets outside strings, so it answers for any bytes,
// valid JSON or not.
func TooDeep(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > MaxDepth {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

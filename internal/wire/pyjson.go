package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// This file writes JSON the way Python's json.dumps does with its defaults (which rabbitmq-arq
// uses): ", " between items, ": " after keys, and every character outside printable ASCII
// escaped as \uXXXX (lowercase hex, surrogate pairs above the BMP; \" \\ \n \r \t \b \f short).
// Numbers and the order of keys are copied as they are.

// appendPyContainer appends raw, which must be a JSON array (open '[') or object (open '{'),
// reformatted in Python's style; empty raw is written as an empty container.
func appendPyContainer(b, raw []byte, open byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		if open == '[' {
			return append(b, "[]"...), nil
		}
		return append(b, "{}"...), nil
	}
	if !json.Valid(trimmed) {
		return nil, errors.New("not valid JSON")
	}
	if trimmed[0] != open {
		if open == '[' {
			return nil, errors.New("not a JSON array, but a JSON " + jsonKind(trimmed[0]))
		}
		return nil, errors.New("not a JSON object, but a JSON " + jsonKind(trimmed[0]))
	}
	return appendPyJSON(b, trimmed), nil
}

// appendPyJSON appends the valid JSON document raw in Python's style.
func appendPyJSON(b, raw []byte) []byte {
	for i := 0; i < len(raw); {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case ',':
			b = append(b, ", "...)
			i++
		case ':':
			b = append(b, ": "...)
			i++
		case '"':
			var n int
			b, n = appendPyLiteral(b, raw[i:])
			i += n
		default:
			b = append(b, c)
			i++
		}
	}
	return b
}

// appendPyLiteral re-escapes the JSON string literal at the start of s (valid JSON) and returns
// how many bytes of s it spans. Escapes of UTF-16 code units are kept unit by unit, so a lone
// surrogate survives as Python keeps it.
func appendPyLiteral(b, s []byte) ([]byte, int) {
	b = append(b, '"')
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return append(b, '"'), i + 1
		case c == '\\' && i+1 < len(s):
			switch e := s[i+1]; e {
			case 'u':
				if i+6 <= len(s) {
					b = appendPyUnit(b, hexUnit(s[i+2:i+6]))
					i += 6
					continue
				}
				i = len(s) // unreachable for valid JSON
			case 'b':
				b = appendPyUnit(b, '\b')
			case 'f':
				b = appendPyUnit(b, '\f')
			case 'n':
				b = appendPyUnit(b, '\n')
			case 'r':
				b = appendPyUnit(b, '\r')
			case 't':
				b = appendPyUnit(b, '\t')
			default: // '"', '\\', '/'
				b = appendPyUnit(b, rune(e))
			}
			i += 2
		case c < utf8.RuneSelf:
			b = appendPyUnit(b, rune(c))
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			b = appendPyRune(b, r)
			i += size
		}
	}
	return append(b, '"'), len(s)
}

// appendPyString appends s as a JSON string in Python's style; invalid UTF-8 becomes U+FFFD.
func appendPyString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		b = appendPyRune(b, r)
	}
	return append(b, '"')
}

func appendPyRune(b []byte, r rune) []byte {
	if r > 0xffff {
		r1, r2 := utf16.EncodeRune(r)
		return appendPyUnit(appendPyUnit(b, r1), r2)
	}
	return appendPyUnit(b, r)
}

const hexDigits = "0123456789abcdef"

// appendPyUnit appends one UTF-16 code unit (or ASCII character) escaped as Python does.
func appendPyUnit(b []byte, u rune) []byte {
	switch u {
	case '"':
		return append(b, `\"`...)
	case '\\':
		return append(b, `\\`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	}
	if u >= 0x20 && u <= 0x7e {
		return append(b, byte(u))
	}
	return append(b, '\\', 'u', hexDigits[u>>12&0xf], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
}

func hexUnit(h []byte) rune {
	var u rune
	for _, c := range h {
		u <<= 4
		switch {
		case c >= '0' && c <= '9':
			u |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			u |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			u |= rune(c - 'A' + 10)
		}
	}
	return u
}

// Package jsonscan splits JSON objects into their members without reflection, for the paths that
// run on every job (decoding a delivered job, decoding a guest's output).
package jsonscan

import (
	"bytes"
	"encoding/json"
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

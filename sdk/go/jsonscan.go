package arq

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/arqhost/arqhost/abi"
)

// This file decodes the job input envelope and encodes the output envelope by hand. They are on
// every job's path, and encoding/json's reflection costs several microseconds per member inside
// WebAssembly; the task's own arguments and result still go through encoding/json.

// parseInput decodes the job input (ABI.md section 3) into in, in one pass over b, as
// json.Unmarshal would (unknown members skipped, null leaves a member unset, a repeated member
// takes the last value, invalid UTF-8 in strings becomes U+FFFD), except that member names match
// exactly, empty args and kwargs are left nil, and the arguments are not copied: in.Args and
// in.Kwargs refer to b's memory, and stay valid only as long as b does.
func parseInput(b []byte, in *jobInput) error {
	s := scanner{b: b}
	s.skipSpace()
	if !s.consume('{') {
		return s.errorf("the job input is not a JSON object")
	}
	if err := s.members(func(key string) error {
		switch key {
		case "job_id":
			return s.stringMember(key, &in.JobID)
		case "function":
			return s.stringMember(key, &in.Function)
		case "enqueue_time":
			return s.stringMember(key, &in.EnqueueTime)
		case "queue_name":
			return s.stringMember(key, &in.QueueName)
		case "worker_id":
			return s.stringMember(key, &in.WorkerID)
		case "job_try":
			return s.intMember(key, &in.JobTry)
		case "args":
			return s.argsMember(in)
		case "kwargs":
			return s.kwargsMember(in)
		}
		_, _, err := s.value()
		return err
	}); err != nil {
		return err
	}
	s.skipSpace()
	if s.i != len(b) {
		return s.errorf("unexpected data after the job input")
	}
	return nil
}

// scanner reads JSON from b, at offset i.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

func (s *scanner) errorf(format string, a ...any) error {
	if s.i >= len(s.b) {
		return fmt.Errorf(format+" (at the end of the input)", a...)
	}
	return fmt.Errorf(format+" (at offset %d)", append(a, s.i)...)
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips c if it is the next byte.
func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// members reads an object's members, the opening brace already read, calling member for each
// with the scanner at the member's value.
func (s *scanner) members(member func(key string) error) error {
	s.skipSpace()
	if s.consume('}') {
		return nil
	}
	for {
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errorf("expected a member name")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.skipSpace()
		if !s.consume(':') {
			return s.errorf("expected ':' after a member name")
		}
		s.skipSpace()
		if err := member(key); err != nil {
			return err
		}
		s.skipSpace()
		if s.consume('}') {
			return nil
		}
		if !s.consume(',') {
			return s.errorf("expected ',' or '}' after a member")
		}
	}
}

// elements reads an array's elements, the opening bracket already read, calling element for
// each with the scanner at the element.
func (s *scanner) elements(element func() error) error {
	s.skipSpace()
	if s.consume(']') {
		return nil
	}
	for {
		s.skipSpace()
		if err := element(); err != nil {
			return err
		}
		s.skipSpace()
		if s.consume(']') {
			return nil
		}
		if !s.consume(',') {
			return s.errorf("expected ',' or ']' after an array element")
		}
	}
}

// null skips a null literal if it is next.
func (s *scanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) stringMember(key string, dst *string) error {
	if s.null() {
		return nil
	}
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.errorf("member %q is not a string", key)
	}
	v, err := s.str()
	*dst = v
	return err
}

func (s *scanner) intMember(key string, dst *int) error {
	if s.null() {
		return nil
	}
	start := s.i
	if err := s.number(); err != nil {
		return fmt.Errorf("member %q is not an integer", key)
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, strconv.IntSize)
	if err != nil {
		return fmt.Errorf("member %q is not an integer", key)
	}
	*dst = int(n)
	return nil
}

func (s *scanner) argsMember(in *jobInput) error {
	if s.null() {
		in.Args = nil
		return nil
	}
	if !s.consume('[') {
		return s.errorf("member \"args\" is not an array")
	}
	in.Args = in.Args[:0]
	return s.elements(func() error {
		start, end, err := s.value()
		in.Args = append(in.Args, s.b[start:end:end])
		return err
	})
}

func (s *scanner) kwargsMember(in *jobInput) error {
	if s.null() {
		in.Kwargs = nil
		return nil
	}
	if !s.consume('{') {
		return s.errorf("member \"kwargs\" is not an object")
	}
	in.Kwargs = nil
	return s.members(func(key string) error {
		start, end, err := s.value()
		if in.Kwargs == nil {
			in.Kwargs = make(map[string]json.RawMessage)
		}
		in.Kwargs[key] = s.b[start:end:end]
		return err
	})
}

// str reads a string, at its opening quote.
func (s *scanner) str() (string, error) {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			s.i++
			return string(s.b[start+1 : s.i-1]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		s.i++
	}
	// Escapes, non-ASCII text (invalid UTF-8 becomes U+FFFD) or an error: let encoding/json do it.
	s.i = start
	if err := s.skipString(); err != nil {
		return "", err
	}
	var v string
	if err := json.Unmarshal(s.b[start:s.i], &v); err != nil {
		return "", err
	}
	return v, nil
}

// value skips one JSON value, checking that it is valid, and returns where it was.
func (s *scanner) value() (start, end int, err error) {
	start = s.i
	if s.i >= len(s.b) {
		return start, s.i, s.errorf("expected a value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		err = s.skipString()
	case c == '{' || c == '[':
		s.depth++
		if s.depth > maxDepth {
			return start, s.i, s.errorf("the input is nested too deeply")
		}
		s.i++
		if c == '{' {
			err = s.members(func(string) error { _, _, err := s.value(); return err })
		} else {
			err = s.elements(func() error { _, _, err := s.value(); return err })
		}
		s.depth--
	case c == '-' || '0' <= c && c <= '9':
		err = s.number()
	case c == 't':
		err = s.literal("true")
	case c == 'f':
		err = s.literal("false")
	case c == 'n':
		err = s.literal("null")
	default:
		err = s.errorf("invalid character %q looking for a value", c)
	}
	return start, s.i, err
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errorf("invalid literal, expected %s", lit)
	}
	s.i += len(lit)
	return nil
}

// skipString skips a string, at its opening quote, checking its escapes.
func (s *scanner) skipString() error {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return s.errorf("invalid control character in a string")
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return s.errorf("unterminated string")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return s.errorf("invalid \\u escape in a string")
					}
					s.i++
				}
			default:
				return s.errorf("invalid escape in a string")
			}
		default:
			s.i++
		}
	}
	return s.errorf("unterminated string")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number skips a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.errorf("invalid number")
	}
	if s.consume('.') {
		if s.digits() == 0 {
			return s.errorf("invalid number")
		}
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return s.errorf("invalid number")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// Types that decodeFast handles.
var (
	stringType  = reflect.TypeFor[string]()
	intType     = reflect.TypeFor[int]()
	int64Type   = reflect.TypeFor[int64]()
	float64Type = reflect.TypeFor[float64]()
	boolType    = reflect.TypeFor[bool]()
)

// decodeFast decodes raw into dst (settable) without encoding/json when dst is a string, int,
// int64, float64 or bool and raw is a plain value of that type. It reports whether it did; when
// it did not, encoding/json must (and will give the same result, or the error to report).
func decodeFast(raw []byte, dst reflect.Value) bool {
	switch dst.Type() {
	case stringType:
		if len(raw) < 2 || raw[0] != '"' {
			return false
		}
		for _, c := range raw[1 : len(raw)-1] {
			if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
				return false
			}
		}
		dst.SetString(string(raw[1 : len(raw)-1]))
		return true
	case intType, int64Type:
		if len(raw) == 0 || len(raw) > 18 {
			return false
		}
		for i, c := range raw {
			if !('0' <= c && c <= '9' || i == 0 && c == '-' && len(raw) > 1) {
				return false
			}
		}
		if len(raw) > 1 && (raw[0] == '0' || raw[0] == '-' && raw[1] == '0') {
			return false // leading zeros are invalid JSON: leave the error to encoding/json
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return false
		}
		dst.SetInt(n)
		return true
	case float64Type:
		s := scanner{b: raw}
		if s.number() != nil || s.i != len(raw) {
			return false
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return false
		}
		dst.SetFloat(f)
		return true
	case boolType:
		switch string(raw) {
		case "true":
			dst.SetBool(true)
			return true
		case "false":
			dst.SetBool(false)
			return true
		}
	}
	return false
}

// appendString appends s as a JSON string, escaped as encoding/json does without HTML escaping.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendError appends the output {"error": e} (ABI.md section 5).
func appendError(b []byte, e *abi.Error) []byte {
	b = append(b, `{"error":{"kind":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if e.RetryAfterMs != 0 {
		b = append(b, `,"retry_after_ms":`...)
		b = strconv.AppendInt(b, e.RetryAfterMs, 10)
	}
	return append(b, "}}"...)
}

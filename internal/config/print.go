package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes the effective settings with their sources (from Load; a field missing from s
// reads "default"), one per YAML key in the order of Config. Format "json" writes one JSON
// object keyed by YAML key, each entry {"value": ..., "source": ...}, with durations as Go
// durations ("5m"), the memory limit in bytes and the queues as a list; any other format writes
// a table of KEY, VALUE and SOURCE for humans. Passwords in URLs read "xxxxx".
func (c Config) Print(w io.Writer, s Sources, format string) {
	source := func(f *field) string {
		if v, ok := s[f.name]; ok && v != "" {
			return v
		}
		return SourceDefault
	}
	if format == "json" {
		var b bytes.Buffer
		b.WriteString("{\n")
		for i := range fields {
			f := &fields[i]
			val, _ := json.Marshal(jsonValue(&c, f))
			key, _ := json.Marshal(f.key)
			src, _ := json.Marshal(source(f))
			fmt.Fprintf(&b, "  %s: {\"value\": %s, \"source\": %s}", key, val, src)
			if i < len(fields)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("}\n")
		_, _ = w.Write(b.Bytes())
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for i := range fields {
		f := &fields[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.key, textValue(&c, f), source(f))
	}
	_ = tw.Flush()
}

func jsonValue(c *Config, f *field) any {
	switch p := f.ptr(c).(type) {
	case *string:
		if f.kind == kindURL {
			return Redact(*p)
		}
		return *p
	case *time.Duration:
		return formatDuration(*p)
	case *[]string:
		if *p == nil {
			return []string{}
		}
		return *p
	case *int:
		return *p
	case *bool:
		return *p
	case *uint64:
		return *p
	}
	return nil
}

func textValue(c *Config, f *field) string {
	switch p := f.ptr(c).(type) {
	case *string:
		v := *p
		if f.kind == kindURL {
			v = Redact(v)
		}
		if v == "" || strings.TrimSpace(v) != v || strings.ContainsAny(v, "\t\n") {
			return strconv.Quote(v)
		}
		return v
	case *time.Duration:
		return formatDuration(*p)
	case *[]string:
		return strings.Join(*p, ",")
	case *int:
		return strconv.Itoa(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *uint64:
		return formatSize(*p)
	}
	return ""
}

package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// BindFlags registers on fs a flag for every setting that has one, plus --config FILE. The
// flags only hold text: Load parses and checks them, so that their errors read like those of
// the other sources ("flag --max-retries: ..."). Load reads only the flags given explicitly.
//
// --concurrency and --max-concurrent-jobs share one value: the last one given wins.
// --queue may be repeated and takes comma-separated names; the first --queue replaces the
// default list. Boolean flags take no argument (--burst) or an explicit one (--burst=false).
func BindFlags(fs *pflag.FlagSet) {
	fs.String(configFlag, "", "read settings from this YAML `FILE` (env "+configEnv+")")
	def := Default()
	for i := range fields {
		f := &fields[i]
		if f.flag == "" {
			continue
		}
		usage := f.help + " (env " + f.env + ", yaml " + f.key + ")"
		var v pflag.Value
		switch f.kind {
		case kindList:
			v = &listFlag{items: append([]string(nil), def.Queues...)}
		default:
			v = &textFlag{text: defaultText(def, f), typ: flagType(f.kind)}
		}
		flag := fs.VarPF(v, f.flag, "", usage)
		if f.kind == kindBool {
			flag.NoOptDefVal = "true"
		}
		if f.flagAlias != "" {
			aliasKey := f.key
			if f.keyAlias != "" {
				aliasKey = f.keyAlias
			}
			alias := fs.VarPF(v, f.flagAlias, "", "alias of --"+f.flag+" (env "+f.env+", yaml "+aliasKey+")")
			if f.kind == kindBool {
				alias.NoOptDefVal = "true"
			}
		}
	}
}

// defaultText is f's default as its flag shows it (a URL without its password).
func defaultText(def Config, f *field) string {
	switch p := f.ptr(&def).(type) {
	case *string:
		if f.kind == kindURL {
			return Redact(*p)
		}
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *time.Duration:
		return formatDuration(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *uint64:
		return formatSize(*p)
	}
	return ""
}

func flagType(k kind) string {
	switch k {
	case kindInt:
		return "int"
	case kindDuration:
		return "duration"
	case kindBool:
		return "bool"
	case kindSize:
		return "size"
	case kindURL:
		return "url"
	}
	return "string"
}

// textFlag holds a flag's text as given; Load parses it.
type textFlag struct {
	text string
	typ  string
}

func (v *textFlag) String() string     { return v.text }
func (v *textFlag) Set(s string) error { v.text = s; return nil }
func (v *textFlag) Type() string       { return v.typ }

// IsBoolFlag lets the flag package treat "--burst" without a value as true.
func (v *textFlag) IsBoolFlag() bool { return v.typ == "bool" }

// listFlag collects a repeatable, comma-separated flag.
type listFlag struct {
	items   []string
	changed bool
}

func (v *listFlag) String() string { return "[" + strings.Join(v.items, ",") + "]" }
func (v *listFlag) Type() string   { return "strings" }

func (v *listFlag) Set(s string) error {
	if !v.changed {
		v.items, v.changed = nil, true
	}
	v.items = append(v.items, splitList(s)...)
	return nil
}

// Append, Replace and GetSlice make listFlag a pflag.SliceValue.
func (v *listFlag) Append(s string) error { return v.Set(s) }

func (v *listFlag) Replace(items []string) error {
	v.items, v.changed = append([]string(nil), items...), true
	return nil
}

func (v *listFlag) GetSlice() []string { return append([]string(nil), v.items...) }

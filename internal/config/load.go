package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// origin says where a field's value came from, for Sources and for error messages.
type origin struct {
	source string // SourceFlag, SourceEnv, SourceFile or SourceDefault
	label  string // "flag --prefetch", "env RABBITMQ_PREFETCH_COUNT", "config.yaml: rabbitmq.prefetch_count", or the YAML key for defaults
	line   int    // YAML line, 0 if none
}

// errorf formats an error attributed to o: "label: message" or "label: message (line N)".
func (o origin) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if o.line > 0 {
		return fmt.Errorf("%s: %s (line %d)", o.label, msg, o.line)
	}
	return fmt.Errorf("%s: %s", o.label, msg)
}

// describe names o inside another message: "env ARQ_X", "config.yaml: worker.x, line 4".
func (o origin) describe() string {
	if o.line > 0 {
		return fmt.Sprintf("%s, line %d", o.label, o.line)
	}
	return o.label
}

type loader struct {
	cfg     Config
	origins map[string]origin // by field name
	errs    []error
}

func newLoader() *loader {
	l := &loader{cfg: Default(), origins: defaultOrigins()}
	return l
}

func defaultOrigins() map[string]origin {
	o := make(map[string]origin, len(fields))
	for _, f := range fields {
		o[f.name] = origin{source: SourceDefault, label: f.key}
	}
	return o
}

// set parses raw into f and records where it came from.
func (l *loader) set(f *field, raw string, o origin) {
	if err := f.apply(&l.cfg, raw); err != nil {
		// Errors quote the value; a URL given to the wrong setting must not leak its password.
		msg := strings.ReplaceAll(err.Error(), strconv.Quote(raw), strconv.Quote(Redact(raw)))
		l.errs = append(l.errs, o.errorf("%s", msg))
		return
	}
	l.origins[f.name] = o
}

// endSource applies, after each source, the rule that an empty store URL turns result storage
// off: unless the same source also turned storage on explicitly, in which case validation
// reports the contradiction.
func (l *loader) endSource(source string) {
	u := l.origins["RedisURL"]
	if u.source != source || l.cfg.RedisURL != "" {
		return
	}
	if s := l.origins["ResultStorage"]; s.source == source && l.cfg.ResultStorage {
		return
	}
	l.cfg.ResultStorage = false
	l.origins["ResultStorage"] = u
}

// Load merges the configuration from, in increasing precedence, the defaults, the YAML file
// named by --config (or ARQ_CONFIG), the environment and the flags of fs that were set
// explicitly, then validates the result. fs may be nil (no flags) or hold only some of the
// flags BindFlags registers; getenv may be nil (os.LookupEnv). A file that is named but cannot
// be read is an error; no file is read when none is named.
//
// On error Load returns a zero Config and nil Sources; the error lists every problem found,
// one per line (errors.Join). Values that cannot be parsed are reported first; limits are only
// checked when everything parsed.
func Load(fs *pflag.FlagSet, getenv func(string) (string, bool)) (Config, Sources, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	l := newLoader()

	// The file.
	var path string
	var from origin
	if f := lookupFlag(fs, configFlag); f != nil && f.Changed {
		path, from = f.Value.String(), origin{source: SourceFlag, label: "flag --" + configFlag}
	} else if v, ok := getenv(configEnv); ok {
		path, from = v, origin{source: SourceEnv, label: "env " + configEnv}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			l.errs = append(l.errs, from.errorf("%v", err))
		} else {
			l.loadYAML(path, data)
		}
	}
	l.endSource(SourceFile)

	// The environment.
	for i := range fields {
		f := &fields[i]
		if v, ok := getenv(f.env); ok {
			l.set(f, v, origin{source: SourceEnv, label: "env " + f.env})
		}
	}
	l.endSource(SourceEnv)

	// The flags given explicitly.
	for i := range fields {
		f := &fields[i]
		if f.flag == "" {
			continue
		}
		fl := lookupFlag(fs, f.flag)
		if a := lookupFlag(fs, f.flagAlias); a != nil && a.Changed && (fl == nil || !fl.Changed) {
			fl = a
		}
		if fl == nil || !fl.Changed {
			continue
		}
		o := origin{source: SourceFlag, label: "flag --" + fl.Name}
		if sv, ok := fl.Value.(pflag.SliceValue); ok && f.kind == kindList {
			l.cfg.Queues = sv.GetSlice()
			l.origins[f.name] = o
			continue
		}
		l.set(f, fl.Value.String(), o)
	}
	l.endSource(SourceFlag)

	if len(l.errs) > 0 {
		return Config{}, nil, errors.Join(l.errs...)
	}
	if errs := validate(&l.cfg, l.origins); len(errs) > 0 {
		return Config{}, nil, errors.Join(errs...)
	}
	src := make(Sources, len(fields))
	for name, o := range l.origins {
		src[name] = o.source
	}
	return l.cfg, src, nil
}

func lookupFlag(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil || name == "" {
		return nil
	}
	return fs.Lookup(name)
}

// loadYAML reads a YAML configuration document. Unknown keys at any level are errors, so that a
// misspelt key is not silently ignored. A key whose value is null (or empty) is left unset.
func (l *loader) loadYAML(path string, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err != io.EOF {
			l.errs = append(l.errs, fmt.Errorf("%s: %v", path, err))
		}
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		l.errs = append(l.errs, fmt.Errorf("%s: more than one YAML document", path))
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	y := yamlWalker{l: l, path: path, seen: map[string]*yaml.Node{}}
	y.mapping(doc.Content[0], "")
}

type yamlWalker struct {
	l    *loader
	path string
	seen map[string]*yaml.Node // field name -> the key node that set it
}

func (y *yamlWalker) errorf(line int, format string, args ...any) {
	y.l.errs = append(y.l.errs, origin{label: y.path, line: line}.errorf(format, args...))
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describeNode(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", Redact(n.Value))
}

// mapping walks a mapping node whose dotted key is prefix ("" for the document's top level).
func (y *yamlWalker) mapping(n *yaml.Node, prefix string) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		if prefix == "" {
			y.errorf(n.Line, "the top level must be a mapping of sections (rabbitmq, worker, metrics, logging), not %s", describeNode(n))
		} else {
			y.errorf(n.Line, "%q must be a mapping of keys, not %s", prefix, describeNode(n))
		}
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			y.errorf(k.Line, "a key must be a plain name, not %s", describeNode(k))
			continue
		}
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		switch f := fieldByKey[key]; {
		case f != nil:
			if prev, dup := y.seen[f.name]; dup {
				if prevKey := keyOf(f, prev); prevKey == key {
					y.errorf(k.Line, "duplicate key %q, already given at line %d", key, prev.Line)
				} else {
					y.errorf(k.Line, "%s and %s (line %d) are the same setting; keep one", key, prevKey, prev.Line)
				}
				continue
			}
			y.seen[f.name] = k
			y.value(f, key, v)
		case sections[key]:
			y.mapping(v, key)
		default:
			y.errorf(k.Line, "unknown key %q", key)
		}
	}
}

// keyOf returns the YAML key (among f's names) of the key node prev.
func keyOf(f *field, prev *yaml.Node) string {
	if f.keyAlias != "" && lastPart(f.keyAlias) == prev.Value {
		return f.keyAlias
	}
	return f.key
}

func lastPart(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '.' {
			return key[i+1:]
		}
	}
	return key
}

// value applies the YAML value v of key to field f.
func (y *yamlWalker) value(f *field, key string, v *yaml.Node) {
	v = deref(v)
	if isNull(v) {
		return
	}
	o := origin{source: SourceFile, label: y.path + ": " + key, line: v.Line}
	if f.kind == kindList {
		switch v.Kind {
		case yaml.ScalarNode:
			y.l.set(f, v.Value, o)
		case yaml.SequenceNode:
			items := make([]string, 0, len(v.Content))
			for _, it := range v.Content {
				it = deref(it)
				if it.Kind != yaml.ScalarNode || isNull(it) {
					y.l.errs = append(y.l.errs, origin{label: o.label, line: it.Line}.errorf("each item must be a queue name, not %s", describeNode(it)))
					return
				}
				items = append(items, it.Value)
			}
			y.l.cfg.Queues = items
			y.l.origins[f.name] = o
		default:
			y.l.errs = append(y.l.errs, o.errorf("must be a list of queue names, not %s", describeNode(v)))
		}
		return
	}
	if v.Kind != yaml.ScalarNode {
		y.l.errs = append(y.l.errs, o.errorf("must be a single value, not %s", describeNode(v)))
		return
	}
	y.l.set(f, v.Value, o)
}

package registry

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/arqhost/arqhost/host/wasm"
)

// SidecarPath returns the path of the optional limits file of the module at wasmPath:
// "name.yaml" beside "name.wasm".
func SidecarPath(wasmPath string) string {
	return strings.TrimSuffix(wasmPath, ".wasm") + ".yaml"
}

// sidecarKeys are the keys a sidecar file may hold, with how each sets a field of wasm.Limits.
var sidecarKeys = map[string]func(*wasm.Limits, string) error{
	"memory_limit": func(l *wasm.Limits, v string) error {
		n, err := ParseBytes(v)
		if err != nil {
			return err
		}
		pages := (n + wasm.PageSize - 1) / wasm.PageSize
		if pages == 0 || pages > 65536 {
			return fmt.Errorf("%q must be between 64KiB and 4GiB", v)
		}
		l.MemoryPages = uint32(pages)
		return nil
	},
	"timeout": func(l *wasm.Limits, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 30s or 5m", v)
		}
		l.Timeout = d
		return nil
	},
	"max_instances": func(l *wasm.Limits, v string) error { return parseCount(v, 1, &l.MaxInstances) },
	"min_instances": func(l *wasm.Limits, v string) error { return parseCount(v, 0, &l.MinInstances) },
	"max_output": func(l *wasm.Limits, v string) error {
		n, err := ParseBytes(v)
		if err != nil {
			return err
		}
		if n == 0 || n > math.MaxUint32 {
			return fmt.Errorf("%q must be between 1 byte and 4GiB", v)
		}
		l.MaxOutputBytes = uint32(n)
		return nil
	},
}

func parseCount(v string, least int, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return fmt.Errorf("%q is not a whole number of at least %d", v, least)
	}
	*dst = n
	return nil
}

// ReadSidecar reads the limits file of the module at wasmPath. A missing file means no overrides.
// Unknown keys and bad values are errors that name the file and the key.
func ReadSidecar(wasmPath string) (wasm.Limits, error) {
	path := SidecarPath(wasmPath)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return wasm.Limits{}, nil
	}
	if err != nil {
		return wasm.Limits{}, err
	}
	l, err := parseSidecar(b)
	if err != nil {
		return wasm.Limits{}, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

func parseSidecar(b []byte) (wasm.Limits, error) {
	var l wasm.Limits
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return l, fmt.Errorf("not a YAML mapping of limits: %w", err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set, ok := sidecarKeys[k]
		if !ok {
			return l, fmt.Errorf("unknown key %q (known keys: %s)", k, knownKeys())
		}
		node := doc[k]
		if node.Kind != yaml.ScalarNode {
			return l, fmt.Errorf("key %q (line %d): want a single value", k, node.Line)
		}
		if err := set(&l, node.Value); err != nil {
			return l, fmt.Errorf("key %q (line %d): %w", k, node.Line, err)
		}
	}
	if err := l.Validate(); err != nil {
		return l, err
	}
	return l, nil
}

func knownKeys() string {
	ks := make([]string, 0, len(sidecarKeys))
	for k := range sidecarKeys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// ParseBytes parses a size: a whole number of bytes ("1048576") or a number with a binary unit
// ("512KiB", "64MiB", "1.5GiB"; also "B"). Decimal units (MB) are refused as ambiguous.
func ParseBytes(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f*mult > math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a size such as 65536, 512KiB, 64MiB or 1GiB", s)
	}
	return uint64(math.Ceil(f * mult)), nil
}

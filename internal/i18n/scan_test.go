package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// scanRoots are the module directories whose operator-facing strings must have a translation.
// Each is walked recursively (testdata and hidden directories skipped); a missing root (cmd, before
// the CLI exists) is ignored.
var scanRoots = []string{"host", "internal/broker", "internal/store", "client", "cmd", "internal/control"}

// i18nImportPath is this package's import path: calls to T and Tf through it are collected.
const i18nImportPath = "github.com/arqhost/arqhost/internal/i18n"

// msgArg gives, for each slog logger method, the position of its message argument.
var msgArg = map[string]int{
	"Debug": 0, "Info": 0, "Warn": 0, "Error": 0,
	"DebugContext": 1, "InfoContext": 1, "WarnContext": 1, "ErrorContext": 1,
	"Log": 2, "LogAttrs": 2,
}

// attrCtors are the slog functions whose first argument is an attribute key.
var attrCtors = map[string]bool{
	"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true, "Bool": true,
	"Time": true, "Duration": true, "Any": true, "Group": true,
}

// occurrence is one string found in the source, with where it was found.
type occurrence struct {
	text string
	pos  string
}

// scanResult is what the scanner found: log and CLI messages, and attribute keys.
type scanResult struct {
	messages []occurrence
	keys     []occurrence
	files    int
}

// moduleRoot is the repository root, two levels above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the package directory: %v", err)
	}
	return root
}

// scanTree parses the non-test Go files under scanRoots and collects every constant message passed
// to a slog logger method, to a message-building helper (see template), or to T/Tf, the values of
// Status constants, and every constant attribute key.
func scanTree(t *testing.T) scanResult {
	t.Helper()
	root := moduleRoot(t)
	var res scanResult
	for _, r := range scanRoots {
		base := filepath.Join(root, filepath.FromSlash(r))
		if _, err := os.Stat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			name := d.Name()
			if path != base && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			n, err := scanPackage(root, path, &res)
			res.files += n
			return err
		})
		if err != nil {
			t.Fatalf("scanning %s: %v", r, err)
		}
	}
	return res
}

// pkgScan holds one directory's parsed files and what is known about them.
type pkgScan struct {
	fset   *token.FileSet
	root   string
	files  []*ast.File
	consts map[string]string // string constants declared anywhere in the package, by name
	res    *scanResult
}

// template is a function that logs or translates a message built from its own parameters, such
// as host/job.go's requeue (what+"; returning the job to the queue") or the CLI's t(msg). Its call
// sites with constant arguments give the messages that actually occur.
type template struct {
	parts    []part
	arity    int  // number of parameters; call sites with another count are other functions
	variadic bool // the last parameter is variadic: call sites may have arity-1 arguments or more
}

// part is a constant piece of a message, or the parameter at param. With each, the parameter is a
// slice whose elements are messages one by one (for _, s := range header { T(lang, s) }).
type part struct {
	lit   string
	param int // -1 for a literal
	each  bool
}

// funcInfo is what the scanner needs of a function declaration: its parameters by name, with
// range variables over a slice parameter standing for each of its elements.
type funcInfo struct {
	name     string
	params   map[string]part
	arity    int
	variadic bool
}

func newFuncInfo(fd *ast.FuncDecl) *funcInfo {
	fi := &funcInfo{name: fd.Name.Name, params: map[string]part{}}
	for _, field := range fd.Type.Params.List {
		_, fi.variadic = field.Type.(*ast.Ellipsis)
		if len(field.Names) == 0 {
			fi.arity++
		}
		for _, name := range field.Names {
			fi.params[name.Name] = part{param: fi.arity}
			fi.arity++
		}
	}
	ast.Inspect(fd, func(n ast.Node) bool {
		r, ok := n.(*ast.RangeStmt)
		if !ok {
			return true
		}
		x, ok1 := r.X.(*ast.Ident)
		v, ok2 := r.Value.(*ast.Ident)
		if !ok1 || !ok2 {
			return true
		}
		if pt, isParam := fi.params[x.Name]; isParam && !pt.each {
			fi.params[v.Name] = part{param: pt.param, each: true}
		}
		return true
	})
	return fi
}

// matches reports whether a call with n arguments can be a call of t's function.
func (t template) matches(n int) bool {
	return n == t.arity || t.variadic && n >= t.arity-1
}

// callName is the name a call calls (f or x.f), or "".
func callName(call *ast.CallExpr) string {
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		return fun.Name
	case *ast.SelectorExpr:
		return fun.Sel.Name
	}
	return ""
}

func scanPackage(root, dir string, res *scanResult) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	p := &pkgScan{fset: token.NewFileSet(), root: root, consts: map[string]string{}, res: res}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return 0, err
		}
		p.files = append(p.files, f)
	}
	p.collectConsts()

	// Direct messages and keys, and the functions that pass a parameter on as a message.
	templates := map[string][]template{}
	funcs := map[*ast.FuncDecl]*funcInfo{}
	for _, f := range p.files {
		i18nPkg := i18nName(f)
		for _, decl := range f.Decls {
			var fi *funcInfo
			if fd, ok := decl.(*ast.FuncDecl); ok {
				fi = newFuncInfo(fd)
				funcs[fd] = fi
			}
			p.scanDecl(decl, fi, i18nPkg, templates)
		}
	}
	p.deriveTemplates(funcs, templates)
	// Calls of those functions with constant arguments give messages.
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for _, tpl := range templates[callName(call)] {
				if tpl.matches(len(call.Args)) {
					for _, s := range p.compose(tpl, call.Args) {
						p.addMessage(s, call)
					}
				}
			}
			return true
		})
	}
	return len(p.files), nil
}

// deriveTemplates follows messages through helpers: a function that passes its own parameter to a
// template function is a template too (the CLI's table(header) calls t(s) for each header, and
// t(msg) calls i18n.T(lang, msg)).
func (p *pkgScan) deriveTemplates(funcs map[*ast.FuncDecl]*funcInfo, templates map[string][]template) {
	seen := map[string]bool{}
	for name, ts := range templates {
		for _, t := range ts {
			seen[fmt.Sprint(name, t)] = true
		}
	}
	// A few rounds cover any chain of helpers; the bound stops a recursive helper that keeps
	// building longer messages.
	for round, changed := 0, true; changed && round < 8; round++ {
		changed = false
		for fd, fi := range funcs {
			if fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				for _, tpl := range templates[callName(call)] {
					if !tpl.matches(len(call.Args)) {
						continue
					}
					parts, ok := p.substitute(tpl, call.Args, fi)
					if !ok {
						continue
					}
					t := template{parts: parts, arity: fi.arity, variadic: fi.variadic}
					if key := fmt.Sprint(fi.name, t); !seen[key] {
						seen[key] = true
						templates[fi.name] = append(templates[fi.name], t)
						changed = true
					}
				}
				return true
			})
		}
	}
}

// substitute rewrites tpl, called with args inside fi, in terms of fi's parameters. It fails when
// an argument is neither constant nor built from fi's parameters, or when the result depends on
// none of them (the call is then expanded as it is).
func (p *pkgScan) substitute(tpl template, args []ast.Expr, fi *funcInfo) ([]part, bool) {
	var out []part
	dependent := false
	for _, pt := range tpl.parts {
		if pt.param < 0 {
			out = append(out, pt)
			continue
		}
		if pt.param >= len(args) {
			return nil, false
		}
		sub, ok := p.templateParts(args[pt.param], fi.params)
		if !ok {
			return nil, false
		}
		if pt.each { // the slice itself is passed on
			if len(sub) != 1 || sub[0].param < 0 || sub[0].each {
				return nil, false
			}
			sub[0].each = true
		}
		for _, s := range sub {
			dependent = dependent || s.param >= 0
		}
		out = append(out, sub...)
	}
	return out, dependent
}

// collectConsts records the package's string constants, resolving constants defined from others.
func (p *pkgScan) collectConsts() {
	var specs []*ast.ValueSpec
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					specs = append(specs, s.(*ast.ValueSpec))
				}
			}
			return true
		})
	}
	// Job statuses are shown to operators translated (the CLI's a.t(string(status))): the values
	// of every constant of a type named Status are messages too.
	defer func() {
		for _, s := range specs {
			if typ, ok := s.Type.(*ast.Ident); ok && typ.Name == "Status" {
				for _, name := range s.Names {
					if v, ok := p.consts[name.Name]; ok {
						p.addMessage(v, name)
					}
				}
			}
		}
	}()
	for changed := true; changed; {
		changed = false
		for _, s := range specs {
			for i, name := range s.Names {
				if i >= len(s.Values) {
					break
				}
				if _, done := p.consts[name.Name]; done {
					continue
				}
				if v, ok := p.constString(s.Values[i]); ok {
					p.consts[name.Name] = v
					changed = true
				}
			}
		}
	}
}

// constString evaluates e if it is a constant string expression: literals, known constants,
// parentheses and concatenation.
func (p *pkgScan) constString(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := p.consts[e.Name]
		return s, ok
	case *ast.ParenExpr:
		return p.constString(e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok1 := p.constString(e.X)
		y, ok2 := p.constString(e.Y)
		return x + y, ok1 && ok2
	}
	return "", false
}

func (p *pkgScan) pos(n ast.Node) string {
	pos := p.fset.Position(n.Pos())
	if rel, err := filepath.Rel(p.root, pos.Filename); err == nil {
		pos.Filename = filepath.ToSlash(rel)
	}
	return pos.String()
}

func (p *pkgScan) addMessage(s string, n ast.Node) {
	p.res.messages = append(p.res.messages, occurrence{s, p.pos(n)})
}

func (p *pkgScan) addKey(e ast.Expr) bool {
	if s, ok := p.constString(e); ok {
		p.res.keys = append(p.res.keys, occurrence{s, p.pos(e)})
		return true
	}
	return false
}

// addKeyValues collects the keys of a slog key-value argument list: a string is a key followed by
// its value, anything else an Attr (or a value slog reports as !BADKEY).
func (p *pkgScan) addKeyValues(args []ast.Expr) {
	for i := 0; i < len(args); i++ {
		if p.addKey(args[i]) {
			i++
		}
	}
}

// i18nName is the name file f imports this package under, or "".
func i18nName(f *ast.File) string {
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); path == i18nImportPath {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return "i18n"
		}
	}
	return ""
}

// scanDecl collects the declaration's constant messages and keys, and records fi's function as a
// template when it logs or translates a message built from its parameters.
func (p *pkgScan) scanDecl(decl ast.Decl, fi *funcInfo, i18nPkg string, templates map[string][]template) {
	addTemplate := func(msg ast.Expr) {
		if fi == nil {
			return
		}
		if parts, ok := p.templateParts(msg, fi.params); ok {
			templates[fi.name] = append(templates[fi.name], template{parts: parts, arity: fi.arity, variadic: fi.variadic})
		}
	}
	ast.Inspect(decl, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		name := sel.Sel.Name
		if x, ok := sel.X.(*ast.Ident); ok {
			if x.Name == "slog" && attrCtors[name] && len(call.Args) > 0 {
				p.addKey(call.Args[0])
				return true
			}
			if i18nPkg != "" && x.Name == i18nPkg && (name == "T" || name == "Tf") && len(call.Args) > 1 {
				if s, ok := p.constString(call.Args[1]); ok {
					p.addMessage(s, call.Args[1])
				} else {
					addTemplate(call.Args[1])
				}
				return true
			}
		}
		if name == "With" {
			p.addKeyValues(call.Args)
			return true
		}
		idx, isLog := msgArg[name]
		if !isLog || len(call.Args) <= idx {
			return true
		}
		msg := call.Args[idx]
		if s, ok := p.constString(msg); ok {
			p.addMessage(s, msg)
		} else {
			addTemplate(msg)
		}
		p.addKeyValues(call.Args[idx+1:])
		return true
	})
}

// templateParts splits a message expression made of constants and the enclosing function's
// parameters, joined with +. It fails for anything else (a call such as fmt.Sprintf, a field).
func (p *pkgScan) templateParts(e ast.Expr, params map[string]part) ([]part, bool) {
	if s, ok := p.constString(e); ok {
		return []part{{lit: s, param: -1}}, true
	}
	switch e := e.(type) {
	case *ast.Ident:
		if pt, ok := params[e.Name]; ok {
			return []part{pt}, true
		}
	case *ast.ParenExpr:
		return p.templateParts(e.X, params)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			x, ok1 := p.templateParts(e.X, params)
			y, ok2 := p.templateParts(e.Y, params)
			return append(x, y...), ok1 && ok2
		}
	}
	return nil, false
}

// compose fills tpl's parameters with the call's arguments and returns the messages that result.
// It returns none when an argument is not constant (a guest's own log line, say): such a message
// cannot be checked.
func (p *pkgScan) compose(tpl template, args []ast.Expr) []string {
	out := []string{""}
	for _, pt := range tpl.parts {
		var alts []string
		switch {
		case pt.param < 0:
			alts = []string{pt.lit}
		case pt.param >= len(args):
			return nil
		case pt.each:
			lit, ok := args[pt.param].(*ast.CompositeLit)
			if !ok {
				return nil
			}
			for _, el := range lit.Elts {
				s, ok := p.constString(el)
				if !ok {
					return nil
				}
				alts = append(alts, s)
			}
		default:
			s, ok := p.constString(args[pt.param])
			if !ok {
				return nil
			}
			alts = []string{s}
		}
		next := make([]string, 0, len(out)*len(alts))
		for _, o := range out {
			for _, a := range alts {
				next = append(next, o+a)
			}
		}
		out = next
	}
	return out
}

// distinct returns the distinct texts of occs, sorted, with the first place each was found.
func distinct(occs []occurrence) ([]string, map[string]string) {
	where := map[string]string{}
	for _, o := range occs {
		if _, seen := where[o.text]; !seen {
			where[o.text] = o.pos
		}
	}
	texts := make([]string, 0, len(where))
	for s := range where {
		texts = append(texts, s)
	}
	sort.Strings(texts)
	return texts, where
}

// TestCatalogCoversSource fails for every message logged (or printed by the CLI through T/Tf) that
// has no Chinese translation. Add the message to messages in catalog.go.
func TestCatalogCoversSource(t *testing.T) {
	res := scanTree(t)
	if res.files == 0 || len(res.messages) == 0 {
		t.Fatalf("the scan found %d files and %d messages: the scanner is broken", res.files, len(res.messages))
	}
	texts, where := distinct(res.messages)
	for _, s := range Missing(texts) {
		t.Errorf("%s: message has no zh translation; add it to messages in internal/i18n/catalog.go:\n\t%q", where[s], s)
	}
	t.Logf("%d files, %d distinct messages checked", res.files, len(texts))
}

// TestKeyCatalogCoversSource fails for every constant attribute key in the source that has no
// Chinese translation. Add the key to keys in catalog.go.
func TestKeyCatalogCoversSource(t *testing.T) {
	res := scanTree(t)
	if len(res.keys) == 0 {
		t.Fatal("the scan found no attribute keys: the scanner is broken")
	}
	texts, where := distinct(res.keys)
	for _, k := range texts {
		if _, ok := keys[k]; !ok {
			t.Errorf("%s: attribute key has no zh translation; add it to keys in internal/i18n/catalog.go:\n\t%q", where[k], k)
		}
	}
	t.Logf("%d distinct keys checked", len(texts))
}

// TestScannerFindsComposedMessages checks that the helper-built messages of host/job.go are found,
// so that the completeness test covers them.
func TestScannerFindsComposedMessages(t *testing.T) {
	res := scanTree(t)
	texts, _ := distinct(res.messages)
	found := map[string]bool{}
	for _, s := range texts {
		found[s] = true
	}
	for _, want := range []string{
		"cannot read the job's record; returning the job to the queue",
		"cannot record the job's result yet; trying again",
	} {
		if !found[want] {
			t.Errorf("the scanner did not compose %q from host/job.go", want)
		}
	}
}

// TestCatalogHasNoStaleEntries reports catalog entries that no longer occur in the source, so that
// the catalog does not fill with dead text. It only logs: a message may be removed by one change
// and its translation by the next.
func TestCatalogHasNoStaleEntries(t *testing.T) {
	res := scanTree(t)
	texts, _ := distinct(res.messages)
	present := map[string]bool{}
	for _, s := range texts {
		present[s] = true
	}
	var stale []string
	for s := range messages {
		if !present[s] {
			stale = append(stale, s)
		}
	}
	sort.Strings(stale)
	for _, s := range stale {
		t.Logf("catalog entry not found in the source: %q", s)
	}
}

// TestScannerOnSample runs the scanner over a sample package with every form it must recognise.
func TestScannerOnSample(t *testing.T) {
	dir := t.TempDir()
	src := `package sample

import (
	"context"
	"fmt"
	"log/slog"

	tr "github.com/arqhost/arqhost/internal/i18n"
)

const prefix = "const "
const constMsg = prefix + "message"

type Status string

const StatusDone Status = "done"

type app struct{ lang tr.Lang }

func (a *app) t(msg string) string { return tr.T(a.lang, msg) }

func (a *app) table(header []string) {
	for _, h := range header {
		_ = a.t(h)
	}
}

func requeue(log *slog.Logger, what string, err error) {
	log.Error(what+"; suffix", "err", err)
}

func run(ctx context.Context, log *slog.Logger, a *app, dyn string) {
	log.Debug("debug msg", "k1", 1)
	log.Info("info msg", "k2", 2, slog.Int("k3", 3), "k4", 4)
	log.Warn("warn msg")
	log.Error("error msg")
	log.InfoContext(ctx, "context msg")
	log.Log(ctx, slog.LevelInfo, "log msg")
	log.LogAttrs(ctx, slog.LevelWarn, "logattrs msg", slog.String("k5", "v"))
	log.With("k6", 6).Info(constMsg)
	log.Info(dyn)
	log.Info(fmt.Sprintf("built %d", 1))
	requeue(log, "cannot do it", nil)
	requeue(log, dyn, nil)
	_ = tr.T(a.lang, "cli message")
	_ = tr.Tf(a.lang, "cli %s format", "x")
	_ = a.t("wrapped message")
	_ = a.t(dyn)
	a.table([]string{"COL A", "COL B"})
}
`
	if err := os.WriteFile(filepath.Join(dir, "sample.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	test := "package sample\n\nimport \"log/slog\"\n\nfunc x(l *slog.Logger) { l.Info(\"from a test file\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "sample_test.go"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	var res scanResult
	if _, err := scanPackage(dir, dir, &res); err != nil {
		t.Fatal(err)
	}
	msgs, _ := distinct(res.messages)
	want := []string{
		"COL A", "COL B", "cannot do it; suffix", "cli %s format", "cli message", "const message",
		"context msg", "debug msg", "done", "error msg", "info msg", "log msg", "logattrs msg",
		"warn msg", "wrapped message",
	}
	if strings.Join(msgs, "|") != strings.Join(want, "|") {
		t.Errorf("messages:\n got %q\nwant %q", msgs, want)
	}
	keys, _ := distinct(res.keys)
	wantKeys := []string{"err", "k1", "k2", "k3", "k4", "k5", "k6"}
	if strings.Join(keys, "|") != strings.Join(wantKeys, "|") {
		t.Errorf("keys:\n got %q\nwant %q", keys, wantKeys)
	}
}

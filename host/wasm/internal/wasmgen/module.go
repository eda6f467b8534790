package wasmgen

import (
	"fmt"
	"sort"
)

type funcType struct {
	params, results []valType
}

func (ft funcType) key() string {
	b := make([]byte, 0, len(ft.params)+len(ft.results)+1)
	b = append(b, byte(len(ft.params)))
	for _, t := range ft.params {
		b = append(b, byte(t))
	}
	for _, t := range ft.results {
		b = append(b, byte(t))
	}
	return string(b)
}

// callable reports whether a test can call a function of this type: only i32 and i64.
func (ft funcType) callable() bool {
	for _, t := range append(append([]valType(nil), ft.params...), ft.results...) {
		if t != tI32 && t != tI64 {
			return false
		}
	}
	return true
}

type function struct {
	typ        int
	imported   bool
	importName string
	cost       int64 // estimated instructions executed by one call
	recursive  bool  // param 0 is a depth that bounds calls of the function by itself
	code       []byte
	numLocals  int  // params and declared locals
	small      bool // a filler function with a small body
}

type global struct {
	t          valType
	mut        bool
	imported   bool
	importName string
	init       []byte // constant expression, with end
}

type table struct {
	min, max uint32
	hasMax   bool
	imported bool // "env"."table"; min and max are the limits of the import
}

type elemSeg struct {
	flags  byte
	table  uint32
	offset []byte   // constant expression with end, for active segments
	funcs  []int    // flags 0-3
	exprs  [][]byte // flags 4-7, each with end
	refs   []int    // the function index of each element, -1 for null
}

func (s *elemSeg) active() bool  { return s.flags&1 == 0 }
func (s *elemSeg) passive() bool { return s.flags&3 == 1 }

type dataSeg struct {
	flags  byte
	offset []byte
	data   []byte
}

type export struct {
	name string
	kind byte
	idx  uint32
}

type importEntry struct {
	kind byte // 0 func, 1 table, 2 memory, 3 global
	idx  int
}

type gen struct {
	r   *source
	cfg Config

	types     []funcType
	typeIndex map[string][]int

	imports     []importEntry
	funcs       []*function // imported, then defined
	nImpFuncs   int
	globals     []*global // imported, then defined
	nImpGlobals int

	tables     []table
	callTab    int   // -1 if none
	scratchTab int   // -1 if none
	callSlots  []int // the call table after instantiation: function index or -1
	elems      []*elemSeg
	initElems  []int // passive funcref segments that table.init may use
	dropElems  []int // segments that elem.drop may drop

	hasMemory    bool
	memMin       uint32
	memMax       uint32
	hasMemMax    bool // memory.grow is bounded
	memImported  bool // the memory is "env"."memory"
	memImpMax    uint32
	memImpHasMax bool
	datas        []*dataSeg
	initDatas    []int // passive segments that memory.init may use
	dropDatas    []int // segments that data.drop may drop
	useDataCount bool

	pad     *source // set in modules with padded LEB128 encodings
	exports []export
	start   int // -1 if none
	refable []int
	loops   int
}

func newGen(seed []byte, cfg Config) *gen {
	return &gen{r: newSource(seed), cfg: cfg, typeIndex: map[string][]int{}, callTab: -1, scratchTab: -1, start: -1}
}

// typeOf returns a type index for ft, adding it to the type section if needed (and sometimes even
// if an identical type exists, so that the section has duplicates).
func (g *gen) typeOf(ft funcType) int {
	k := ft.key()
	if idx := g.typeIndex[k]; len(idx) > 0 && !g.r.oneIn(16) {
		return idx[g.r.intn(len(idx))]
	}
	g.types = append(g.types, ft)
	i := len(g.types) - 1
	g.typeIndex[k] = append(g.typeIndex[k], i)
	return i
}

func (g *gen) simd() bool { return !g.cfg.NoSIMD }

// randType returns a random value type; refs and v128 are rarer.
func (g *gen) randType() valType {
	switch n := g.r.intn(20); {
	case n < 5:
		return tI32
	case n < 9:
		return tI64
	case n < 12:
		return tF32
	case n < 15:
		return tF64
	case n < 17:
		if g.simd() {
			return tV128
		}
		return tI32
	case n < 19:
		return tFuncRef
	default:
		return tExternRef
	}
}

func (g *gen) randNumType() valType {
	for {
		t := g.randType()
		if !t.isRef() {
			return t
		}
	}
}

func (g *gen) randTypes(max int, callable bool) []valType {
	n := g.r.intn(max + 1)
	ts := make([]valType, n)
	for i := range ts {
		if callable {
			ts[i] = []valType{tI32, tI64}[g.r.intn(2)]
		} else {
			ts[i] = g.randType()
		}
	}
	return ts
}

func (g *gen) module() *Module {
	r := g.r
	// A few types first, so that function types do not always start at index 0; sometimes more
	// than 128, so that a type index appended to the section needs two bytes.
	nTypes := r.intn(3)
	if !g.cfg.NoManyFuncs && r.oneIn(8) {
		nTypes = r.rangeIn(100, 140)
	}
	for i := nTypes; i > 0; i-- {
		g.typeOf(funcType{g.randTypes(2, false), g.randTypes(2, false)})
	}
	if r.oneIn(6) {
		g.pad = r
	}
	g.genImports()
	g.genSignatures()
	g.genGlobals()
	g.genMemory()
	g.genTables()
	g.genExports()
	g.computeRefable()
	for i := g.nImpFuncs; i < len(g.funcs); i++ {
		g.genBody(i)
	}
	m := &Module{
		ImportedFuncs:   g.nImpFuncs,
		DefinedFuncs:    len(g.funcs) - g.nImpFuncs,
		ImportedGlobals: g.nImpGlobals,
		DefinedGlobals:  len(g.globals) - g.nImpGlobals,
		Start:           g.start >= 0,
		Memory:          g.hasMemory,
	}
	m.Binary, m.Names = g.encode()
	m.Loops = g.loops
	return m
}

func (g *gen) genImports() {
	r := g.r
	nf := r.rangeIn(1, g.cfg.MaxImportFuncs)
	switch r.intn(10) {
	case 0:
		nf = 0
	case 1:
		if g.cfg.NoManyFuncs {
			break
		}
		// Many imports, so that defined function indices cross 127/128, where their LEB128
		// encoding grows by a byte.
		nf = r.rangeIn(100, 140)
	}
	ng := 0
	if r.bool() {
		ng = r.rangeIn(1, g.cfg.MaxImportGlobals)
	}
	impType := g.typeOf(funcType{[]valType{tI32}, []valType{tI32}})
	for nf+ng > 0 {
		if nf > 0 && (ng == 0 || r.bool()) {
			nf--
			g.funcs = append(g.funcs, &function{typ: impType, imported: true,
				importName: fmt.Sprintf("imp%d", r.intn(EnvFuncs)), cost: 4})
			g.imports = append(g.imports, importEntry{0, len(g.funcs) - 1})
			continue
		}
		ng--
		k := r.intn(len(envGlobals))
		eg := envGlobals[k]
		if eg.t == tV128 && !g.simd() {
			k, eg = 0, envGlobals[0]
		}
		g.globals = append(g.globals, &global{t: eg.t, mut: eg.mut, imported: true, importName: fmt.Sprintf("g%d", k)})
		g.imports = append(g.imports, importEntry{3, len(g.globals) - 1})
	}
	g.nImpFuncs = len(g.funcs)
	g.nImpGlobals = len(g.globals)
}

func (g *gen) genSignatures() {
	r := g.r
	n := r.rangeIn(1, g.cfg.MaxFuncs)
	fillers := 0
	switch r.intn(32) {
	case 0:
		n = 0
	case 1, 2, 3:
		if g.cfg.NoManyFuncs {
			break
		}
		// Many functions, most of them small fillers, so that function indices cross 127/128.
		fillers = max(0, r.rangeIn(110, 135)-g.nImpFuncs)
		n += fillers
	}
	start := -1
	if n > 0 && r.oneIn(4) {
		start = r.intn(n)
	}
	for i := 0; i < n; i++ {
		var ft funcType
		switch {
		case i == start:
		case r.intn(5) < 3:
			ft = funcType{g.randTypes(g.cfg.MaxParams, true), g.randTypes(min(2, g.cfg.MaxResults), true)}
		default:
			ft = funcType{g.randTypes(g.cfg.MaxParams, false), g.randTypes(g.cfg.MaxResults, false)}
		}
		f := &function{small: i < fillers}
		if len(ft.params) > 0 && ft.params[0] == tI32 && r.oneIn(4) {
			f.recursive = true
		}
		f.typ = g.typeOf(ft)
		g.funcs = append(g.funcs, f)
	}
	if start >= 0 {
		g.start = g.nImpFuncs + start
	}
}

// insertImport inserts an import of a table or memory at a random place among the imports; it
// changes no function or global index.
func (g *gen) insertImport(im importEntry) {
	i := g.r.intn(len(g.imports) + 1)
	g.imports = append(g.imports[:i], append([]importEntry{im}, g.imports[i:]...)...)
}

// immutableImportedGlobal returns the index of a random immutable imported global of type t, or -1.
func (g *gen) immutableImportedGlobal(t valType) int {
	var c []int
	for i := 0; i < g.nImpGlobals; i++ {
		if gl := g.globals[i]; gl.t == t && !gl.mut {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[g.r.intn(len(c))]
}

// importedI32Value returns the value of the imported global i (an i32 one).
func (g *gen) importedI32Value(i int) int64 {
	var k int
	fmt.Sscanf(g.globals[i].importName, "g%d", &k)
	return envGlobals[k].value
}

func (g *gen) genGlobals() {
	r := g.r
	n := r.intn(g.cfg.MaxGlobals + 1)
	if !g.cfg.NoManyFuncs && r.oneIn(8) {
		// Enough globals that one appended to them has an index of two bytes.
		n = r.rangeIn(110, 140)
	}
	for i := 0; i < n; i++ {
		t := g.randType()
		gl := &global{t: t, mut: r.intn(3) > 0}
		e := g.enc()
		if gi := g.immutableImportedGlobal(t); gi >= 0 && r.oneIn(3) {
			e.byte1(0x23)
			e.u32(uint32(gi))
		} else if t == tFuncRef && len(g.funcs) > 0 && r.intn(4) > 0 {
			e.byte1(0xD2)
			e.u32(uint32(r.intn(len(g.funcs))))
		} else {
			constExpr(&e, t, g.randBits(t))
		}
		e.byte1(0x0B)
		gl.init = e.b
		g.globals = append(g.globals, gl)
	}
}

func (g *gen) genMemory() {
	r := g.r
	if r.oneIn(16) {
		return
	}
	g.hasMemory = true
	g.memMin = 1
	switch {
	case r.oneIn(4):
		// Imported: the env memory has 1 page and at most envMemoryMax.
		g.memImported = true
		g.hasMemMax, g.memMax = true, envMemoryMax
		if r.bool() {
			g.memImpHasMax, g.memImpMax = true, envMemoryMax+uint32(r.intn(2))
		}
		g.insertImport(importEntry{kind: 2})
	case r.bool():
		g.hasMemMax = true
		g.memMax = uint32(r.rangeIn(1, 3))
	}
	for i := r.intn(4); i > 0; i-- {
		d := &dataSeg{data: make([]byte, r.intn(40))}
		for j := range d.data {
			d.data[j] = r.next()
		}
		switch r.intn(4) {
		case 0:
			d.flags = 1
		default:
			d.flags = byte(r.intn(2)) * 2
			e := g.enc()
			if gi := g.immutableImportedGlobal(tI32); gi >= 0 && r.oneIn(3) {
				e.byte1(0x23)
				e.u32(uint32(gi))
			} else {
				e.byte1(0x41)
				e.s32(int32(r.intn(65536 - len(d.data) + 1)))
			}
			e.byte1(0x0B)
			d.offset = e.b
		}
		g.datas = append(g.datas, d)
	}
	for i, d := range g.datas {
		if d.flags == 1 && r.intn(3) > 0 {
			g.initDatas = append(g.initDatas, i)
		} else if r.bool() {
			g.dropDatas = append(g.dropDatas, i)
		}
	}
}

// enc returns an encoder, with padded LEB128 in modules that have them.
func (g *gen) enc() enc { return enc{pad: g.pad} }

// elemExpr returns the constant expression of an element: ref.func f or, for f < 0, ref.null.
func (g *gen) elemExpr(f int) []byte {
	e := g.enc()
	if f < 0 {
		e.byte1(0xD0, byte(tFuncRef))
	} else {
		e.byte1(0xD2)
		e.u32(uint32(f))
	}
	e.byte1(0x0B)
	return e.b
}

func (g *gen) genTables() {
	r := g.r
	hasCall := len(g.funcs) > 0 && !r.oneIn(8)
	hasScratch := r.bool()
	scratchImported := hasScratch && r.oneIn(3)
	if hasCall {
		g.callTab = 0
	}
	if hasScratch {
		g.scratchTab = 0
		if hasCall {
			// An imported table comes before the defined ones.
			if !scratchImported && r.bool() {
				g.scratchTab = 1
			} else {
				g.callTab = 1
			}
		}
	}
	g.tables = make([]table, b2i(hasCall)+b2i(hasScratch))
	if hasCall {
		t := table{min: uint32(r.rangeIn(1, 12))}
		if r.bool() {
			t.hasMax, t.max = true, t.min+uint32(r.intn(4))
		}
		g.tables[g.callTab] = t
		g.callSlots = make([]int, t.min)
		for i := range g.callSlots {
			g.callSlots[i] = -1
		}
	}
	if hasScratch {
		t := table{min: uint32(r.rangeIn(1, 8))}
		if !r.oneIn(4) {
			t.hasMax, t.max = true, t.min+uint32(r.intn(8))
		}
		if scratchImported {
			// The env table has envTableMin elements and at most envTableMax.
			t = table{min: uint32(r.rangeIn(1, envTableMin)), imported: true}
			if r.bool() {
				t.hasMax, t.max = true, envTableMax+uint32(r.intn(3))
			}
			g.insertImport(importEntry{kind: 1, idx: g.scratchTab})
		}
		g.tables[g.scratchTab] = t
	}
	randFunc := func(nullOK bool) int {
		if len(g.funcs) == 0 || (nullOK && r.oneIn(5)) {
			return -1
		}
		return r.intn(len(g.funcs))
	}
	var segs []*elemSeg
	// Active segments.
	for ti := range g.tables {
		for n := r.intn(4); n > 0; n-- {
			size := int(g.tables[ti].min)
			length := r.intn(size + 1)
			s := &elemSeg{table: uint32(ti)}
			e := g.enc()
			off := -1
			if gi := g.immutableImportedGlobal(tI32); gi >= 0 && r.oneIn(3) {
				if v := int(g.importedI32Value(gi)); v+length <= size {
					off = v
					e.byte1(0x23)
					e.u32(uint32(gi))
				}
			}
			if off < 0 {
				off = r.intn(size - length + 1)
				e.byte1(0x41)
				e.s32(int32(off))
			}
			e.byte1(0x0B)
			s.offset = e.b
			exprs := r.bool()
			if ti == 0 && r.bool() {
				s.flags = 0
			} else {
				s.flags = 2
			}
			if exprs {
				s.flags += 4
			}
			for j := 0; j < length; j++ {
				f := randFunc(exprs)
				s.refs = append(s.refs, f)
				if exprs {
					s.exprs = append(s.exprs, g.elemExpr(f))
				} else {
					s.funcs = append(s.funcs, f)
				}
			}
			if len(g.funcs) == 0 && !exprs {
				s.funcs, s.refs = nil, nil
			}
			segs = append(segs, s)
		}
	}
	// Passive and declarative segments.
	for n := r.intn(4); n > 0; n-- {
		s := &elemSeg{flags: byte(1 + 2*r.intn(2))}
		exprs := r.bool() || len(g.funcs) == 0
		if exprs {
			s.flags += 4
		}
		for j := r.intn(7); j > 0; j-- {
			f := randFunc(exprs)
			if !exprs && f < 0 {
				continue
			}
			s.refs = append(s.refs, f)
			if exprs {
				s.exprs = append(s.exprs, g.elemExpr(f))
			} else {
				s.funcs = append(s.funcs, f)
			}
		}
		segs = append(segs, s)
	}
	r.shuffle(len(segs), func(i, j int) { segs[i], segs[j] = segs[j], segs[i] })
	g.elems = segs
	for i, s := range segs {
		switch {
		case s.active() && int(s.table) == g.callTab:
			// The offset is in bounds: apply it to know the call table after instantiation.
			off := g.evalOffset(s.offset)
			copy(g.callSlots[off:], s.refs)
			if r.bool() {
				g.dropElems = append(g.dropElems, i)
			}
		case s.passive() && g.scratchTab >= 0 && r.intn(3) > 0:
			g.initElems = append(g.initElems, i)
		default:
			if r.bool() {
				g.dropElems = append(g.dropElems, i)
			}
		}
	}
}

// evalOffset evaluates an i32.const or global.get offset expression.
func (g *gen) evalOffset(e []byte) int {
	switch e[0] {
	case 0x41:
		v, _ := readS64(e[1:])
		return int(v)
	case 0x23:
		idx, _ := readU32(e[1:])
		return int(g.importedI32Value(int(idx)))
	}
	panic("wasmgen: bad offset expression")
}

func readU32(b []byte) (uint32, int) {
	var v uint32
	for i, c := range b {
		v |= uint32(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return v, len(b)
}

func readS64(b []byte) (int64, int) {
	var v int64
	var shift uint
	for i, c := range b {
		v |= int64(c&0x7F) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, i + 1
		}
	}
	return v, len(b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (g *gen) genExports() {
	r := g.r
	names := map[string]bool{}
	add := func(name string, kind byte, idx int) {
		if names[name] {
			return
		}
		names[name] = true
		g.exports = append(g.exports, export{name, kind, uint32(idx)})
	}
	var callable []int
	for i := g.nImpFuncs; i < len(g.funcs); i++ {
		if g.types[g.funcs[i].typ].callable() {
			callable = append(callable, i)
		}
	}
	for _, i := range callable {
		if (!g.funcs[i].small && r.intn(4) > 0) || r.oneIn(16) {
			add(fmt.Sprintf("f%d", i), 0, i)
			if r.oneIn(8) {
				add(fmt.Sprintf("f%d_alias", i), 0, i)
			}
		}
	}
	if len(callable) > 0 && len(g.exports) == 0 {
		i := callable[r.intn(len(callable))]
		add(fmt.Sprintf("f%d", i), 0, i)
	}
	if g.nImpFuncs > 0 && r.oneIn(4) {
		add("imp_reexport", 0, r.intn(g.nImpFuncs))
	}
	for i, gl := range g.globals {
		if (gl.t.isNum() && r.bool()) || (gl.t == tFuncRef && r.oneIn(4)) {
			add(fmt.Sprintf("g%d", i), 3, i)
		}
	}
	if g.hasMemory {
		add("memory", 2, 0)
	}
	for i := range g.tables {
		if r.oneIn(3) {
			add(fmt.Sprintf("table%d", i), 1, i)
		}
	}
	// Shuffle so that export order does not follow index order.
	r.shuffle(len(g.exports), func(i, j int) { g.exports[i], g.exports[j] = g.exports[j], g.exports[i] })
}

// computeRefable collects the functions ref.func may name in a body, and sometimes adds a
// declarative segment for more.
func (g *gen) computeRefable() {
	set := map[int]bool{}
	for _, s := range g.elems {
		for _, f := range s.refs {
			if f >= 0 {
				set[f] = true
			}
		}
	}
	for _, e := range g.exports {
		if e.kind == 0 {
			set[int(e.idx)] = true
		}
	}
	for _, gl := range g.globals {
		if !gl.imported && gl.init[0] == 0xD2 {
			idx, _ := readU32(gl.init[1:])
			set[int(idx)] = true
		}
	}
	if len(g.funcs) > 0 && g.r.bool() {
		s := &elemSeg{flags: 3}
		if g.r.bool() {
			s.flags = 7
		}
		for n := g.r.rangeIn(1, 4); n > 0; n-- {
			f := g.r.intn(len(g.funcs))
			set[f] = true
			s.refs = append(s.refs, f)
			if s.flags == 7 {
				s.exprs = append(s.exprs, g.elemExpr(f))
			} else {
				s.funcs = append(s.funcs, f)
			}
		}
		g.elems = append(g.elems, s)
	}
	for f := range set {
		g.refable = append(g.refable, f)
	}
	sort.Ints(g.refable)
}

func (s *source) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, s.intn(i+1))
	}
}

// randBits returns the bits of a random constant of type t (low half for v128).
func (g *gen) randBits(t valType) uint64 {
	switch t {
	case tI32:
		return uint64(uint32(g.randInt()))
	case tI64:
		return uint64(g.randInt())
	case tF32:
		return uint64(g.randF32Bits())
	case tF64, tV128:
		return g.randF64Bits()
	}
	return 0
}

var interestingInts = []int64{0, 1, -1, 2, 7, 8, 31, 32, 63, 64, 255, 256, 0x7FFF, 0x8000, 0xFFFF,
	0x7FFFFFFF, -0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000, 100, -100}

func (g *gen) randInt() int64 {
	r := g.r
	switch r.intn(4) {
	case 0:
		return interestingInts[r.intn(len(interestingInts))]
	case 1:
		return int64(r.intn(256)) - 128
	case 2:
		return int64(r.u32())
	default:
		return int64(r.u64v())
	}
}

var interestingF32 = []uint32{0, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0x7F800000, 0xFF800000,
	0x7FC00000, 0x4F000000, 0xCF000000, 0x5F000000, 0x00000001, 0x7F7FFFFF, 0x40490FDB}

var interestingF64 = []uint64{0, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
	0x3FE0000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0x41E0000000000000,
	0xC1E0000000000000, 0x43E0000000000000, 0x0000000000000001, 0x7FEFFFFFFFFFFFFF, 0x400921FB54442D18}

func (g *gen) randF32Bits() uint32 {
	r := g.r
	switch r.intn(3) {
	case 0:
		return interestingF32[r.intn(len(interestingF32))]
	case 1:
		return r.u32()
	default:
		return f32bits(float32(int32(r.intn(2001))-1000) / 8)
	}
}

func (g *gen) randF64Bits() uint64 {
	r := g.r
	switch r.intn(3) {
	case 0:
		return interestingF64[r.intn(len(interestingF64))]
	case 1:
		return r.u64v()
	default:
		return f64bits(float64(int32(r.intn(2001))-1000) / 8)
	}
}

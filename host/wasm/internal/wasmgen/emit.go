package wasmgen

import "fmt"

// encode returns the binary module and whether it has a name section.
func (g *gen) encode() ([]byte, bool) {
	r := g.r
	type section struct {
		id      byte
		content []byte
	}
	var secs []section
	add := func(id byte, content []byte, n int) {
		if n > 0 || r.oneIn(16) { // empty sections are valid too
			secs = append(secs, section{id, content})
		}
	}

	e := g.enc()
	e.u32(uint32(len(g.types)))
	for _, ft := range g.types {
		e.byte1(0x60)
		e.u32(uint32(len(ft.params)))
		for _, t := range ft.params {
			e.byte1(byte(t))
		}
		e.u32(uint32(len(ft.results)))
		for _, t := range ft.results {
			e.byte1(byte(t))
		}
	}
	add(secType, e.b, len(g.types))

	e = g.enc()
	e.u32(uint32(len(g.imports)))
	for _, im := range g.imports {
		e.name(EnvModuleName)
		switch im.kind {
		case 0:
			fn := g.funcs[im.idx]
			e.name(fn.importName)
			e.byte1(0x00)
			e.u32(uint32(fn.typ))
		case 1:
			e.name("table")
			e.byte1(0x01)
			encodeTableType(&e, g.tables[im.idx])
		case 2:
			e.name("memory")
			e.byte1(0x02)
			encodeLimits(&e, g.memMin, g.memImpMax, g.memImpHasMax)
		default:
			gl := g.globals[im.idx]
			e.name(gl.importName)
			e.byte1(0x03, byte(gl.t), b2u(gl.mut))
		}
	}
	add(secImport, e.b, len(g.imports))

	defined := g.funcs[g.nImpFuncs:]
	e = g.enc()
	e.u32(uint32(len(defined)))
	for _, fn := range defined {
		e.u32(uint32(fn.typ))
	}
	add(secFunction, e.b, len(defined))

	var tables []table
	for _, t := range g.tables {
		if !t.imported {
			tables = append(tables, t)
		}
	}
	e = g.enc()
	e.u32(uint32(len(tables)))
	for _, t := range tables {
		encodeTableType(&e, t)
	}
	add(secTable, e.b, len(tables))

	if g.hasMemory && !g.memImported {
		e = g.enc()
		e.u32(1)
		encodeLimits(&e, g.memMin, g.memMax, g.hasMemMax)
		add(secMemory, e.b, 1)
	}

	defGlobals := g.globals[g.nImpGlobals:]
	e = g.enc()
	e.u32(uint32(len(defGlobals)))
	for _, gl := range defGlobals {
		e.byte1(byte(gl.t), b2u(gl.mut))
		e.byte1(gl.init...)
	}
	add(secGlobal, e.b, len(defGlobals))

	e = g.enc()
	e.u32(uint32(len(g.exports)))
	for _, ex := range g.exports {
		e.name(ex.name)
		e.byte1(ex.kind)
		e.u32(ex.idx)
	}
	add(secExport, e.b, len(g.exports))

	if g.start >= 0 {
		e = g.enc()
		e.u32(uint32(g.start))
		secs = append(secs, section{secStart, e.b})
	}

	e = g.enc()
	e.u32(uint32(len(g.elems)))
	for _, s := range g.elems {
		e.u32(uint32(s.flags))
		if s.flags&2 != 0 && s.flags&1 == 0 {
			e.u32(s.table)
		}
		if s.flags&1 == 0 {
			e.byte1(s.offset...)
		}
		if s.flags&3 != 0 {
			if s.flags&4 != 0 {
				e.byte1(byte(tFuncRef))
			} else {
				e.byte1(0x00)
			}
		}
		if s.flags&4 != 0 {
			e.u32(uint32(len(s.exprs)))
			for _, x := range s.exprs {
				e.byte1(x...)
			}
		} else {
			e.u32(uint32(len(s.funcs)))
			for _, f := range s.funcs {
				e.u32(uint32(f))
			}
		}
	}
	add(secElement, e.b, len(g.elems))

	if len(g.datas) > 0 && (g.useDataCount || r.oneIn(3)) {
		e = g.enc()
		e.u32(uint32(len(g.datas)))
		secs = append(secs, section{secDataCount, e.b})
	}

	e = g.enc()
	e.u32(uint32(len(defined)))
	for _, fn := range defined {
		e.vecBytes(fn.code)
	}
	add(secCode, e.b, len(defined))

	e = g.enc()
	e.u32(uint32(len(g.datas)))
	for _, d := range g.datas {
		e.u32(uint32(d.flags))
		if d.flags == 2 {
			e.u32(0)
		}
		if d.flags != 1 {
			e.byte1(d.offset...)
		}
		e.vecBytes(d.data)
	}
	add(secData, e.b, len(g.datas))

	m := g.enc()
	m.b = header()
	custom := func() {
		if r.oneIn(6) {
			// Not empty: wazero v1.12 (with debug info enabled, the default) fails to read an
			// empty custom section at the very end of a module.
			payload := make([]byte, 1+r.intn(16))
			for i := range payload {
				payload[i] = r.next()
			}
			m.customSection(fmt.Sprintf("arqhost.fuzz.%d", r.intn(100)), payload)
		}
	}
	custom()
	for _, s := range secs {
		m.section(s.id, s.content)
		custom()
	}
	// The name section goes after the data section (wabt rejects it before).
	names := r.bool()
	if names {
		m.customSection("name", g.nameSection())
	}
	return m.b, names
}

func encodeLimits(e *enc, min, max uint32, hasMax bool) {
	if hasMax {
		e.byte1(0x01)
		e.u32(min)
		e.u32(max)
	} else {
		e.byte1(0x00)
		e.u32(min)
	}
}

func encodeTableType(e *enc, t table) {
	e.byte1(byte(tFuncRef))
	encodeLimits(e, t.min, t.max, t.hasMax)
}

// nameSection returns the payload of a "name" section: a module name sometimes, names of some
// functions (imported and defined), of some locals and some labels of some defined functions and,
// sometimes, subsections of the extended name section proposal that name other things.
func (g *gen) nameSection() []byte {
	r := g.r
	e := g.enc()
	sub := func(id byte, content []byte) {
		e.byte1(id)
		e.vecBytes(content)
	}
	if r.bool() {
		c := g.enc()
		c.name("gen")
		sub(0, c.b)
	}
	var fnames []int
	for i := range g.funcs {
		if r.intn(4) > 0 {
			fnames = append(fnames, i)
		}
	}
	c := g.enc()
	c.u32(uint32(len(fnames)))
	for _, i := range fnames {
		c.u32(uint32(i))
		if g.funcs[i].imported {
			c.name(fmt.Sprintf("import_%d", i))
		} else {
			c.name(fmt.Sprintf("func_%d", i))
		}
	}
	sub(1, c.b)
	var lfuncs []int
	for i := g.nImpFuncs; i < len(g.funcs); i++ {
		if g.funcs[i].numLocals > 0 && r.bool() {
			lfuncs = append(lfuncs, i)
		}
	}
	if len(lfuncs) > 0 {
		c := g.enc()
		c.u32(uint32(len(lfuncs)))
		for _, i := range lfuncs {
			c.u32(uint32(i))
			var ls []int
			for l := 0; l < g.funcs[i].numLocals; l++ {
				if r.bool() {
					ls = append(ls, l)
				}
			}
			c.u32(uint32(len(ls)))
			for _, l := range ls {
				c.u32(uint32(l))
				c.name(fmt.Sprintf("f%d_l%d", i, l))
			}
		}
		sub(2, c.b)
	}
	// Label names (3), keyed by function index too.
	if r.bool() {
		var lf []int
		for i := g.nImpFuncs; i < len(g.funcs); i++ {
			if r.oneIn(3) {
				lf = append(lf, i)
			}
		}
		c := g.enc()
		c.u32(uint32(len(lf)))
		for _, i := range lf {
			c.u32(uint32(i))
			n := r.intn(4)
			c.u32(uint32(n))
			for l := 0; l < n; l++ {
				c.u32(uint32(l * 2))
				c.name(fmt.Sprintf("f%d_label%d", i, l*2))
			}
		}
		sub(3, c.b)
	}
	// Type (4), table (5), memory (6), global (7), element (8) and data (9) names.
	counts := []int{len(g.types), len(g.tables), b2i(g.hasMemory), len(g.globals), len(g.elems), len(g.datas)}
	for k, n := range counts {
		if n == 0 || !r.oneIn(3) {
			continue
		}
		c := g.enc()
		c.u32(uint32(n))
		for i := 0; i < n; i++ {
			c.u32(uint32(i))
			c.name(fmt.Sprintf("n%d_%d", k+4, i))
		}
		sub(byte(k+4), c.b)
	}
	return e.b
}

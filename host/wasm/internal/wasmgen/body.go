package wasmgen

import "math"

func f32bits(v float32) uint32 { return math.Float32bits(v) }
func f64bits(v float64) uint64 { return math.Float64bits(v) }

type label struct {
	types []valType // the types a branch to the label carries
	loop  bool
}

// fgen generates one function body.
type fgen struct {
	g        *gen
	r        *source
	self     int
	ft       funcType
	locals   []valType
	pool     map[valType][]uint32 // locals that local.set and local.tee may write
	readable map[valType][]uint32 // locals that local.get may read
	counters []uint32             // loop counters, by loop nesting level; only loops write them
	tmp      map[valType]uint32   // scratch locals, written and read back without anything between
	labels   []label
	w        enc
	mult     int64 // product of the iteration bounds of the enclosing loops
	cost     int64 // estimated instructions executed by one call
	limit    int64
	depth    int
	maxDepth int
	maxStmts int
	loopNest int
}

func (g *gen) genBody(idx int) {
	r := g.r
	fn := g.funcs[idx]
	ft := g.types[fn.typ]
	f := &fgen{g: g, r: r, self: idx, w: g.enc(), ft: ft, pool: map[valType][]uint32{}, readable: map[valType][]uint32{},
		tmp: map[valType]uint32{}, mult: 1, limit: g.cfg.MaxCost, maxDepth: g.cfg.MaxDepth, maxStmts: g.cfg.MaxStmts}
	if fn.small {
		f.maxDepth, f.maxStmts = min(2, f.maxDepth), min(2, f.maxStmts)
	}
	if fn.recursive {
		f.limit /= 4
	}
	f.locals = append(f.locals, ft.params...)
	for i, t := range ft.params {
		f.readable[t] = append(f.readable[t], uint32(i))
		if i == 0 && fn.recursive {
			continue
		}
		f.pool[t] = append(f.pool[t], uint32(i))
	}
	// Declared locals: random ones, loop counters and scratch locals, in random order.
	type decl struct {
		t    valType
		role int // 0 random, 1 counter, 2 scratch
	}
	var decls []decl
	for n := r.intn(g.cfg.MaxLocals + 1); n > 0; n-- {
		decls = append(decls, decl{g.randType(), 0})
	}
	for i := 0; i < g.cfg.MaxLoopNest; i++ {
		decls = append(decls, decl{tI32, 1})
	}
	for _, t := range []valType{tI32, tI64, tF32, tF64, tV128, tFuncRef, tExternRef} {
		if t != tV128 || g.simd() {
			decls = append(decls, decl{t, 2})
		}
	}
	r.shuffle(len(decls), func(i, j int) { decls[i], decls[j] = decls[j], decls[i] })
	var groups [][2]int // count, type
	for _, d := range decls {
		i := uint32(len(f.locals))
		f.locals = append(f.locals, d.t)
		switch d.role {
		case 0:
			f.pool[d.t] = append(f.pool[d.t], i)
			f.readable[d.t] = append(f.readable[d.t], i)
		case 1:
			f.counters = append(f.counters, i)
			f.readable[tI32] = append(f.readable[tI32], i)
		case 2:
			f.tmp[d.t] = i
		}
		// Split runs now and then: consecutive groups of one type are valid too.
		if n := len(groups); n > 0 && groups[n-1][1] == int(d.t) && !r.oneIn(4) {
			groups[n-1][0]++
		} else {
			groups = append(groups, [2]int{1, int(d.t)})
		}
	}

	f.labels = []label{{types: ft.results}}
	if fn.recursive {
		f.recursivePrefix()
	}
	f.stmts()
	f.ending(ft.results)
	f.w.byte1(0x0B)

	fn.cost = f.cost + 1
	if fn.recursive {
		fn.cost *= 4
	}
	c := g.enc()
	c.u32(uint32(len(groups)))
	for _, gr := range groups {
		c.u32(uint32(gr[0]))
		c.byte1(byte(gr[1]))
	}
	c.b = append(c.b, f.w.b...)
	fn.code = c.b
	fn.numLocals = len(f.locals)
}

// op appends instruction bytes and counts one executed instruction.
func (f *fgen) op(b ...byte) {
	f.w.byte1(b...)
	f.cost += f.mult
}

// simdOp appends a SIMD instruction's opcode (never padded, although the format allows it).
func (f *fgen) simdOp(code uint32) {
	f.op(0xFD)
	f.w.u32min(code)
}

// fcOp appends a 0xFC-prefixed opcode (never padded).
func (f *fgen) fcOp(code uint32) {
	f.op(0xFC)
	f.w.u32min(code)
}

func (f *fgen) i32const(v int32) {
	f.op(0x41)
	f.w.s32(v)
}

// recursivePrefix calls the function itself with depth (param0 & 3) - 1 unless param0 & 3 is 0.
func (f *fgen) recursivePrefix() {
	f.op(0x02, 0x40)
	f.labels = append(f.labels, label{})
	f.op(0x20, 0)
	f.i32const(3)
	f.op(0x71, 0x45, 0x0D, 0)
	f.op(0x20, 0)
	f.i32const(3)
	f.op(0x71)
	f.i32const(1)
	f.op(0x6B)
	f.values(f.ft.params[1:])
	f.op(0x10)
	f.w.u32(uint32(f.self))
	f.discard(f.ft.results)
	f.labels = f.labels[:len(f.labels)-1]
	f.op(0x0B)
}

func (f *fgen) deep() bool {
	return f.depth > f.maxDepth || f.cost >= f.limit
}

// stmts appends a few instructions that leave the stack as it was.
func (f *fgen) stmts() {
	n := f.r.intn(max(1, f.maxStmts-f.depth) + 1)
	for ; n > 0; n-- {
		f.stmt()
	}
}

// discard pops values of types ts, storing some in locals.
func (f *fgen) discard(ts []valType) {
	for i := len(ts) - 1; i >= 0; i-- {
		if p := f.pool[ts[i]]; len(p) > 0 && f.r.bool() {
			f.op(0x21)
			f.w.u32(p[f.r.intn(len(p))])
		} else {
			f.op(0x1A)
		}
	}
}

// pick turns values of types ts on the stack into the one at index k.
func (f *fgen) pick(ts []valType, k int) {
	for i := len(ts) - 1; i > k; i-- {
		f.op(0x1A)
	}
	tmp := f.tmp[ts[k]]
	f.op(0x21)
	f.w.u32(tmp)
	for i := k - 1; i >= 0; i-- {
		f.op(0x1A)
	}
	f.op(0x20)
	f.w.u32(tmp)
}

func (f *fgen) blockType(params, results []valType) {
	switch {
	case len(params) == 0 && len(results) == 0 && !f.r.oneIn(8):
		f.w.byte1(0x40)
	case len(params) == 0 && len(results) == 1 && !f.r.oneIn(4):
		f.w.byte1(byte(results[0]))
	default:
		f.w.s64(int64(f.g.typeOf(funcType{params, results})))
	}
}

func (f *fgen) randBlockParams() []valType {
	if f.r.intn(3) > 0 {
		return nil
	}
	return f.g.randTypes(min(2, f.g.cfg.MaxParams), false)
}

// block appends a block (op 0x02) or an if (op 0x04) of type params -> results, with the params
// and, for if, the condition.
func (f *fgen) block(op byte, params, results []valType) {
	f.values(params)
	if op == 0x04 {
		f.expr(tI32)
	}
	f.op(op)
	f.blockType(params, results)
	f.labels = append(f.labels, label{types: results})
	f.consume(params)
	f.stmts()
	f.ending(results)
	if op == 0x04 && (!sameTypes(params, results) || f.r.intn(3) > 0) {
		f.op(0x05)
		f.consume(params)
		f.stmts()
		f.ending(results)
	}
	f.labels = f.labels[:len(f.labels)-1]
	f.op(0x0B)
}

// consume pops the params of a block at its start.
func (f *fgen) consume(params []valType) { f.discard(params) }

func sameTypes(a, b []valType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// loop appends a loop of type params -> results that runs at most MaxLoopIters times per entry:
// a counter local of its nesting level is set before the loop and only the loop's own back edge
// decrements it and branches back while it is not zero.
func (f *fgen) loop(params, results []valType) {
	if f.r.oneIn(6) {
		f.loopOnce(params, results)
		return
	}
	budget := (f.limit - f.cost) / (f.mult * 40)
	if f.loopNest >= len(f.counters) || budget < 1 {
		f.block(0x02, params, results)
		return
	}
	n := int64(1 + f.r.intn(f.g.cfg.MaxLoopIters))
	n = min(n, budget)
	c := f.counters[f.loopNest]
	f.values(params)
	f.i32const(int32(n))
	f.op(0x21)
	f.w.u32(c)
	f.op(0x03)
	f.blockType(params, results)
	f.g.loops++
	f.labels = append(f.labels, label{types: params, loop: true})
	oldMult := f.mult
	f.mult *= n
	f.loopNest++
	f.consume(params)
	f.stmts()
	f.values(params)
	f.op(0x20)
	f.w.u32(c)
	f.i32const(1)
	f.op(0x6B)
	if f.g.cfg.Endless {
		// Count down, but branch back unconditionally.
		f.op(0x21)
		f.w.u32(c)
		f.op(0x0C, 0)
	} else {
		f.op(0x22)
		f.w.u32(c)
		f.op(0x0D, 0)
	}
	f.consume(params)
	f.ending(results)
	f.loopNest--
	f.mult = oldMult
	f.labels = f.labels[:len(f.labels)-1]
	f.op(0x0B)
}

// loopOnce appends a loop without a back edge, which runs once: empty, nested directly in
// another such loop, or like a block.
func (f *fgen) loopOnce(params, results []valType) {
	f.values(params)
	f.loopOnceTaking(params, results)
}

// loopOnceTaking is loopOnce with the params already on the stack.
func (f *fgen) loopOnceTaking(params, results []valType) {
	f.op(0x03)
	f.blockType(params, results)
	f.g.loops++
	f.labels = append(f.labels, label{types: params, loop: true})
	switch {
	case len(params) == 0 && len(results) == 0 && f.r.bool():
		// loop end
	case f.r.oneIn(3):
		f.loopOnceTaking(params, results)
	default:
		f.consume(params)
		f.stmts()
		f.ending(results)
	}
	f.labels = f.labels[:len(f.labels)-1]
	f.op(0x0B)
}

// branchTargets returns the relative depths of the labels a forward branch may target.
func (f *fgen) branchTargets() []int {
	var d []int
	for i := len(f.labels) - 1; i >= 0; i-- {
		if !f.labels[i].loop {
			d = append(d, len(f.labels)-1-i)
		}
	}
	return d
}

func (f *fgen) labelAt(depth int) label { return f.labels[len(f.labels)-1-depth] }

// ending appends the end of a block with results ts: the values, or a branch or return.
func (f *fgen) ending(ts []valType) {
	r := f.r
	switch r.intn(12) {
	case 0: // br
		ds := f.branchTargets()
		d := ds[r.intn(len(ds))]
		f.values(f.labelAt(d).types)
		f.op(0x0C)
		f.w.u32(uint32(d))
		f.dead()
	case 1: // br_table
		ds := f.branchTargets()
		def := ds[r.intn(len(ds))]
		key := funcType{results: f.labelAt(def).types}.key()
		var same []int
		for _, d := range ds {
			if (funcType{results: f.labelAt(d).types}).key() == key {
				same = append(same, d)
			}
		}
		f.values(f.labelAt(def).types)
		f.expr(tI32)
		f.op(0x0E)
		n := r.intn(6)
		f.w.u32(uint32(n))
		for ; n > 0; n-- {
			f.w.u32(uint32(same[r.intn(len(same))]))
		}
		f.w.u32(uint32(def))
		f.dead()
	case 2: // return
		f.values(f.ft.results)
		f.op(0x0F)
		f.dead()
	default:
		f.values(ts)
	}
}

// dead sometimes appends unreachable code after an unconditional branch.
func (f *fgen) dead() {
	switch f.r.intn(8) {
	case 0:
		f.stmt()
	case 1:
		f.op(0x00)
	}
}

// values appends instructions that push values of types ts.
func (f *fgen) values(ts []valType) {
	if len(ts) == 0 {
		return
	}
	r := f.r
	if f.deep() || r.intn(3) > 0 {
		for _, t := range ts {
			f.expr(t)
		}
		return
	}
	f.depth++
	defer func() { f.depth-- }()
	switch r.intn(5) {
	case 0:
		if f.call(func(ft funcType) bool { return sameTypes(ft.results, ts) }, false) {
			return
		}
	case 1:
		if f.callIndirect(func(ft funcType) bool { return sameTypes(ft.results, ts) }) {
			return
		}
	case 2:
		f.block(0x02, f.randBlockParams(), ts)
		return
	case 3:
		f.block(0x04, f.randBlockParams(), ts)
		return
	case 4:
		f.loop(f.randBlockParams(), ts)
		return
	}
	for _, t := range ts {
		f.expr(t)
	}
}

// call appends a call of a random function with a lower index whose type satisfies ok, with its
// arguments. It reports false if there is none within the cost budget.
func (f *fgen) call(ok func(funcType) bool, importsOnly bool) bool {
	_, ok2 := f.callIdx(ok, importsOnly)
	return ok2
}

// callIdx is call that also returns the index of the called function.
func (f *fgen) callIdx(ok func(funcType) bool, importsOnly bool) (int, bool) {
	var c []int
	end := f.self
	if importsOnly {
		end = min(end, f.g.nImpFuncs)
	}
	for j := 0; j < end; j++ {
		fn := f.g.funcs[j]
		if ok(f.g.types[fn.typ]) && f.cost+f.mult*fn.cost <= f.limit {
			c = append(c, j)
		}
	}
	if len(c) == 0 {
		return 0, false
	}
	j := c[f.r.intn(len(c))]
	fn := f.g.funcs[j]
	f.values(f.g.types[fn.typ].params)
	f.op(0x10)
	f.w.u32(uint32(j))
	f.cost += f.mult * fn.cost
	return j, true
}

// callIndirect appends a call_indirect through the call table to a function with a lower index
// whose type satisfies ok: the table index is a constant slot or a select between two slots that
// hold functions of the same type.
func (f *fgen) callIndirect(ok func(funcType) bool) bool {
	_, ok2 := f.callIndirectType(ok)
	return ok2
}

// callIndirectType is callIndirect that also returns the type of the called function.
func (f *fgen) callIndirectType(ok func(funcType) bool) (funcType, bool) {
	g := f.g
	if g.callTab < 0 {
		return funcType{}, false
	}
	var slots []int
	for s, j := range g.callSlots {
		if j >= 0 && j < f.self && ok(g.types[g.funcs[j].typ]) && f.cost+f.mult*g.funcs[j].cost <= f.limit {
			slots = append(slots, s)
		}
	}
	if len(slots) == 0 {
		return funcType{}, false
	}
	s := slots[f.r.intn(len(slots))]
	ft := g.types[g.funcs[g.callSlots[s]].typ]
	key := ft.key()
	var same []int
	for _, s2 := range slots {
		if g.types[g.funcs[g.callSlots[s2]].typ].key() == key {
			same = append(same, s2)
		}
	}
	s2 := same[f.r.intn(len(same))]
	f.values(ft.params)
	if s2 != s && f.r.bool() {
		f.i32const(int32(s))
		f.i32const(int32(s2))
		f.expr(tI32)
		f.op(0x1B)
	} else {
		f.i32const(int32(s))
	}
	idx := g.typeIndex[key]
	f.op(0x11)
	f.w.u32(uint32(idx[f.r.intn(len(idx))]))
	f.w.u32(uint32(g.callTab))
	f.cost += f.mult * max(g.funcs[g.callSlots[s]].cost, g.funcs[g.callSlots[s2]].cost)
	return ft, true
}

func containsType(ts []valType, t valType) bool {
	for _, u := range ts {
		if u == t {
			return true
		}
	}
	return false
}

// pickFrom turns results ts of a call on the stack into one value of type t.
func (f *fgen) pickFrom(ts []valType, t valType) {
	var ks []int
	for i, u := range ts {
		if u == t {
			ks = append(ks, i)
		}
	}
	f.pick(ts, ks[f.r.intn(len(ks))])
}

// stmt appends instructions that leave the stack as it was.
func (f *fgen) stmt() {
	r := f.r
	g := f.g
	f.depth++
	defer func() { f.depth-- }()
	if f.deep() {
		if p := f.pool[tI32]; len(p) > 0 && r.bool() {
			f.leaf(tI32)
			f.op(0x21)
			f.w.u32(p[r.intn(len(p))])
		} else {
			f.op(0x01)
		}
		return
	}
	switch r.intn(22) {
	case 0, 1: // local.set
		var ts []valType
		for t, p := range f.pool {
			if len(p) > 0 {
				ts = append(ts, t)
			}
		}
		if len(ts) == 0 {
			break
		}
		sortTypes(ts)
		t := ts[r.intn(len(ts))]
		f.expr(t)
		f.op(0x21)
		f.w.u32(f.pool[t][r.intn(len(f.pool[t]))])
	case 2, 3: // global.set
		var gs []int
		for i, gl := range g.globals {
			if gl.mut {
				gs = append(gs, i)
			}
		}
		if len(gs) == 0 {
			break
		}
		i := gs[r.intn(len(gs))]
		f.expr(g.globals[i].t)
		f.op(0x24)
		f.w.u32(uint32(i))
	case 4, 5:
		f.store()
	case 6: // drop
		f.expr(g.randType())
		f.op(0x1A)
	case 7:
		if j, ok := f.callIdx(func(funcType) bool { return true }, false); ok {
			f.discard(g.types[g.funcs[j].typ].results)
		}
	case 8:
		if ft, ok := f.callIndirectType(func(funcType) bool { return true }); ok {
			f.discard(ft.results)
		}
	case 9:
		f.block(0x04, f.randBlockParams(), nil)
	case 10:
		res := f.randBlockParams()
		f.block(0x02, f.randBlockParams(), res)
		f.discard(res)
	case 11, 12:
		res := f.randBlockParams()
		f.loop(f.randBlockParams(), res)
		f.discard(res)
	case 13: // br_if
		ds := f.branchTargets()
		d := ds[r.intn(len(ds))]
		ts := f.labelAt(d).types
		f.values(ts)
		f.expr(tI32)
		f.op(0x0D)
		f.w.u32(uint32(d))
		f.discard(ts)
	case 14:
		f.bulkMemory()
	case 15:
		f.tableStmt()
	case 16: // memory.grow
		if g.hasMemory {
			delta := 0
			if g.hasMemMax {
				delta = r.intn(2)
			}
			f.i32const(int32(delta))
			f.op(0x40, 0x00)
			f.op(0x1A)
		}
	case 17:
		f.op(0x01)
	case 18: // call an import
		if f.call(func(funcType) bool { return true }, true) {
			f.discard([]valType{tI32})
		}
	case 19: // block that ends in br_table or br
		f.block(0x02, nil, nil)
	default:
		if p := f.pool[tI32]; len(p) > 0 {
			f.expr(tI32)
			f.op(0x21)
			f.w.u32(p[r.intn(len(p))])
		}
	}
}

func sortTypes(ts []valType) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j] < ts[j-1]; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// addr appends an i32 address that, with an offset of at most 1024 and an access of at most 16
// bytes, stays inside the first page.
func (f *fgen) addr() {
	r := f.r
	if r.oneIn(4) {
		f.i32const(int32(r.intn(0x8000)))
		return
	}
	f.expr(tI32)
	f.i32const([]int32{0x7FFF, 0xFFF, 0xFF, 0x7FF8, 0x3FFC}[r.intn(5)])
	f.op(0x71)
}

func (f *fgen) memarg(naturalLog2 int) {
	f.w.u32(uint32(f.r.intn(naturalLog2 + 1)))
	off := 0
	if f.r.bool() {
		off = f.r.intn(1025)
	}
	f.w.u32(uint32(off))
}

type memOp struct {
	op    byte
	align int
}

var (
	loadsI32  = []memOp{{0x28, 2}, {0x2C, 0}, {0x2D, 0}, {0x2E, 1}, {0x2F, 1}}
	loadsI64  = []memOp{{0x29, 3}, {0x30, 0}, {0x31, 0}, {0x32, 1}, {0x33, 1}, {0x34, 2}, {0x35, 2}}
	storesI32 = []memOp{{0x36, 2}, {0x3A, 0}, {0x3B, 1}}
	storesI64 = []memOp{{0x37, 3}, {0x3C, 0}, {0x3D, 1}, {0x3E, 2}}
)

func (f *fgen) load(t valType) bool {
	if !f.g.hasMemory {
		return false
	}
	var m memOp
	switch t {
	case tI32:
		m = loadsI32[f.r.intn(len(loadsI32))]
	case tI64:
		m = loadsI64[f.r.intn(len(loadsI64))]
	case tF32:
		m = memOp{0x2A, 2}
	case tF64:
		m = memOp{0x2B, 3}
	default:
		return false
	}
	f.addr()
	f.op(m.op)
	f.memarg(m.align)
	return true
}

func (f *fgen) store() {
	if !f.g.hasMemory {
		return
	}
	r := f.r
	t := f.g.randNumType()
	var m memOp
	switch t {
	case tI32:
		m = storesI32[r.intn(len(storesI32))]
	case tI64:
		m = storesI64[r.intn(len(storesI64))]
	case tF32:
		m = memOp{0x38, 2}
	case tF64:
		m = memOp{0x39, 3}
	case tV128:
		f.addr()
		f.expr(tV128)
		if r.bool() {
			f.simdOp(0x0B)
			f.memarg(4)
			return
		}
		k := r.intn(4)
		f.simdOp(uint32(0x58 + k))
		f.memarg(k)
		f.w.byte1(byte(r.intn(16 >> k)))
		return
	}
	f.addr()
	f.expr(t)
	f.op(m.op)
	f.memarg(m.align)
}

func (f *fgen) bulkMemory() {
	g := f.g
	r := f.r
	if !g.hasMemory {
		return
	}
	switch r.intn(4) {
	case 0: // memory.fill
		f.addr()
		f.expr(tI32)
		f.i32const(int32(r.intn(1025)))
		f.fcOp(11)
		f.w.byte1(0)
	case 1: // memory.copy
		f.addr()
		f.addr()
		f.i32const(int32(r.intn(1025)))
		f.fcOp(10)
		f.w.byte1(0, 0)
	case 2: // memory.init
		if len(g.initDatas) == 0 {
			return
		}
		s := g.initDatas[r.intn(len(g.initDatas))]
		n := len(g.datas[s].data)
		src := r.intn(n + 1)
		f.addr()
		f.i32const(int32(src))
		f.i32const(int32(r.intn(n - src + 1)))
		f.fcOp(8)
		f.w.u32(uint32(s))
		f.w.byte1(0)
		g.useDataCount = true
	case 3: // data.drop
		if len(g.dropDatas) == 0 {
			return
		}
		f.fcOp(9)
		f.w.u32(uint32(g.dropDatas[r.intn(len(g.dropDatas))]))
		g.useDataCount = true
	}
}

func (f *fgen) tableStmt() {
	g := f.g
	r := f.r
	if g.scratchTab < 0 {
		if g.callTab >= 0 && len(g.dropElems) > 0 {
			f.fcOp(13)
			f.w.u32(uint32(g.dropElems[r.intn(len(g.dropElems))]))
		}
		return
	}
	size := int(g.tables[g.scratchTab].min)
	tab := uint32(g.scratchTab)
	switch r.intn(5) {
	case 0: // table.set
		f.i32const(int32(r.intn(size)))
		f.expr(tFuncRef)
		f.op(0x26)
		f.w.u32(tab)
	case 1: // table.fill
		i := r.intn(size + 1)
		f.i32const(int32(i))
		f.expr(tFuncRef)
		f.i32const(int32(r.intn(size - i + 1)))
		f.fcOp(17)
		f.w.u32(tab)
	case 2: // table.copy
		src := tab
		srcSize := size
		if g.callTab >= 0 && r.bool() {
			src = uint32(g.callTab)
			srcSize = int(g.tables[g.callTab].min)
		}
		d := r.intn(size + 1)
		s := r.intn(srcSize + 1)
		f.i32const(int32(d))
		f.i32const(int32(s))
		f.i32const(int32(r.intn(min(size-d, srcSize-s) + 1)))
		f.fcOp(14)
		f.w.u32(tab)
		f.w.u32(src)
	case 3: // table.init
		if len(g.initElems) == 0 {
			return
		}
		e := g.initElems[r.intn(len(g.initElems))]
		n := len(g.elems[e].refs)
		d := r.intn(size + 1)
		s := r.intn(n + 1)
		f.i32const(int32(d))
		f.i32const(int32(s))
		f.i32const(int32(r.intn(min(size-d, n-s) + 1)))
		f.fcOp(12)
		f.w.u32(uint32(e))
		f.w.u32(tab)
	case 4: // elem.drop
		if len(g.dropElems) == 0 {
			return
		}
		f.fcOp(13)
		f.w.u32(uint32(g.dropElems[r.intn(len(g.dropElems))]))
	}
}

// leaf appends a constant, local.get or global.get of type t.
func (f *fgen) leaf(t valType) {
	r := f.r
	switch r.intn(4) {
	case 0:
		if p := f.readable[t]; len(p) > 0 {
			f.op(0x20)
			f.w.u32(p[r.intn(len(p))])
			return
		}
	case 1:
		var gs []int
		for i, gl := range f.g.globals {
			if gl.t == t {
				gs = append(gs, i)
			}
		}
		if len(gs) > 0 {
			f.op(0x23)
			f.w.u32(uint32(gs[r.intn(len(gs))]))
			return
		}
	}
	f.constant(t)
}

func (f *fgen) constant(t valType) {
	g := f.g
	switch t {
	case tV128:
		f.simdOp(0x0C)
		f.w.f64bits(g.randF64Bits())
		f.w.f64bits(uint64(g.randInt()))
	case tFuncRef:
		if len(g.refable) > 0 && f.r.bool() {
			f.op(0xD2)
			f.w.u32(uint32(g.refable[f.r.intn(len(g.refable))]))
			return
		}
		f.op(0xD0, byte(t))
	case tExternRef:
		f.op(0xD0, byte(t))
	default:
		f.cost += f.mult
		constExpr(&f.w, t, g.randBits(t))
	}
}

// expr appends instructions that push one value of type t.
func (f *fgen) expr(t valType) {
	f.depth++
	defer func() { f.depth-- }()
	if f.deep() || f.r.oneIn(6) {
		f.leaf(t)
		return
	}
	if f.r.oneIn(4) && f.compound(t) {
		return
	}
	switch t {
	case tI32:
		f.exprI32()
	case tI64:
		f.exprI64()
	case tF32:
		f.exprFloat(tF32)
	case tF64:
		f.exprFloat(tF64)
	case tV128:
		f.exprV128()
	default:
		f.exprRef(t)
	}
}

// compound appends a value of type t made by select, a block, an if, a loop, a call, a tee or a
// multi-value sequence. It reports false if it appended nothing.
func (f *fgen) compound(t valType) bool {
	r := f.r
	switch r.intn(9) {
	case 0: // select
		f.expr(t)
		f.expr(t)
		f.expr(tI32)
		if t.isRef() || r.oneIn(3) {
			f.op(0x1C, 1, byte(t))
		} else {
			f.op(0x1B)
		}
	case 1:
		f.block(0x02, f.randBlockParams(), []valType{t})
	case 2:
		f.block(0x04, f.randBlockParams(), []valType{t})
	case 3:
		f.loop(f.randBlockParams(), []valType{t})
	case 4:
		j, ok := f.callIdx(func(ft funcType) bool { return containsType(ft.results, t) }, false)
		if !ok {
			return false
		}
		f.pickFrom(f.g.types[f.g.funcs[j].typ].results, t)
	case 5:
		ft, ok := f.callIndirectType(func(ft funcType) bool { return containsType(ft.results, t) })
		if !ok {
			return false
		}
		f.pickFrom(ft.results, t)
	case 6: // local.tee
		p := f.pool[t]
		if len(p) == 0 {
			return false
		}
		f.expr(t)
		f.op(0x22)
		f.w.u32(p[r.intn(len(p))])
	case 7: // a value out of several
		ts := f.g.randTypes(min(3, f.g.cfg.MaxResults), false)
		k := r.intn(len(ts) + 1)
		ts = append(ts[:k], append([]valType{t}, ts[k:]...)...)
		f.values(ts)
		f.pickFrom(ts, t)
	case 8:
		if t.isRef() {
			return false
		}
		f.constant(t)
	}
	return true
}

var (
	i32Bin = []byte{0x6A, 0x6B, 0x6C, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78}
	i64Bin = []byte{0x7C, 0x7D, 0x7E, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A}
)

// divisor appends expr(t) | 1, which is never zero.
func (f *fgen) divisor(t valType) {
	f.expr(t)
	if t == tI32 {
		f.i32const(1)
		f.op(0x72)
	} else {
		f.op(0x42, 1)
		f.op(0x84)
	}
}

// intDiv appends a guarded division or remainder of type t: the divisor is never zero and the
// dividend of a signed division is never the minimum (which divided by -1 traps).
func (f *fgen) intDiv(t valType) {
	k := f.r.intn(4) // div_s, div_u, rem_s, rem_u
	f.expr(t)
	if k == 0 {
		f.w.byte1(0x41 + byte(b2i(t == tI64)))
		f.w.byte1(1)
		f.op(0x72 + byte(b2i(t == tI64))*0x12)
	}
	f.divisor(t)
	if t == tI32 {
		f.op(0x6D + byte(k))
	} else {
		f.op(0x7F + byte(k))
	}
}

func (f *fgen) exprI32() {
	r := f.r
	g := f.g
	switch r.intn(17) {
	case 0, 1, 2:
		f.expr(tI32)
		f.expr(tI32)
		f.op(i32Bin[r.intn(len(i32Bin))])
	case 3:
		f.intDiv(tI32)
	case 4:
		f.expr(tI32)
		f.op([]byte{0x67, 0x68, 0x69, 0x45, 0xC0, 0xC1}[r.intn(6)])
	case 5:
		f.expr(tI32)
		f.expr(tI32)
		f.op(byte(0x46 + r.intn(10)))
	case 6:
		switch r.intn(4) {
		case 0:
			f.expr(tI64)
			f.expr(tI64)
			f.op(byte(0x51 + r.intn(10)))
		case 1:
			f.expr(tI64)
			f.op(0x50)
		case 2:
			f.expr(tF32)
			f.expr(tF32)
			f.op(byte(0x5B + r.intn(6)))
		case 3:
			f.expr(tF64)
			f.expr(tF64)
			f.op(byte(0x61 + r.intn(6)))
		}
	case 7:
		switch r.intn(4) {
		case 0:
			f.expr(tI64)
			f.op(0xA7)
		case 1:
			f.expr(tF32)
			f.op(0xBC)
		case 2: // saturating truncation
			k := r.intn(4)
			f.expr([]valType{tF32, tF32, tF64, tF64}[k])
			f.fcOp(uint32(k))
		case 3:
			f.guardedTrunc(tI32)
		}
	case 8:
		if !f.load(tI32) {
			f.leaf(tI32)
		}
	case 9:
		if g.hasMemory {
			f.op(0x3F, 0)
		} else {
			f.leaf(tI32)
		}
	case 10: // references and tables
		switch r.intn(3) {
		case 0:
			f.expr([]valType{tFuncRef, tExternRef}[r.intn(2)])
			f.op(0xD1)
		case 1:
			if len(g.tables) == 0 {
				f.leaf(tI32)
				return
			}
			f.fcOp(16)
			f.w.u32(uint32(r.intn(len(g.tables))))
		case 2:
			if g.scratchTab < 0 {
				f.leaf(tI32)
				return
			}
			f.expr(tFuncRef)
			f.i32const(int32(r.intn(3)))
			f.fcOp(15)
			f.w.u32(uint32(g.scratchTab))
		}
	case 11:
		if !f.call(func(funcType) bool { return true }, true) {
			f.leaf(tI32)
		}
	case 12:
		if !g.simd() {
			f.leaf(tI32)
			return
		}
		f.expr(tV128)
		switch r.intn(4) {
		case 0:
			op := []uint32{0x15, 0x16, 0x18, 0x19, 0x1B}[r.intn(5)]
			lanes := map[uint32]int{0x15: 16, 0x16: 16, 0x18: 8, 0x19: 8, 0x1B: 4}[op]
			f.simdOp(op)
			f.w.byte1(byte(r.intn(lanes)))
		case 1:
			f.simdOp(0x53)
		case 2:
			f.simdOp([]uint32{0x63, 0x83, 0xA3, 0xC3}[r.intn(4)])
		case 3:
			f.simdOp([]uint32{0x64, 0x84, 0xA4, 0xC4}[r.intn(4)])
		}
	default:
		f.leaf(tI32)
	}
}

func (f *fgen) exprI64() {
	r := f.r
	g := f.g
	switch r.intn(12) {
	case 0, 1, 2:
		f.expr(tI64)
		f.expr(tI64)
		f.op(i64Bin[r.intn(len(i64Bin))])
	case 3:
		f.intDiv(tI64)
	case 4:
		f.expr(tI64)
		f.op([]byte{0x79, 0x7A, 0x7B, 0xC2, 0xC3, 0xC4}[r.intn(6)])
	case 5:
		f.expr(tI32)
		f.op(0xAC + byte(r.intn(2)))
	case 6:
		switch r.intn(3) {
		case 0:
			f.expr(tF64)
			f.op(0xBD)
		case 1:
			k := r.intn(4)
			f.expr([]valType{tF32, tF32, tF64, tF64}[k])
			f.fcOp(uint32(4 + k))
		case 2:
			f.guardedTrunc(tI64)
		}
	case 7:
		if !f.load(tI64) {
			f.leaf(tI64)
		}
	case 8:
		if !g.simd() {
			f.leaf(tI64)
			return
		}
		f.expr(tV128)
		f.simdOp(0x1D)
		f.w.byte1(byte(r.intn(2)))
	default:
		f.leaf(tI64)
	}
}

// guardedTrunc appends a trapping float-to-int truncation to type t whose operand is made safe:
// NaN becomes 0 and the value is clamped into the range of the result.
func (f *fgen) guardedTrunc(t valType) {
	r := f.r
	ft := []valType{tF32, tF64}[r.intn(2)]
	unsigned := r.bool()
	f.expr(ft)
	tmp := f.tmp[ft]
	f.op(0x21)
	f.w.u32(tmp)
	f.op(0x20)
	f.w.u32(tmp)
	f.floatConst(ft, 0)
	f.op(0x20)
	f.w.u32(tmp)
	f.op(0x20)
	f.w.u32(tmp)
	isF64 := b2i(ft == tF64)
	f.op(byte(0x5B + 6*isF64)) // eq
	f.op(0x1B)
	lo, hi := -2e9, 2e9
	if t == tI64 {
		lo, hi = -9e18, 9e18
	}
	if unsigned {
		lo = 0
		if t == tI32 {
			hi = 4e9
		} else {
			hi = 1.8e19
		}
	}
	f.floatConst(ft, lo)
	f.op(byte(0x97 + 14*isF64)) // max
	f.floatConst(ft, hi)
	f.op(byte(0x96 + 14*isF64)) // min
	op := 0xA8 + 2*isF64 + b2i(unsigned)
	if t == tI64 {
		op = 0xAE + 2*isF64 + b2i(unsigned)
	}
	f.op(byte(op))
}

func (f *fgen) floatConst(t valType, v float64) {
	if t == tF32 {
		f.op(0x43)
		f.w.f32(float32(v))
	} else {
		f.op(0x44)
		f.w.f64(v)
	}
}

func (f *fgen) exprFloat(t valType) {
	r := f.r
	g := f.g
	d := byte(0)
	if t == tF64 {
		d = 14
	}
	switch r.intn(10) {
	case 0, 1, 2:
		f.expr(t)
		f.expr(t)
		f.op(0x92 + d + byte(r.intn(7)))
	case 3:
		f.expr(t)
		f.op(0x8B + d + byte(r.intn(7)))
	case 4: // convert from integers
		k := r.intn(4)
		f.expr([]valType{tI32, tI32, tI64, tI64}[k])
		if t == tF32 {
			f.op(0xB2 + byte(k))
		} else {
			f.op(0xB7 + byte(k))
		}
	case 5:
		if t == tF32 {
			if r.bool() {
				f.expr(tF64)
				f.op(0xB6)
			} else {
				f.expr(tI32)
				f.op(0xBE)
			}
		} else {
			if r.bool() {
				f.expr(tF32)
				f.op(0xBB)
			} else {
				f.expr(tI64)
				f.op(0xBF)
			}
		}
	case 6:
		if !f.load(t) {
			f.leaf(t)
		}
	case 7:
		if !g.simd() {
			f.leaf(t)
			return
		}
		f.expr(tV128)
		if t == tF32 {
			f.simdOp(0x1F)
			f.w.byte1(byte(r.intn(4)))
		} else {
			f.simdOp(0x21)
			f.w.byte1(byte(r.intn(2)))
		}
	default:
		f.leaf(t)
	}
}

var (
	simdBin = []uint32{0x0E, 0x4E, 0x4F, 0x50, 0x51, 0x65, 0x66, 0x6E, 0x6F, 0x70, 0x71, 0x72, 0x73, 0x76,
		0x77, 0x78, 0x79, 0x7B, 0x82, 0x85, 0x86, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x95, 0x96, 0x97,
		0x98, 0x99, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xAE, 0xB1, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBC,
		0xBD, 0xBE, 0xBF, 0xCE, 0xD1, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
		0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xEB, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7}
	simdUn = []uint32{0x4D, 0x5E, 0x5F, 0x60, 0x61, 0x62, 0x67, 0x68, 0x69, 0x6A, 0x74, 0x75, 0x7A, 0x7C,
		0x7D, 0x7E, 0x7F, 0x80, 0x81, 0x87, 0x88, 0x89, 0x8A, 0x94, 0xA0, 0xA1, 0xA7, 0xA8, 0xA9, 0xAA,
		0xC0, 0xC1, 0xC7, 0xC8, 0xC9, 0xCA, 0xE0, 0xE1, 0xE3, 0xEC, 0xED, 0xEF, 0xF8, 0xF9, 0xFA, 0xFB,
		0xFC, 0xFD, 0xFE, 0xFF}
	simdShift = []uint32{0x6B, 0x6C, 0x6D, 0x8B, 0x8C, 0x8D, 0xAB, 0xAC, 0xAD, 0xCB, 0xCC, 0xCD}
)

func (f *fgen) exprV128() {
	r := f.r
	switch r.intn(12) {
	case 0:
		f.constant(tV128)
	case 1: // splat
		k := r.intn(6)
		f.expr([]valType{tI32, tI32, tI32, tI64, tF32, tF64}[k])
		f.simdOp(uint32(0x0F + k))
	case 2, 3:
		if r.oneIn(4) { // comparisons
			f.expr(tV128)
			f.expr(tV128)
			f.simdOp(uint32(0x23 + r.intn(0x4D-0x23)))
			return
		}
		f.expr(tV128)
		f.expr(tV128)
		f.simdOp(simdBin[r.intn(len(simdBin))])
	case 4:
		f.expr(tV128)
		f.simdOp(simdUn[r.intn(len(simdUn))])
	case 5: // replace_lane
		k := r.intn(6)
		f.expr(tV128)
		f.expr([]valType{tI32, tI32, tI32, tI64, tF32, tF64}[k])
		f.simdOp([]uint32{0x17, 0x1A, 0x1C, 0x1E, 0x20, 0x22}[k])
		f.w.byte1(byte(r.intn([]int{16, 8, 4, 2, 4, 2}[k])))
	case 6: // i8x16.shuffle
		f.expr(tV128)
		f.expr(tV128)
		f.simdOp(0x0D)
		for i := 0; i < 16; i++ {
			f.w.byte1(byte(r.intn(32)))
		}
	case 7:
		f.expr(tV128)
		f.expr(tV128)
		f.expr(tV128)
		f.simdOp(0x52)
	case 8:
		f.expr(tV128)
		f.expr(tI32)
		f.simdOp(simdShift[r.intn(len(simdShift))])
	case 9: // loads
		if !f.g.hasMemory {
			f.leaf(tV128)
			return
		}
		loads := []memOp{{0x00, 4}, {0x01, 3}, {0x02, 3}, {0x03, 3}, {0x04, 3}, {0x05, 3}, {0x06, 3},
			{0x07, 0}, {0x08, 1}, {0x09, 2}, {0x0A, 3}, {0x5C, 2}, {0x5D, 3}}
		m := loads[r.intn(len(loads))]
		f.addr()
		f.simdOp(uint32(m.op))
		f.memarg(m.align)
	case 10: // load lane
		if !f.g.hasMemory {
			f.leaf(tV128)
			return
		}
		k := r.intn(4)
		f.addr()
		f.expr(tV128)
		f.simdOp(uint32(0x54 + k))
		f.memarg(k)
		f.w.byte1(byte(r.intn(16 >> k)))
	default:
		f.leaf(tV128)
	}
}

func (f *fgen) exprRef(t valType) {
	r := f.r
	g := f.g
	if t == tFuncRef && len(g.tables) > 0 && r.oneIn(3) {
		ti := r.intn(len(g.tables))
		f.i32const(int32(r.intn(int(g.tables[ti].min))))
		f.op(0x25)
		f.w.u32(uint32(ti))
		return
	}
	f.leaf(t)
}

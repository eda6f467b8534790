package instrument

import (
	"errors"
	"math"
)

// The code section and the instruction walker, which decodes every instruction of a function body
// or constant expression with its immediates. It notes the function indices in it (call,
// return_call, ref.func) as edits and, in function bodies, the check points (the body's start and
// every loop's start) with their costs.
//
// The cost of a check point bounds the instructions one pass through its region executes: from
// the check point to where control leaves the region (a branch back to the region's loop, a
// branch or fall-through out of it, return, a tail call, a trap). Nested loops are paid for by
// their own check points, so in the enclosing region a nested loop is a single instruction that
// continues after its end or at the target of a branch out of it. Instructions are counted
// 1 each, block, if, else, end and branches included, on the paths that execute them (a branch
// to a block's label skips its end; the then arm runs its else, not the end after the else
// arm). The walker computes the longest such path
// in the same single pass that decodes the instructions: cur is the most instructions any path
// executes up to the current instruction (dead where no path reaches it: after br, br_table,
// return, a tail call or unreachable, up to the end or else of the enclosing block), each open
// block and if keeps the most costly branch to its label, and each region the most costly point
// where a path ends.

// Kinds of open blocks on the walker's control stack.
const (
	frameBlock byte = iota
	frameLoop
	frameIf
	frameElse
)

// dead is the path cost of code that no path reaches. Counting instructions on from it stays far
// below zero (a body has fewer than 2^32 instructions), and it loses every max to a live cost.
const dead = math.MinInt64 / 2

// frame is an open block, loop or if on the walker's control stack.
type frame struct {
	kind   byte
	region int   // index in regions of the region that the frame's label is in (a loop: its own)
	start  int64 // loop: cost of the enclosing region after the loop instruction; if: cost after the if
	then   int64 // else: cost at the end of the then arm, the else included
	label  int64 // block, if, else: the most costly branch to the frame's label (dead: none yet)
}

// region is a stretch of code that one check point pays for: a function body or a loop body,
// without the loops nested in it.
type region struct {
	edit int   // index of the check point's edit; -1 outside function bodies
	loop int   // index in frames of the loop whose body it is; -1 for the whole expression
	max  int64 // the most costly point where a path through the region ends, so far
	// deadEntry is the index of the innermost region, this one or one it is nested in, whose loop
	// no path of its enclosing region reaches (0 if there is none). Such a loop still gets its
	// cost, but no path leaves it for the regions around it.
	deadEntry int
}

// walker decodes expressions. Its stacks are kept between calls to save allocations.
type walker struct {
	types   uint32 // entries in the type section, for block type indices
	funcs   uint32 // functions (imported and defined), for function indices
	frames  []frame
	regions []region
	points  int // check points opened
}

// expr decodes one expression from r.pos up to and including the end that closes it and appends
// its edits to *edits, with offsets relative to base. In a function body (body set) it also adds a
// check point at r.pos and one after every loop's block type, each with the cost of its region (at
// least 1).
func (w *walker) expr(r *reader, base int, edits *[]edit, body bool) error {
	w.frames = w.frames[:0]
	w.regions = w.regions[:0]
	w.open(r.pos-base, edits, body, -1, 0)
	cur := int64(0) // the most instructions a path of the innermost region executes up to here
	for {
		start := r.pos
		if start >= len(r.b) {
			return r.fail(start, "expression not terminated by end (0x0b): %v", errTruncated)
		}
		op := r.b[start]
		r.pos++
		cur++
		if op >= opFirstNumeric && op <= opLastNumeric {
			continue
		}
		var err error
		switch op {
		case opNop, opDrop, opSelect, opRefIsNull:
		case opUnreachable, opReturn:
			cur = w.stop(cur)
		case opBlock, opIf:
			err = w.blockType(r)
			f := frame{kind: frameBlock, region: len(w.regions) - 1, label: dead}
			if op == opIf {
				f.kind, f.start = frameIf, cur
			}
			w.frames = append(w.frames, f)
		case opLoop:
			err = w.blockType(r)
			// A path may end in the loop (or leave it for good): the region pays up to here.
			g := &w.regions[len(w.regions)-1]
			g.max = max(g.max, cur)
			w.frames = append(w.frames, frame{kind: frameLoop, region: len(w.regions), start: cur})
			deadEntry := g.deadEntry
			if cur < 0 {
				deadEntry = len(w.regions)
			}
			w.open(r.pos-base, edits, body, len(w.frames)-1, deadEntry)
			cur = 0
		case opElse:
			n := len(w.frames)
			if n == 0 || w.frames[n-1].kind != frameIf {
				return r.fail(start, "else (0x05) without if")
			}
			f := &w.frames[n-1]
			f.kind, f.then, cur = frameElse, cur, f.start
		case opEnd:
			n := len(w.frames)
			if n == 0 {
				w.close(cur, *edits)
				return nil
			}
			f := &w.frames[n-1]
			switch f.kind {
			case frameLoop:
				// The loop's body region ends; falling out of it continues the enclosing region
				// with what it had paid on entering the loop.
				w.close(cur, *edits)
				if cur >= 0 {
					cur = f.start
				} else {
					cur = dead
				}
			case frameIf: // no else: the condition may skip to this end
				cur = max(cur, f.start+1, f.label)
			case frameElse:
				cur = max(cur, f.then, f.label)
			default:
				cur = max(cur, f.label)
			}
			w.frames = w.frames[:n-1]
		case opBr, opBrIf:
			var l uint32
			if l, err = r.u32("branch label"); err == nil {
				w.branch(l, cur)
			}
			if op == opBr {
				cur = w.stop(cur)
			}
		case opBrTable:
			var n, l uint32
			if n, err = r.count("br_table label", 1); err == nil {
				for i := uint32(0); i <= n && err == nil; i++ { // n labels and the default
					if l, err = r.u32("br_table label"); err == nil {
						w.branch(l, cur)
					}
				}
			}
			cur = w.stop(cur)
		case opCall, opReturnCall, opRefFunc:
			err = w.funcRef(r, base, edits)
			if op == opReturnCall {
				cur = w.stop(cur)
			}
		case opCallIndirect, opReturnCallIndirect:
			if _, err = r.u32("type index"); err == nil {
				_, err = r.u32("table index")
			}
			if op == opReturnCallIndirect {
				cur = w.stop(cur)
			}
		case opSelectTyped:
			var n uint32
			if n, err = r.count("select type", 1); err == nil {
				for i := uint32(0); i < n && err == nil; i++ {
					err = valType(r, "select type")
				}
			}
		case opLocalGet, opLocalSet, opLocalTee:
			_, err = r.u32("local index")
		case opGlobalGet, opGlobalSet:
			_, err = r.u32("global index")
		case opTableGet, opTableSet:
			_, err = r.u32("table index")
		case opMemorySize, opMemoryGrow:
			_, err = r.u32("memory index")
		case opI32Const:
			_, err = r.s32("i32.const value")
		case opI64Const:
			_, err = r.s64("i64.const value")
		case opF32Const:
			err = r.skip(4, "f32.const value")
		case opF64Const:
			err = r.skip(8, "f64.const value")
		case opRefNull:
			_, err = r.s33("ref.null heap type")
		case opPrefixMisc:
			err = miscImmediates(r, start)
		case opPrefixSIMD:
			err = simdImmediatesAt(r, start)
		case opPrefixAtomic:
			err = atomicImmediates(r, start)
		default:
			if op >= opFirstLoadStore && op <= opLastLoadStore {
				err = memarg(r)
			} else if what, ok := unsupportedOpcodes[op]; ok {
				return r.fail(start, "unsupported opcode 0x%02x: %s", op, what)
			} else {
				return r.fail(start, "unknown opcode 0x%02x", op)
			}
		}
		if err != nil {
			return err
		}
	}
}

// open starts a region: the body of the loop frames[loop], or with loop -1 the whole expression.
// In a function body it adds the region's check point at offset off.
func (w *walker) open(off int, edits *[]edit, body bool, loop, deadEntry int) {
	g := region{edit: -1, loop: loop, deadEntry: deadEntry}
	if body {
		g.edit = len(*edits)
		*edits = append(*edits, edit{off: uint32(off), kind: editCheck})
		w.points++
	}
	w.regions = append(w.regions, g)
}

// close ends the innermost region, where a path ends at cost cur (the cost of falling off its
// end), and sets its check point's cost: the most costly path, at least 1 and at most what
// i32.const can subtract.
func (w *walker) close(cur int64, edits []edit) {
	g := w.regions[len(w.regions)-1]
	w.regions = w.regions[:len(w.regions)-1]
	if g.edit >= 0 {
		edits[g.edit].val = uint32(min(max(g.max, cur, 1), math.MaxInt32))
	}
}

// stop ends the path at cost cur, after an instruction that does not fall through (br, br_table,
// return, a tail call, unreachable), and returns the cost of the code after it: dead.
func (w *walker) stop(cur int64) int64 {
	g := &w.regions[len(w.regions)-1]
	g.max = max(g.max, cur)
	return dead
}

// branch notes a branch to label l at cost cur. A branch to a block or if of the innermost region
// raises the cost of the code after the block's end. A branch from a nested loop to a block or if
// of an enclosing region leaves the loops in between: it carries the cost the target's region
// had on entering the outermost of them, if a path enters each from the one around it. A branch to a loop ends a
// pass of that loop's region, one to the function's label (l = len(frames)) ends the function:
// the region pays cur there, which stop or the code after a br_if accounts for. Labels out of
// range (an invalid module) are ignored.
func (w *walker) branch(l uint32, cur int64) {
	n := len(w.frames)
	if cur < 0 || uint64(l) >= uint64(n) {
		return
	}
	f := &w.frames[n-1-int(l)]
	if f.kind == frameLoop {
		return
	}
	if inner := len(w.regions) - 1; f.region != inner {
		if w.regions[inner].deadEntry > f.region {
			return
		}
		cur = w.frames[w.regions[f.region+1].loop].start
	}
	f.label = max(f.label, cur)
}

// funcRef reads a function index and notes it as an edit.
func (w *walker) funcRef(r *reader, base int, edits *[]edit) error {
	start := r.pos
	v, n, err := r.u32w("function index")
	if err != nil {
		return err
	}
	if v >= w.funcs {
		return r.fail(start, "function index %d out of range (%d functions)", v, w.funcs)
	}
	*edits = append(*edits, edit{off: uint32(start - base), val: v, width: uint8(n), kind: editFunc})
	return nil
}

// blockType reads the block type of block, loop or if: empty (0x40), one value type, or a type
// index as a non-negative s33.
func (w *walker) blockType(r *reader) error {
	start := r.pos
	if start >= len(r.b) {
		return r.fail(start, "block type: %v", errTruncated)
	}
	if c := r.b[start]; c == blockTypeEmpty || isValType(c) {
		r.pos++
		return nil
	}
	v, err := r.s33("block type")
	if err != nil {
		return err
	}
	if v < 0 {
		return r.fail(start, "unsupported block type 0x%02x", r.b[start])
	}
	if v >= int64(w.types) {
		return r.fail(start, "block type index %d out of range (%d types)", v, w.types)
	}
	return nil
}

// valType reads one value type.
func valType(r *reader, what string) error {
	start := r.pos
	c, err := r.byte(what)
	if err != nil {
		return err
	}
	if !isValType(c) {
		return r.fail(start, "%s: unsupported value type 0x%02x", what, c)
	}
	return nil
}

// memarg reads the immediate of a memory access: alignment, a memory index when bit 6 of the
// alignment says one follows (multi-memory), and the offset.
func memarg(r *reader) error {
	align, err := r.u32("memarg alignment")
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32("memarg memory index"); err != nil {
			return err
		}
	}
	_, err = r.u64("memarg offset")
	return err
}

// miscImmediates reads the sub-opcode after the 0xfc prefix at start and its immediates:
// saturating truncations (0-7) and the bulk memory and table instructions (8-17).
func miscImmediates(r *reader, start int) error {
	sub, err := r.u32("0xfc sub-opcode")
	if err != nil {
		return err
	}
	var n int // u32 immediates
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // iNN.trunc_sat_fMM_s/u
	case 9, 11, 13, 15, 16, 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		n = 1
	case 8, 10, 12, 14: // memory.init, memory.copy, table.init, table.copy
		n = 2
	default:
		return r.fail(start, "unknown opcode 0xfc %d", sub)
	}
	for ; n > 0; n-- {
		if _, err := r.u32("index"); err != nil {
			return err
		}
	}
	return nil
}

// simdImmediatesAt reads the sub-opcode after the 0xfd prefix at start and its immediates.
func simdImmediatesAt(r *reader, start int) error {
	sub, err := r.u32("0xfd sub-opcode")
	if err != nil {
		return err
	}
	imm := simdUnknown
	if sub < uint32(len(simdImmediates)) {
		imm = simdImmediates[sub]
	}
	switch imm {
	case simdNone:
		return nil
	case simdMemarg:
		return memarg(r)
	case simdMemargLane:
		if err := memarg(r); err != nil {
			return err
		}
		return r.skip(1, "lane index")
	case simdLane:
		return r.skip(1, "lane index")
	case simd16Bytes:
		return r.skip(16, "16-byte immediate")
	}
	if sub >= 0x100 && sub <= 0x113 {
		return r.fail(start, "unsupported opcode 0xfd 0x%x: relaxed SIMD", sub)
	}
	return r.fail(start, "unknown opcode 0xfd 0x%x", sub)
}

// atomicImmediates reads the sub-opcode after the 0xfe prefix at start and its immediates.
func atomicImmediates(r *reader, start int) error {
	sub, err := r.u32("0xfe sub-opcode")
	if err != nil {
		return err
	}
	if sub == 0x03 { // atomic.fence
		at := r.pos
		c, err := r.byte("atomic.fence")
		if err != nil {
			return err
		}
		if c != 0 {
			return r.fail(at, "atomic.fence: expected 0x00, got 0x%02x", c)
		}
		return nil
	}
	if !atomicHasMemarg(sub) {
		return r.fail(start, "unknown opcode 0xfe 0x%x", sub)
	}
	return memarg(r)
}

// code decodes the code section. Each body becomes a child span of the section: its size prefix
// is written anew, and its edits are its function indices and check points.
func (d *decoder) code(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "function body", 2)
	if err != nil {
		return err
	}
	if n != d.m.funcs {
		return r.fail(base, "%d function bodies for %d functions declared", n, d.m.funcs)
	}
	d.m.bodies = int(n)
	s.body.kids = make([]span, n)
	ends := make([]int, n) // end of each body's edits in all
	// One slice holds the edits of all bodies; each body's edits are a window on it.
	all := make([]edit, 0, len(r.b[r.pos:])/16)
	for i := range n {
		start := r.pos
		size, w, err := r.u32w("function body size")
		if err != nil {
			return withFunc(err, i)
		}
		if int64(size) > int64(len(r.b)-r.pos) {
			return withFunc(r.fail(start, "body of %d bytes exceeds the %d bytes left", size, len(r.b)-r.pos), i)
		}
		bodyStart := r.pos
		end := bodyStart + int(size)
		s.body.edits = append(s.body.edits, edit{off: uint32(start - base), val: i, width: uint8(w), kind: editSized})
		s.body.kids[i].raw = r.b[bodyStart:end]
		br := &reader{b: r.b[:end], pos: bodyStart}
		if err := d.body(br, bodyStart, &all); err != nil {
			return withFunc(err, i)
		}
		ends[i] = len(all)
		r.pos = end
	}
	first := 0
	for i := range s.body.kids {
		s.body.kids[i].edits = all[first:ends[i]:ends[i]]
		first = ends[i]
	}
	d.m.points += d.w.points
	return nil
}

// body decodes one function body: its locals and its instructions, which must end exactly at the
// body's end.
func (d *decoder) body(r *reader, base int, edits *[]edit) error {
	groups, err := r.count("local group", 2)
	if err != nil {
		return err
	}
	var locals uint64
	for range groups {
		start := r.pos
		k, err := r.u32("local count")
		if err != nil {
			return err
		}
		if locals += uint64(k); locals > math.MaxUint32 {
			return r.fail(start, "too many locals")
		}
		if err := valType(r, "local type"); err != nil {
			return err
		}
	}
	if err := d.w.expr(r, base, edits, true); err != nil {
		return err
	}
	if !r.atEnd() {
		return r.fail(r.pos, "%d bytes after the end of the function body", len(r.b)-r.pos)
	}
	return nil
}

// withFunc adds the index of the function body an error is in.
func withFunc(err error, i uint32) error {
	var de *decodeError
	if errors.As(err, &de) && de.fn < 0 {
		de.fn = int(i)
	}
	return err
}

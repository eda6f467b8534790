package instrument

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/arqhost/arqhost/host/wasm/internal/wasmgen"
)

// Tests of the check points' costs. The unit tests give small bodies with the costs worked out by
// hand. TestCostsMatchOracle compares the walker's costs, on every test, project and generated
// module and on random bodies, with those of an independent implementation (cfgOracle): it
// builds the control-flow graph of each region explicitly, collapses nested loops into nodes that
// lead to their exits, and finds the longest path by dynamic programming over the graph, which
// is acyclic once back edges end the path. It also checks that no cost exceeds the old one (the
// region's instruction count).

// checkPointCosts returns the costs of the check points of every function body of a module, in
// order: the body's own, then its loops'.
func checkPointCosts(tb testing.TB, wasm []byte) [][]uint32 {
	tb.Helper()
	m, err := decode(wasm)
	if err != nil {
		tb.Fatal(err)
	}
	var costs [][]uint32
	for _, s := range m.sections {
		if s.id != secCode {
			continue
		}
		for _, k := range s.body.kids {
			var c []uint32
			for _, e := range k.edits {
				if e.kind == editCheck {
					c = append(c, e.val)
				}
			}
			costs = append(costs, c)
		}
	}
	return costs
}

func TestCosts(t *testing.T) {
	const (
		block = opBlock
		loop  = opLoop
		if_   = opIf
		else_ = opElse
		end   = opEnd
		br    = opBr
		brIf  = opBrIf
		nop   = opNop
		e     = blockTypeEmpty
	)
	c0 := []byte{opI32Const, 0x00} // i32.const 0: one instruction
	nops := func(n int) []byte { return slices.Repeat([]byte{nop}, n) }
	cases := []struct {
		name string
		code []byte   // the body without its locals and final end
		want []uint32 // the body's cost, then its loops' in order
		old  []uint32 // the instruction counts, for comparison
	}{
		{"empty", nil, []uint32{1}, []uint32{1}},
		{"straight", nops(3), []uint32{4}, []uint32{4}},
		// if(2) nop*5 else(8) | nop(3) end(4): max(8, 4), then the function's end.
		{"if/else: then longer", tCat(c0, []byte{if_, e}, nops(5), []byte{else_, nop, end}), []uint32{9}, []uint32{11}},
		// if(2) nop(3) else(4) | nop*4(6) end(7), end 8.
		{"if/else: else longer", tCat(c0, []byte{if_, e, nop, else_}, nops(4), []byte{end}), []uint32{8}, []uint32{10}},
		// No else: the condition skips to the end (if, end) or runs the then arm.
		{"if without else", tCat(c0, []byte{if_, e}, nops(3), []byte{end}), []uint32{7}, []uint32{7}},
		// The then arm branches to the if's label: block(1)... if(2) br(3) | end(3).
		{"if: br to its label", tCat(c0, []byte{if_, e, br, 0, nop, nop, end}), []uint32{4}, []uint32{7}},
		// block(1) br(2), the rest of the block is unreachable; end 2 (the branch skips it), end 3.
		{"br out of a block", tCat([]byte{block, e, br, 0}, nops(3), []byte{end}), []uint32{3}, []uint32{7}},
		// br_if: the rest of the block may run or not.
		{"br_if out of a block", tCat([]byte{block, e}, c0, []byte{brIf, 0}, nops(3), []byte{end}), []uint32{8}, []uint32{8}},
		// Three cases dispatched by br_table (5 instructions to get there), each leaving with br:
		// case 0 runs 5 + nop*3 + br = 9, case 1 runs 5 + nop*5 + br = 11, case 2 runs 5 + end
		// + nop = 7. After the outer block: 11, then nop and end.
		{"br_table", tCat(
			[]byte{block, e, block, e, block, e}, c0, []byte{opBrTable, 2, 0, 1, 2, end},
			nops(3), []byte{br, 1, end},
			nops(5), []byte{br, 0, end},
			[]byte{nop}), []uint32{13}, []uint32{20}},
		// A case without br falls through into the next: 5 + nop*3 + end + nop*5 + br = 15.
		{"br_table fall-through", tCat(
			[]byte{block, e, block, e, block, e}, c0, []byte{opBrTable, 2, 0, 1, 2, end},
			nops(3), []byte{end},
			nops(5), []byte{br, 0, end}), []uint32{16}, []uint32{18}},
		// The loop counts 1 in the function (nop, loop, nop, end) and pays for its own body (nop,
		// nop, end).
		{"nested loop", tCat([]byte{nop, loop, e, nop, nop, end, nop}), []uint32{4, 3}, []uint32{4, 3}},
		// br_if from the loop to the block around it: the path that leaves the loop has paid 3 in
		// the function (block, nop, loop); the loop's body pays nop*5, i32.const, br_if, nop, br.
		{"br from a nested loop", tCat(
			[]byte{block, e, nop, loop, e}, nops(5), c0, []byte{brIf, 1, nop, br, 0, end},
			nops(4), []byte{end}), []uint32{4, 9}, []uint32{9, 10}},
		// The same two loops deep: the branch carries what the function paid when it entered the
		// outer of the two loops. The inner loop pays nop, br; the outer nop, loop.
		{"br from two nested loops", tCat(
			[]byte{block, e, nop, loop, e, nop, loop, e, nop, br, 2, end, nop, end},
			nops(4), []byte{end}), []uint32{4, 2, 2}, []uint32{9, 4, 3}},
		// A branch from a loop that no path enters (it follows a return) does not reach the end
		// of the block: the function pays block, loop. The outer loop pays return, the inner
		// one i32.const, br_if, end.
		{"br from an unreachable loop", tCat(
			[]byte{block, e, loop, e, opReturn, loop, e}, c0, []byte{brIf, 2, end, end},
			nops(3), []byte{end}), []uint32{2, 1, 3}, []uint32{7, 3, 3}},
		// A loop that only branches back: nothing after it runs; the function pays loop.
		{"unreachable after back edge", tCat([]byte{loop, e, nop, br, 0}, nops(10), []byte{end}, nops(3)), []uint32{1, 2}, []uint32{5, 13}},
		{"return", tCat(nops(2), []byte{opReturn}, nops(3)), []uint32{3}, []uint32{7}},
		// return in the then arm (if, nop*5, return: 8) against the else arm (if, nop, end, end).
		{"return in an arm", tCat(c0, []byte{if_, e}, nops(5), []byte{opReturn, else_, nop, end}), []uint32{8}, []uint32{12}},
		{"unreachable", tCat([]byte{nop, opUnreachable}, nops(3)), []uint32{2}, []uint32{6}},
		// br to the function's label is a return.
		{"br to the function", tCat([]byte{block, e, br, 1, end}, nops(3)), []uint32{2}, []uint32{7}},
		// Unreachable code may hold blocks, loops and branches; the loop still pays for its body.
		{"dead code", tCat([]byte{block, e, br, 0, block, e, br, 1, end, loop, e, nop, br, 2, end, end, nop}),
			[]uint32{4, 2}, []uint32{9, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkPointCosts(t, tFunc(tc.code...))[0]
			if !slices.Equal(got, tc.want) {
				t.Errorf("costs %v, want %v", got, tc.want)
			}
			oracle, old := oracleCosts(t, tFunc(tc.code...))
			if !slices.Equal(oracle[0], tc.want) {
				t.Errorf("oracle's costs %v, want %v", oracle[0], tc.want)
			}
			if !slices.Equal(old[0], tc.old) {
				t.Errorf("old costs %v, want %v", old[0], tc.old)
			}
		})
	}
}

// TestCostCap checks that a cost saturates at what i32.const can subtract. (A body that long is
// not built; close is called directly.)
func TestCostCap(t *testing.T) {
	w := &walker{}
	var edits []edit
	w.open(0, &edits, true, -1, 0)
	w.close(math.MaxInt32+10, edits)
	if edits[0].val != math.MaxInt32 {
		t.Errorf("cost %d, want %d", edits[0].val, math.MaxInt32)
	}
}

// TestCostsMatchOracle compares every check point's cost with cfgOracle's and with the old cost.
func TestCostsMatchOracle(t *testing.T) {
	compare := func(t *testing.T, name string, wasm []byte) (sumOld, sumNew, points int64) {
		t.Helper()
		if _, _, err := Instrument(wasm, Options{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := checkPointCosts(t, wasm)
		want, old := oracleCosts(t, wasm)
		for f := range got {
			if !slices.Equal(got[f], want[f]) {
				t.Fatalf("%s: function body %d: costs %v, oracle %v", name, f, got[f], want[f])
			}
			for i := range got[f] {
				if got[f][i] > old[f][i] {
					t.Fatalf("%s: function body %d: costs %v exceed the old costs %v", name, f, got[f], old[f])
				}
				sumOld += int64(old[f][i])
				sumNew += int64(got[f][i])
				points++
			}
		}
		return
	}
	t.Run("testdata", func(t *testing.T) {
		paths, _ := filepath.Glob("testdata/*.wasm")
		for _, p := range paths {
			compare(t, p, readModule(t, p))
		}
	})
	t.Run("project", func(t *testing.T) {
		for _, p := range projectModules(t) {
			o, n, k := compare(t, p, readModule(t, p))
			t.Logf("%-20s %6d points, old sum %9d mean %7.1f, new sum %9d mean %7.1f (%.0f%%)",
				filepath.Base(p), k, o, float64(o)/float64(k), n, float64(n)/float64(k), 100*float64(n)/float64(o))
		}
	})
	t.Run("wasmgen", func(t *testing.T) {
		n := 500
		if testing.Short() {
			n = 100
		}
		for i := range n {
			seed := fmt.Appendf(nil, "cost-%d", i)
			compare(t, string(seed), wasmgen.Generate(seed))
			compare(t, string(seed)+" endless", wasmgen.GenerateModule(seed, wasmgen.Config{Endless: true}).Binary)
		}
	})
	t.Run("random bodies", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 20000 {
			code := randomBody(rng)
			compare(t, fmt.Sprintf("random body %d: % x", i, code), tFunc(code...))
		}
	})
}

// randomBody returns well-nested code of blocks, loops, ifs and branches to random labels, which
// the walker decodes though it does not validate (it does not check the operand stack).
func randomBody(rng *rand.Rand) []byte {
	var code []byte
	var open []byte // kinds of open constructs: opBlock, opLoop, opIf, opElse
	n := 1 + rng.IntN(40)
	for range n {
		depth := uint32(len(open))
		label := func() byte { return byte(rng.IntN(int(depth) + 1)) } // at most the function's label
		switch k := rng.IntN(20); {
		case k < 4:
			code = append(code, opNop)
		case k < 6:
			code = append(code, opBlock, blockTypeEmpty)
			open = append(open, opBlock)
		case k < 8:
			code = append(code, opLoop, blockTypeEmpty)
			open = append(open, opLoop)
		case k < 10:
			code = append(code, opIf, blockTypeEmpty)
			open = append(open, opIf)
		case k < 11:
			if len(open) > 0 && open[len(open)-1] == opIf {
				code = append(code, opElse)
				open[len(open)-1] = opElse
			}
		case k < 14:
			if len(open) > 0 {
				code = append(code, opEnd)
				open = open[:len(open)-1]
			}
		case k < 15:
			code = append(code, opBr, label())
		case k < 17:
			code = append(code, opBrIf, label())
		case k < 18:
			m := rng.IntN(4)
			code = append(code, opBrTable, byte(m))
			for range m + 1 {
				code = append(code, label())
			}
		case k < 19:
			code = append(code, opReturn)
		default:
			code = append(code, opUnreachable)
		}
	}
	for range open {
		code = append(code, opEnd)
	}
	return code
}

// cfgInstr is an instruction as the oracle sees it.
type cfgInstr struct {
	op      byte
	end     int   // block, loop, if: index of the matching end
	els     int   // if: index of its else, or -1
	opener  int   // else, end: index of the block, loop or if it closes; -1 for the body's end
	targets []int // br, br_if, br_table: the index of each label's block, loop or if; -1 for the body
}

// Exits of a region, as the enclosing region sees them: an instruction index to continue at,
// exitFunc (the function returns or traps), or -(l+2) for a branch back to the loop at index l.
const exitFunc = -1

// cfgOracle computes the costs of one function body's check points.
type cfgOracle struct {
	ins  []cfgInstr
	in   []int64 // the most instructions executed in the region before reaching each instruction
	cost map[int]int64
	old  map[int]int64
}

const unreached = math.MinInt64

// oracleCosts returns for every function body of a module the costs of its check points (the
// body's, then its loops' in order) as cfgOracle computes them, and the old costs (the number of
// instructions in each region).
func oracleCosts(tb testing.TB, wasm []byte) (costs, old [][]uint32) {
	tb.Helper()
	m, err := decode(wasm)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range m.sections {
		if s.id != secCode {
			continue
		}
		for f, k := range s.body.kids {
			ins, err := cfgInstrs(&walker{types: m.types}, k.raw)
			if err != nil {
				tb.Fatalf("function body %d: %v", f, err)
			}
			o := &cfgOracle{ins: ins, in: make([]int64, len(ins)), cost: map[int]int64{}, old: map[int]int64{}}
			for i := range o.in {
				o.in[i] = unreached
			}
			if exits := o.region(tb, -1); len(exits) > 0 && slices.ContainsFunc(exits, func(x int) bool { return x != exitFunc }) {
				tb.Fatalf("function body %d: exits %v from the body", f, exits)
			}
			c := []uint32{uint32(min(max(o.cost[-1], 1), math.MaxInt32))}
			d := []uint32{uint32(min(max(o.old[-1], 1), math.MaxInt32))}
			for i, x := range ins {
				if x.op == opLoop {
					c = append(c, uint32(min(max(o.cost[i], 1), math.MaxInt32)))
					d = append(d, uint32(min(max(o.old[i], 1), math.MaxInt32)))
				}
			}
			costs = append(costs, c)
			old = append(old, d)
		}
	}
	return costs, old
}

// region computes the cost of the region of the loop at index loop (-1: the function body) and
// returns where paths leave it.
func (o *cfgOracle) region(tb testing.TB, loop int) (exits []int) {
	a, b := 0, len(o.ins)-1
	if loop >= 0 {
		a, b = loop+1, o.ins[loop].end
	}
	o.in[a] = 0
	var best, count int64
	// edge adds the edge from instruction i, reached by a path of c instructions, to t.
	edge := func(i, t int, c int64) {
		switch {
		case t == -(loop + 2): // back to this region's loop: the pass ends
		case t < 0 || t < a || t > b:
			exits = append(exits, t)
		case t <= i:
			tb.Fatalf("edge from %d back to %d", i, t)
		default:
			o.in[t] = max(o.in[t], c)
		}
	}
	// branch adds the edge of a branch to the label of the construct at index l.
	branch := func(i, l int, c int64) {
		switch {
		case l < 0:
			exits = append(exits, exitFunc)
		case o.ins[l].op == opLoop:
			edge(i, -(l + 2), c)
		default:
			edge(i, o.ins[l].end+1, c)
		}
	}
	for i := a; i <= b; i++ {
		x := o.ins[i]
		count++
		if x.op == opLoop { // a nested loop: one node whose successors are the loop's exits
			sub := o.region(tb, i)
			if o.in[i] != unreached {
				c := o.in[i] + 1
				best = max(best, c)
				for _, t := range sub {
					edge(i, t, c)
				}
			}
			i = x.end
			continue
		}
		if o.in[i] == unreached {
			continue
		}
		c := o.in[i] + 1
		best = max(best, c)
		switch x.op {
		case opUnreachable:
		case opReturn, opReturnCall, opReturnCallIndirect:
			exits = append(exits, exitFunc)
		case opIf:
			edge(i, i+1, c)
			if x.els >= 0 {
				edge(i, x.els+1, c)
			} else {
				edge(i, x.end, c)
			}
		case opElse:
			edge(i, o.ins[x.opener].end+1, c)
		case opEnd:
			switch {
			case i < b:
				edge(i, i+1, c)
			case loop >= 0:
				exits = append(exits, b+1)
			default:
				exits = append(exits, exitFunc)
			}
		case opBr, opBrTable:
			for _, l := range x.targets {
				branch(i, l, c)
			}
		case opBrIf:
			edge(i, i+1, c)
			branch(i, x.targets[0], c)
		default:
			edge(i, i+1, c)
		}
	}
	o.cost[loop] = best
	o.old[loop] = count
	return exits
}

// cfgInstrs decodes a function body (its locals and instructions) into cfgInstrs.
func cfgInstrs(w *walker, raw []byte) ([]cfgInstr, error) {
	r := &reader{b: raw}
	groups, err := r.count("local group", 2)
	if err != nil {
		return nil, err
	}
	for range groups {
		if _, err := r.u32("local count"); err != nil {
			return nil, err
		}
		if err := valType(r, "local type"); err != nil {
			return nil, err
		}
	}
	var ins []cfgInstr
	var open []int // indices of the open blocks, loops and ifs
	label := func(l uint32) int {
		if int(l) >= len(open) {
			return -1
		}
		return open[len(open)-1-int(l)]
	}
	for !r.atEnd() {
		start := r.pos
		op, _ := r.byte("opcode")
		x := cfgInstr{op: op, end: -1, els: -1, opener: -1}
		i := len(ins)
		var err error
		switch {
		case op >= opFirstNumeric && op <= opLastNumeric:
		case op >= opFirstLoadStore && op <= opLastLoadStore:
			err = memarg(r)
		}
		switch op {
		case opBlock, opLoop, opIf:
			err = w.blockType(r)
			open = append(open, i)
		case opElse:
			x.opener = open[len(open)-1]
			ins[x.opener].els = i
		case opEnd:
			if len(open) > 0 {
				x.opener = open[len(open)-1]
				ins[x.opener].end = i
				open = open[:len(open)-1]
			}
		case opBr, opBrIf:
			var l uint32
			l, err = r.u32("label")
			x.targets = []int{label(l)}
		case opBrTable:
			var n, l uint32
			n, err = r.u32("count")
			for range n + 1 {
				l, err = r.u32("label")
				x.targets = append(x.targets, label(l))
			}
		case opCall, opReturnCall, opRefFunc, opLocalGet, opLocalSet, opLocalTee, opGlobalGet, opGlobalSet,
			opTableGet, opTableSet, opMemorySize, opMemoryGrow:
			_, err = r.u32("immediate")
		case opI32Const:
			_, err = r.s32("i32")
		case opCallIndirect, opReturnCallIndirect:
			_, err = r.u32("type")
			_, err = r.u32("table")
		case opSelectTyped:
			var n uint32
			n, err = r.u32("count")
			for range n {
				err = valType(r, "type")
			}
		case opI64Const:
			_, err = r.s64("i64")
		case opF32Const:
			err = r.skip(4, "f32")
		case opF64Const:
			err = r.skip(8, "f64")
		case opRefNull:
			_, err = r.byte("heap type")
		case opPrefixMisc:
			err = miscImmediates(r, start)
		case opPrefixSIMD:
			err = simdImmediatesAt(r, start)
		case opPrefixAtomic:
			err = atomicImmediates(r, start)
		}
		if err != nil {
			return nil, err
		}
		ins = append(ins, x)
	}
	if len(ins) == 0 || len(open) != 0 || ins[len(ins)-1].op != opEnd {
		return nil, fmt.Errorf("body not terminated")
	}
	return ins, nil
}

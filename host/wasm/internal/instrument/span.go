package instrument

// The decoder does not build a tree of the module: it keeps the input bytes and notes, for each
// section, the few places that the rewrite may change (edits). The encoder copies the bytes
// between edits unchanged and writes each edit anew. With no rewrite every edit writes back the
// bytes it was read from, so decode followed by encode reproduces the input (see roundTrip).

// editKind says what an edit stands for.
type editKind uint8

const (
	// editFunc is a function index, a u32 LEB128 of width bytes; the encoder writes it through
	// rewrite.funcIndex, in at least width bytes.
	editFunc editKind = iota
	// editCount is a vector length, a u32 LEB128 of width bytes; val is the length to write, which
	// Instrument raises when it appends an entry.
	editCount
	// editSized is a size prefix (a u32 LEB128 of width bytes) and the bytes it measures, which
	// are the child span kids[val]. The encoder writes the child and its new size.
	editSized
	// editCheck is a check point: the place where the budget check with cost val goes. It takes no
	// input bytes and writes nothing unless the rewrite inserts checks.
	editCheck
	// editInsert inserts inserts[val] and takes no input bytes.
	editInsert
)

// edit is one place in a span that the encoder writes anew.
type edit struct {
	off   uint32 // offset in span.raw
	val   uint32
	width uint8 // input bytes of the LEB128 (editFunc, editCount, editSized)
	kind  editKind
}

// span is a stretch of input bytes and the edits in it, sorted by offset.
type span struct {
	raw     []byte
	edits   []edit
	kids    []span   // children of editSized edits
	inserts [][]byte // bytes of editInsert edits
	size    int      // encoded length, set by rewrite.measure
}

// addInsert appends an editInsert of b at the end of the span.
func (s *span) addInsert(b []byte) {
	s.edits = append(s.edits, edit{off: uint32(len(s.raw)), val: uint32(len(s.inserts)), kind: editInsert})
	s.inserts = append(s.inserts, b)
}

// rewrite is what the encoder changes besides the edits' own values: how function indices move and
// whether, and with which indices, budget checks are written at check points.
type rewrite struct {
	shift     bool   // function indices >= shiftFrom move up by one
	shiftFrom uint32 // first function index that moves
	checks    bool   // write the budget check at every check point
	head      []byte // the check sequence before the cost (global.get G; i32.const)
	tail      []byte // and after it
}

// newRewrite returns the rewrite for a function import inserted at index checkFunc and a budget
// counter in global index global.
func newRewrite(checkFunc, global uint32) *rewrite {
	rw := &rewrite{shift: true, shiftFrom: checkFunc, checks: true}
	// global.get G ; i32.const cost ; i32.sub ; global.set G
	// global.get G ; i32.const 0 ; i32.lt_s
	// if (empty) call C ; global.set G end
	rw.head = appendU32([]byte{opGlobalGet}, global)
	rw.head = append(rw.head, opI32Const)
	rw.tail = append([]byte{opI32Sub, opGlobalSet}, appendU32(nil, global)...)
	rw.tail = append(rw.tail, opGlobalGet)
	rw.tail = appendU32(rw.tail, global)
	rw.tail = append(rw.tail, opI32Const, 0, opI32LtS, opIf, blockTypeEmpty, opCall)
	rw.tail = appendU32(rw.tail, checkFunc)
	rw.tail = append(rw.tail, opGlobalSet)
	rw.tail = appendU32(rw.tail, global)
	rw.tail = append(rw.tail, opEnd)
	return rw
}

// funcIndex maps a function index of the input to the output.
func (rw *rewrite) funcIndex(i uint32) uint32 {
	if rw.shift && i >= rw.shiftFrom {
		return i + 1
	}
	return i
}

// measure computes the encoded length of s and of all its children, recording each in its size.
func (rw *rewrite) measure(s *span) int {
	n := len(s.raw)
	for _, e := range s.edits {
		w := int(e.width)
		switch e.kind {
		case editFunc:
			n += sizeU32Width(rw.funcIndex(e.val), w) - w
		case editCount:
			n += sizeU32Width(e.val, w) - w
		case editSized:
			k := &s.kids[e.val]
			k.size = rw.measure(k)
			n += sizeU32Width(uint32(k.size), w) + k.size - w - len(k.raw)
		case editCheck:
			if rw.checks {
				n += len(rw.head) + sizeS32(int32(e.val)) + len(rw.tail)
			}
		case editInsert:
			n += len(s.inserts[e.val])
		}
	}
	s.size = n
	return n
}

// write appends the encoding of s to dst. measure must have run on s.
func (rw *rewrite) write(dst []byte, s *span) []byte {
	last := 0
	for _, e := range s.edits {
		off := int(e.off)
		dst = append(dst, s.raw[last:off]...)
		w := int(e.width)
		switch e.kind {
		case editFunc:
			dst = appendU32Width(dst, rw.funcIndex(e.val), w)
			last = off + w
		case editCount:
			dst = appendU32Width(dst, e.val, w)
			last = off + w
		case editSized:
			k := &s.kids[e.val]
			dst = appendU32Width(dst, uint32(k.size), w)
			dst = rw.write(dst, k)
			last = off + w + len(k.raw)
		case editCheck:
			if rw.checks {
				dst = append(dst, rw.head...)
				dst = appendS32(dst, int32(e.val))
				dst = append(dst, rw.tail...)
			}
			last = off
		case editInsert:
			dst = append(dst, s.inserts[e.val]...)
			last = off
		}
	}
	return append(dst, s.raw[last:]...)
}

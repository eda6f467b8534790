package instrument

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var (
	wasmMagic   = []byte{0x00, 'a', 's', 'm'}
	wasmVersion = []byte{0x01, 0x00, 0x00, 0x00}
)

// sectionNames names the known sections for errors.
var sectionNames = [...]string{
	secCustom: "custom", secType: "type", secImport: "import", secFunction: "function",
	secTable: "table", secMemory: "memory", secGlobal: "global", secExport: "export",
	secStart: "start", secElement: "element", secCode: "code", secData: "data",
	secDataCount: "data count", secTag: "tag",
}

// sectionRank is the position of a known non-custom section in the order the binary format
// requires: the tag section comes between memory and global, data count between element and code.
// Unknown ids rank 0.
func sectionRank(id byte) int {
	switch id {
	case secType, secImport, secFunction, secTable, secMemory:
		return int(id)
	case secTag:
		return 6
	case secGlobal, secExport, secStart, secElement:
		return int(id) + 1
	case secDataCount:
		return 11
	case secCode, secData:
		return int(id) + 2
	}
	return 0
}

// module is a decoded module: its sections in input order, and the sizes of the index spaces the
// rewrite needs.
type module struct {
	sections []*section

	types           uint32 // entries of the type section
	importedFuncs   uint32
	importedGlobals uint32
	funcs           uint32 // entries of the function section (defined functions)
	globals         uint32 // entries of the global section (defined globals)
	bodies          int    // function bodies in the code section
	points          int    // check points in the bodies
}

// section is one section of a module.
type section struct {
	id        byte
	name      string // custom sections: their name
	offset    int    // input offset of the id byte; -1 for a section Instrument adds
	sizeWidth int    // bytes of the input's size prefix; 0 for an added section
	body      span   // the contents, after the size prefix
	countEdit int    // vector sections: index in body.edits of the vector length; -1 otherwise
	malformed error  // a custom "name" section that failed to decode: why
	drop      bool   // leave the section out of the output
}

// totalFuncs is the size of the function index space.
func (m *module) totalFuncs() uint32 { return m.importedFuncs + m.funcs }

// decode decodes a module. Every section the rewrite touches is decoded in full (the code section
// instruction by instruction); the others are checked where that is cheap and kept as bytes.
func decode(in []byte) (*module, error) {
	if uint64(len(in)) > math.MaxUint32 {
		return nil, &decodeError{fn: -1, msg: fmt.Sprintf("module of %d bytes is too large", len(in))}
	}
	if len(in) < 8 || !bytes.Equal(in[:4], wasmMagic) {
		return nil, &decodeError{fn: -1, msg: "not a WebAssembly module (no \\0asm magic)"}
	}
	if !bytes.Equal(in[4:8], wasmVersion) {
		msg := fmt.Sprintf("unsupported binary version % x (want 01 00 00 00)", in[4:8])
		if in[6] == 0x01 && in[7] == 0x00 {
			msg += "; this is a component, not a core module"
		}
		return nil, &decodeError{fn: -1, off: 4, msg: msg}
	}
	m := &module{}
	d := &decoder{in: in, m: m}
	lastRank := 0
	var names []*section
	for pos := 8; pos < len(in); {
		start := pos
		id := in[pos]
		pos++
		size, w, err := readU32(in, pos)
		if err != nil {
			return nil, &decodeError{fn: -1, off: pos, msg: fmt.Sprintf("size of section id %d: %v", id, err)}
		}
		pos += w
		if int64(size) > int64(len(in)-pos) {
			return nil, &decodeError{fn: -1, off: start,
				msg: fmt.Sprintf("section id %d of %d bytes exceeds the %d bytes left", id, size, len(in)-pos)}
		}
		end := pos + int(size)
		s := &section{id: id, offset: start, sizeWidth: w, body: span{raw: in[pos:end]}, countEdit: -1}
		if id != secCustom {
			rank := sectionRank(id)
			if rank == 0 {
				return nil, &decodeError{fn: -1, off: start, msg: fmt.Sprintf("unknown section id %d", id)}
			}
			if rank <= lastRank {
				return nil, &decodeError{section: sectionNames[id], fn: -1, off: start,
					msg: "section out of order or repeated"}
			}
			lastRank = rank
		}
		r := &reader{b: in[:end], pos: pos}
		if err := d.section(s, r); err != nil {
			var de *decodeError
			if errors.As(err, &de) && de.section == "" {
				de.section = sectionLabel(s)
			}
			return nil, err
		}
		if id == secCustom && s.name == "name" {
			names = append(names, s)
		}
		m.sections = append(m.sections, s)
		pos = end
	}
	if m.funcs != uint32(m.bodies) {
		return nil, &decodeError{section: "code", fn: -1, off: len(in),
			msg: fmt.Sprintf("%d function bodies for %d functions declared", m.bodies, m.funcs)}
	}
	// Name sections are decoded last: they refer to functions, and may come before the sections
	// that define them.
	for _, s := range names {
		d.names(s)
	}
	return m, nil
}

// sectionLabel names a section in errors.
func sectionLabel(s *section) string {
	if s.id == secCustom && s.name != "" {
		return fmt.Sprintf("custom %q", s.name)
	}
	if int(s.id) < len(sectionNames) {
		return sectionNames[s.id]
	}
	return fmt.Sprintf("id %d", s.id)
}

// encode encodes the module, applying rw. Sections keep their order; a section's size prefix keeps
// its input width where the new size fits.
func (m *module) encode(rw *rewrite) []byte {
	total := len(wasmMagic) + len(wasmVersion)
	for _, s := range m.sections {
		if !s.drop {
			n := rw.measure(&s.body)
			total += 1 + sizeU32Width(uint32(n), s.sizeWidth) + n
		}
	}
	out := make([]byte, 0, total)
	out = append(out, wasmMagic...)
	out = append(out, wasmVersion...)
	for _, s := range m.sections {
		if s.drop {
			continue
		}
		out = append(out, s.id)
		out = appendU32Width(out, uint32(s.body.size), s.sizeWidth)
		out = rw.write(out, &s.body)
	}
	return out
}

// roundTrip decodes in and encodes it with no change. For any module decode accepts the result is
// in, byte for byte: the test of the encoder's faithfulness.
func roundTrip(in []byte) ([]byte, error) {
	m, err := decode(in)
	if err != nil {
		return nil, err
	}
	return m.encode(&rewrite{}), nil
}

// vectorSection returns the section with the given id, adding an empty one (a vector of length 0)
// in its place in the section order if the module has none. Only the type, import and global
// sections are added this way.
func (m *module) vectorSection(id byte) *section {
	rank := sectionRank(id)
	at := 0 // insert after the last non-custom section that comes before it, or first
	for i, s := range m.sections {
		if s.id == id {
			return s
		}
		if s.id != secCustom && sectionRank(s.id) < rank {
			at = i + 1
		}
	}
	s := &section{id: id, offset: -1, body: span{raw: []byte{0}}, countEdit: 0}
	s.body.edits = []edit{{off: 0, val: 0, width: 1, kind: editCount}}
	m.sections = append(m.sections, nil)
	copy(m.sections[at+1:], m.sections[at:])
	m.sections[at] = s
	return s
}

// appendEntry appends an encoded entry to a vector section and counts it.
func (s *section) appendEntry(entry []byte) {
	s.body.edits[s.countEdit].val++
	s.body.addInsert(entry)
}

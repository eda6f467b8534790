package instrument

import "fmt"

// The custom "name" section (WebAssembly appendix, and the extended name section proposal) is a
// sequence of subsections, each an id byte, a size and contents. Three of them are keyed by
// function index and are rewritten: 1 (function names: a name map), 2 (local names: an indirect
// name map, function -> local -> name) and 3 (label names: function -> label -> name). The others
// are copied. A name section that does not decode is kept as it is by the round trip, and dropped
// by Instrument, since its indices could not be moved.

// Name subsections keyed by function index.
const (
	nameSubFunctions = 1
	nameSubLocals    = 2
	nameSubLabels    = 3
)

// names decodes the name section s. On failure it records why in s.malformed and leaves s without
// edits.
func (d *decoder) names(s *section) {
	start := s.offset + 1 + s.sizeWidth
	r := &reader{b: d.in[:start+len(s.body.raw)], pos: start}
	var sp span
	if err := d.nameSubsections(r, start, &sp); err != nil {
		s.malformed = err
		return
	}
	s.body.edits, s.body.kids = sp.edits, sp.kids
}

// nameSubsections decodes the subsections of a name section into edits of sp; base is the
// input offset of the section's contents.
func (d *decoder) nameSubsections(r *reader, base int, sp *span) error {
	if _, err := r.name("custom section name"); err != nil {
		return err
	}
	for !r.atEnd() {
		id, err := r.byte("name subsection id")
		if err != nil {
			return err
		}
		start := r.pos
		size, w, err := r.u32w("name subsection size")
		if err != nil {
			return err
		}
		if int64(size) > int64(len(r.b)-r.pos) {
			return r.fail(start, "name subsection %d of %d bytes exceeds the %d bytes left", id, size, len(r.b)-r.pos)
		}
		end := r.pos + int(size)
		if id == nameSubFunctions || id == nameSubLocals || id == nameSubLabels {
			kid := span{raw: r.b[r.pos:end]}
			sub := &reader{b: r.b[:end], pos: r.pos}
			if err := d.nameMap(sub, r.pos, &kid, id != nameSubFunctions); err != nil {
				return fmt.Errorf("name subsection %d: %w", id, err)
			}
			if !sub.atEnd() {
				return sub.fail(sub.pos, "name subsection %d: %d bytes left over", id, end-sub.pos)
			}
			sp.edits = append(sp.edits, edit{off: uint32(start - base), val: uint32(len(sp.kids)), width: uint8(w), kind: editSized})
			sp.kids = append(sp.kids, kid)
		}
		r.pos = end
	}
	return nil
}

// nameMap decodes a name map keyed by function index (or, if indirect, a map from function index
// to a name map keyed by another index), noting the function indices as edits of sp.
func (d *decoder) nameMap(r *reader, base int, sp *span, indirect bool) error {
	n, err := r.count("name map", 2)
	if err != nil {
		return err
	}
	for range n {
		if err := d.funcIndex(sp, r, base, "named function"); err != nil {
			return err
		}
		if indirect {
			k, err := r.count("inner name map", 2)
			if err != nil {
				return err
			}
			for range k {
				if _, err := r.u32("index"); err != nil {
					return err
				}
				if _, err := r.name("name"); err != nil {
					return err
				}
			}
		} else if _, err := r.name("function name"); err != nil {
			return err
		}
	}
	return nil
}

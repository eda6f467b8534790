package instrument

import "math"

// decoder holds what decoding one module needs across sections.
type decoder struct {
	in []byte
	m  *module
	w  walker
}

// section decodes the contents of s, which r holds from r.pos to its end. It notes in s.body the
// edits the rewrite needs and in d.m the sizes of the index spaces.
func (d *decoder) section(s *section, r *reader) error {
	base := r.pos
	d.w.types = d.m.types
	d.w.funcs = d.m.totalFuncs()
	var err error
	switch s.id {
	case secCustom:
		var name []byte
		if name, err = r.name("custom section name"); err == nil {
			s.name = string(name)
		}
		return err // the contents of custom sections are not checked; "name" is decoded later
	case secType:
		err = d.types(s, r, base)
	case secImport:
		err = d.imports(s, r, base)
	case secFunction:
		err = d.functions(s, r, base)
	case secTable:
		err = vector(s, r, base, "table", 3, tableType)
	case secMemory:
		err = vector(s, r, base, "memory", 2, limits)
	case secTag:
		err = vector(s, r, base, "tag", 2, d.tagType)
	case secGlobal:
		err = d.globalSection(s, r, base)
	case secExport:
		err = d.exports(s, r, base)
	case secStart:
		err = d.funcIndex(&s.body, r, base, "start function")
	case secElement:
		err = d.elements(s, r, base)
	case secDataCount:
		_, err = r.u32("data count")
	case secCode:
		err = d.code(s, r, base)
	case secData:
		err = d.data(s, r, base)
	}
	if err == nil && !r.atEnd() {
		err = r.fail(r.pos, "%d bytes left over at the end of the section", len(r.b)-r.pos)
	}
	return err
}

// vectorCount reads the length of the vector that makes up a section and notes it as the
// section's count edit. minSize is the least number of bytes an entry takes.
func vectorCount(s *section, r *reader, base int, what string, minSize int) (uint32, error) {
	start := r.pos
	n, err := r.count(what, minSize)
	if err != nil {
		return 0, err
	}
	s.countEdit = len(s.body.edits)
	s.body.edits = append(s.body.edits, edit{off: uint32(start - base), val: n, width: uint8(r.pos - start), kind: editCount})
	return n, nil
}

// vector decodes a section that is a vector of entries, each read by entry.
func vector(s *section, r *reader, base int, what string, minSize int, entry func(*reader) error) error {
	n, err := vectorCount(s, r, base, what, minSize)
	for i := uint32(0); i < n && err == nil; i++ {
		err = entry(r)
	}
	return err
}

// types decodes the type section: function types only (GC's recursive and sub types are not
// supported).
func (d *decoder) types(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "type", 3)
	if err != nil {
		return err
	}
	d.m.types = n
	for i := uint32(0); i < n; i++ {
		start := r.pos
		form, err := r.byte("type form")
		if err != nil {
			return err
		}
		if form != funcTypeForm {
			return r.fail(start, "type %d: unsupported type form 0x%02x (only function types, 0x60)", i, form)
		}
		if err := resultType(r, "parameter type"); err != nil {
			return err
		}
		if err := resultType(r, "result type"); err != nil {
			return err
		}
	}
	return nil
}

// resultType reads a vector of value types.
func resultType(r *reader, what string) error {
	n, err := r.count(what, 1)
	for i := uint32(0); i < n && err == nil; i++ {
		err = valType(r, what)
	}
	return err
}

// imports decodes the import section, counting the imported functions and globals.
func (d *decoder) imports(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "import", 4)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.name("import module name"); err != nil {
			return err
		}
		if _, err := r.name("import name"); err != nil {
			return err
		}
		start := r.pos
		kind, err := r.byte("import kind")
		if err != nil {
			return err
		}
		switch kind {
		case 0x00: // function
			if err := d.typeIndex(r); err != nil {
				return err
			}
			d.m.importedFuncs++
		case 0x01:
			err = tableType(r)
		case 0x02:
			err = limits(r)
		case 0x03:
			err = globalType(r)
			d.m.importedGlobals++
		case 0x04:
			err = d.tagType(r)
		default:
			return r.fail(start, "import %d: unknown import kind 0x%02x", i, kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// functions decodes the function section: the type index of every defined function.
func (d *decoder) functions(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "function", 1)
	if err != nil {
		return err
	}
	if uint64(n)+uint64(d.m.importedFuncs) >= math.MaxUint32 {
		return r.fail(base, "too many functions")
	}
	d.m.funcs = n
	for i := uint32(0); i < n; i++ {
		if err := d.typeIndex(r); err != nil {
			return err
		}
	}
	return nil
}

// typeIndex reads an index into the type section.
func (d *decoder) typeIndex(r *reader) error {
	start := r.pos
	v, err := r.u32("type index")
	if err != nil {
		return err
	}
	if v >= d.m.types {
		return r.fail(start, "type index %d out of range (%d types)", v, d.m.types)
	}
	return nil
}

// limits reads the limits of a memory or table: flags (bit 0: has a maximum, bit 1: shared,
// bit 2: 64-bit), the minimum and maybe the maximum.
func limits(r *reader) error {
	start := r.pos
	flags, err := r.byte("limits flags")
	if err != nil {
		return err
	}
	if flags > 0x07 {
		return r.fail(start, "unknown limits flags 0x%02x", flags)
	}
	for i := 0; i < 1+int(flags&1); i++ {
		if flags&0x04 != 0 {
			_, err = r.u64("limit")
		} else {
			_, err = r.u32("limit")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tableType reads a reference type and limits.
func tableType(r *reader) error {
	start := r.pos
	c, err := r.byte("table element type")
	if err != nil {
		return err
	}
	if !isRefType(c) {
		return r.fail(start, "unsupported table element type 0x%02x", c)
	}
	return limits(r)
}

// globalType reads a value type and mutability.
func globalType(r *reader) error {
	if err := valType(r, "global type"); err != nil {
		return err
	}
	start := r.pos
	mut, err := r.byte("global mutability")
	if err == nil && mut > 1 {
		err = r.fail(start, "unknown global mutability 0x%02x", mut)
	}
	return err
}

// tagType reads a tag (exception handling): attribute 0 and a type index.
func (d *decoder) tagType(r *reader) error {
	start := r.pos
	attr, err := r.byte("tag attribute")
	if err != nil {
		return err
	}
	if attr != 0 {
		return r.fail(start, "unknown tag attribute 0x%02x", attr)
	}
	return d.typeIndex(r)
}

// globalSection decodes the global section; ref.func in initializers becomes an edit.
func (d *decoder) globalSection(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "global", 3)
	if err != nil {
		return err
	}
	d.m.globals = n
	for i := uint32(0); i < n; i++ {
		if err := globalType(r); err != nil {
			return err
		}
		if err := d.w.expr(r, base, &s.body.edits, false); err != nil {
			return err
		}
	}
	return nil
}

// exports decodes the export section; function exports' indices become edits.
func (d *decoder) exports(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "export", 3)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.name("export name"); err != nil {
			return err
		}
		start := r.pos
		kind, err := r.byte("export kind")
		if err != nil {
			return err
		}
		switch kind {
		case 0x00:
			err = d.funcIndex(&s.body, r, base, "exported function")
		case 0x01, 0x02, 0x03, 0x04: // table, memory, global, tag
			_, err = r.u32("export index")
		default:
			return r.fail(start, "export %d: unknown export kind 0x%02x", i, kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// funcIndex reads a function index outside code and notes it as an edit of sp.
func (d *decoder) funcIndex(sp *span, r *reader, base int, what string) error {
	start := r.pos
	v, n, err := r.u32w(what)
	if err != nil {
		return err
	}
	if v >= d.m.totalFuncs() {
		return r.fail(start, "%s: function index %d out of range (%d functions)", what, v, d.m.totalFuncs())
	}
	sp.edits = append(sp.edits, edit{off: uint32(start - base), val: v, width: uint8(n), kind: editFunc})
	return nil
}

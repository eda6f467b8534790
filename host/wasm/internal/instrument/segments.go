package instrument

// Element and data segments: their offset expressions, and element segments' items, may refer to
// functions.

// elements decodes the element section in all eight encodings. The flags' bit 0 says passive or
// declarative (else active), bit 1 that an active segment names its table (or, with bit 0, that
// the segment is declarative), bit 2 that the items are expressions rather than function indices.
func (d *decoder) elements(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "element segment", 2)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		start := r.pos
		flags, err := r.u32("element segment flags")
		if err != nil {
			return err
		}
		if flags > 7 {
			return r.fail(start, "element segment %d: unknown flags %d", i, flags)
		}
		if flags&1 == 0 { // active
			if flags&2 != 0 {
				if _, err := r.u32("table index"); err != nil {
					return err
				}
			}
			if err := d.w.expr(r, base, &s.body.edits, false); err != nil {
				return err
			}
		}
		exprs := flags&4 != 0
		if flags&3 != 0 { // all but 0 and 4 state the element kind or type
			at := r.pos
			c, err := r.byte("element type")
			if err != nil {
				return err
			}
			if !exprs && c != 0x00 {
				return r.fail(at, "element segment %d: unknown element kind 0x%02x", i, c)
			}
			if exprs && !isRefType(c) {
				return r.fail(at, "element segment %d: unsupported element type 0x%02x", i, c)
			}
		}
		k, err := r.count("element", 1)
		if err != nil {
			return err
		}
		for j := uint32(0); j < k; j++ {
			if exprs {
				err = d.w.expr(r, base, &s.body.edits, false)
			} else {
				err = d.funcIndex(&s.body, r, base, "element")
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// data decodes the data section: the offset expressions of active segments may hold edits.
func (d *decoder) data(s *section, r *reader, base int) error {
	n, err := vectorCount(s, r, base, "data segment", 2)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		start := r.pos
		flags, err := r.u32("data segment flags")
		if err != nil {
			return err
		}
		switch flags {
		case 0: // active, memory 0
			err = d.w.expr(r, base, &s.body.edits, false)
		case 1: // passive
		case 2: // active, explicit memory
			if _, err = r.u32("memory index"); err == nil {
				err = d.w.expr(r, base, &s.body.edits, false)
			}
		default:
			return r.fail(start, "data segment %d: unknown flags %d", i, flags)
		}
		if err != nil {
			return err
		}
		if _, err := r.name("data segment bytes"); err != nil {
			return err
		}
	}
	return nil
}

package instrument

// Defaults of Options.
const (
	defaultImportModule = "arqhost_rt"
	defaultImportName   = "check"
	defaultBudget       = 1 << 20
)

// Options configure Instrument.
type Options struct {
	ImportModule string // module name of the imported check function; default "arqhost_rt"
	ImportName   string // its name; default "check"
	Budget       int32  // initial value of the budget global; default 1<<20
}

// Info describes an instrumented module.
type Info struct {
	CheckFunc uint32 // function index of the imported check function in the new module
	Global    uint32 // global index of the budget counter
	Points    int    // number of check points inserted (function entries + loop headers)
	Functions int    // defined functions instrumented
}

// Instrument returns a copy of the module wasm with budget checks inserted. The imported function has
// type () -> i32 and returns the new budget. Errors name what is wrong (offset, section, opcode) for a
// module that is not valid WebAssembly or uses an encoding this rewriter does not know.
func Instrument(wasm []byte, opt Options) ([]byte, Info, error) {
	if opt.ImportModule == "" {
		opt.ImportModule = defaultImportModule
	}
	if opt.ImportName == "" {
		opt.ImportName = defaultImportName
	}
	if opt.Budget == 0 {
		opt.Budget = defaultBudget
	}
	m, err := decode(wasm)
	if err != nil {
		return nil, Info{}, err
	}
	info := Info{
		CheckFunc: m.importedFuncs,
		Global:    m.importedGlobals + m.globals,
		Points:    m.points,
		Functions: m.bodies,
	}

	// The check function's type, () -> i32, appended to the types.
	typeIndex := m.types
	m.vectorSection(secType).appendEntry([]byte{funcTypeForm, 0, 1, valI32})

	// Its import, after all others: its index is the number of imported functions.
	imp := appendName(nil, opt.ImportModule)
	imp = appendName(imp, opt.ImportName)
	imp = append(imp, 0x00) // function
	imp = appendU32(imp, typeIndex)
	m.vectorSection(secImport).appendEntry(imp)

	// The budget counter: (global (mut i32) (i32.const Budget)), after all others.
	g := []byte{valI32, 0x01, opI32Const}
	g = appendS32(g, opt.Budget)
	g = append(g, opEnd)
	m.vectorSection(secGlobal).appendEntry(g)

	// A name section whose indices cannot be moved would name the wrong functions.
	for _, s := range m.sections {
		if s.malformed != nil {
			s.drop = true
		}
	}
	return m.encode(newRewrite(info.CheckFunc, info.Global)), info, nil
}

// appendName appends a name of the binary format: its length and bytes.
func appendName(dst []byte, name string) []byte {
	dst = appendU32(dst, uint32(len(name)))
	return append(dst, name...)
}

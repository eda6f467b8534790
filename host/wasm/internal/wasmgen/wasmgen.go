// Package wasmgen generates random, valid and terminating WebAssembly binary modules from a byte
// slice, for fuzz tests of code that reads or rewrites modules (see package instrument).
//
// A generated module validates under wazero with api.CoreFeaturesV2 (and under wabt's
// wasm-validate) and, given the imports of EnvModule, instantiates and runs every exported
// function without trapping and in bounded time: loops count down a local that nothing else
// writes, calls only go to functions with a lower index (or to the function itself through a
// depth argument that shrinks), integer divisions and float-to-int truncations are guarded,
// memory and table accesses stay in bounds, and an estimate of the instructions each function
// executes is kept under Config.MaxCost. (Config.Endless turns the loops into endless ones.)
//
// The generator consumes the seed byte by byte and then continues with a pseudo-random stream
// derived from the whole seed, so short seeds give full modules and a fuzzer's mutations of the
// first bytes change the module locally.
//
// Generated modules have:
//   - types with multi-value results and params, duplicates, and sometimes more than 128 types;
//   - imports from "env": functions "impN" of type (i32) -> i32 (sometimes 100 to 140 of them, so
//     defined function indices cross 127/128), globals "gN" of every numeric type, mutable or
//     not, and sometimes the memory and a funcref table;
//   - defined functions (sometimes over 100, mostly small) with params and locals of every value
//     type (i32, i64, f32, f64, v128, funcref, externref) in several local groups;
//   - bodies from a typed stack-machine generator: constants, local.get/set/tee, global.get/set,
//     integer, float, comparison, conversion and sign-extension operators, saturating and guarded
//     trapping truncations, select and typed select, block/if/else/loop with value types and type
//     indices as block types (params and multiple results), loops without a back edge (also
//     empty), br/br_if/br_table out of nested blocks, return, unreachable code after branches,
//     calls, bounded self recursion, call_indirect through a table filled by element segments
//     (with a constant or a selected slot), ref.null/ref.func/ref.is_null, table.get/set/size/
//     grow/fill/copy/init, elem.drop, loads and stores masked into the first page, memory.size/
//     grow, memory.fill/copy/init, data.drop and, unless Config.NoSIMD, SIMD (v128.const, splats,
//     lane extracts and replaces, i8x16.shuffle, arithmetic, comparisons, shifts, conversions,
//     v128 loads, stores, lane loads and stores);
//   - up to two tables, element segments in all eight encodings (active with constant or
//     global.get offsets, passive, declarative), ref.func and global.get global initializers,
//     active and passive data segments, a data count section;
//   - exports of functions with only i32/i64 params and results (the ones a test can call, some
//     under two names, sometimes a re-exported import), numeric and funcref globals, the memory
//     "memory" and tables; sometimes a start function;
//   - sometimes a "name" section (module, function, local and label names, and the other
//     subsections of the extended name section), other custom sections between sections, empty
//     sections, and LEB128 encodings padded to more bytes than needed (as the Go linker writes).
package wasmgen

// Config bounds the generated modules. Zero fields take the values of DefaultConfig.
type Config struct {
	MaxImportFuncs   int   // imported functions "env"."impN"
	MaxImportGlobals int   // imported globals "env"."gN"
	MaxFuncs         int   // defined functions
	MaxParams        int   // params of a function or block type
	MaxResults       int   // results of a function or block type
	MaxLocals        int   // locals besides the generator's own counter and scratch locals
	MaxGlobals       int   // defined globals
	MaxDepth         int   // nesting of expressions and statements
	MaxStmts         int   // statements in one block
	MaxLoopIters     int   // iterations of one loop per entry
	MaxLoopNest      int   // loops nested in one function
	MaxCost          int64 // estimated instructions executed by one call of a function
	NoSIMD           bool  // no v128 values or SIMD instructions
	// Some modules have 100 to 140 imported or defined functions (most of them small), types or
	// globals, so that indices cross 127/128, where their LEB128 encoding grows by a byte;
	// NoManyFuncs turns that off, and the Max limits above hold for every module.
	NoManyFuncs bool
	// Endless makes every counted loop branch back unconditionally, so that a module runs forever
	// once it reaches one (loops without a back edge still run once). For tests of code that must
	// stop such modules; nothing else about the module changes.
	Endless bool
}

// DefaultConfig returns the configuration used by Generate.
func DefaultConfig() Config {
	return Config{
		MaxImportFuncs:   3,
		MaxImportGlobals: 4,
		MaxFuncs:         8,
		MaxParams:        4,
		MaxResults:       3,
		MaxLocals:        6,
		MaxGlobals:       5,
		MaxDepth:         5,
		MaxStmts:         5,
		MaxLoopIters:     20,
		MaxLoopNest:      3,
		MaxCost:          50000,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	set(&c.MaxImportFuncs, d.MaxImportFuncs)
	set(&c.MaxImportGlobals, d.MaxImportGlobals)
	set(&c.MaxFuncs, d.MaxFuncs)
	set(&c.MaxParams, d.MaxParams)
	set(&c.MaxResults, d.MaxResults)
	set(&c.MaxLocals, d.MaxLocals)
	set(&c.MaxGlobals, d.MaxGlobals)
	set(&c.MaxDepth, d.MaxDepth)
	set(&c.MaxStmts, d.MaxStmts)
	set(&c.MaxLoopIters, d.MaxLoopIters)
	set(&c.MaxLoopNest, d.MaxLoopNest)
	if c.MaxCost <= 0 {
		c.MaxCost = d.MaxCost
	}
	return c
}

// Module is a generated module and what a test needs to know about it.
type Module struct {
	Binary          []byte
	ImportedFuncs   int  // functions imported from "env"
	DefinedFuncs    int  // functions defined in the module
	ImportedGlobals int  // globals imported from "env"
	DefinedGlobals  int  // globals defined in the module
	Loops           int  // loop instructions in all function bodies, reachable or not
	Start           bool // the module has a start function
	Names           bool // the module has a "name" section
	Memory          bool // the module defines and exports the memory "memory"
}

// Generate returns a module generated from seed with DefaultConfig.
func Generate(seed []byte) []byte { return GenerateModule(seed, DefaultConfig()).Binary }

// GenerateModule returns a module generated from seed within the bounds of cfg. The same seed and
// configuration always give the same module.
func GenerateModule(seed []byte, cfg Config) *Module {
	g := newGen(seed, cfg.withDefaults())
	return g.module()
}

// Package instrument rewrites WebAssembly modules so that guest code pays for its work from a
// budget and calls back into the host when the budget runs out. The host uses the callback to
// check the job's deadline and to yield to the Go scheduler, which makes timeouts cheap and
// certain: no goroutine watches the call, and no guest can run long without reaching a check,
// whether it loops or recurses.
//
// Instrument makes these changes and copies everything else byte for byte:
//
//   - the type section gains the function type () -> i32 at its end;
//   - the import section gains, after all existing imports, a function import of that type
//     (by default "arqhost_rt" "check"). Its index is the number of functions imported before,
//     so every defined function's index goes up by one, and every reference to one is moved:
//     call, return_call and ref.func in code and constant expressions, element segments,
//     exports, the start function and the custom "name" section (function, local and label
//     names; a name section that does not decode is dropped);
//   - the global section gains a mutable i32 global, the budget, initialised to Options.Budget;
//   - every function body gets a check point at its start (after the locals) and right after
//     every loop's block type.
//
// A check point is this sequence, with $budget the new global and $check the new import:
//
//	global.get $budget ; i32.const cost ; i32.sub ; global.set $budget
//	global.get $budget ; i32.const 0 ; i32.lt_s
//	if  call $check ; global.set $budget  end
//
// Its cost bounds the instructions one pass through its region executes: the region is its
// function body or loop body without the loops nested in it, and a pass runs from the check
// point until control leaves the region (a branch back to the region's loop, a branch or
// fall-through out of the loop, return, a tail call, a trap). A nested loop counts as one
// instruction that continues after its end or at the target of a branch out of it, since its
// own check points pay for its body; a call counts as one, since the callee pays for itself.
// The cost is the longest path through the region's structured control flow, every instruction
// (block, if, else, end and branches included) counting 1: if and else arms and the cases of a
// br_table dispatch are alternatives, so only the longest is charged; a branch skips the rest of
// its block, and code that no path reaches (after br, br_table, return or unreachable) costs
// nothing. It is at least 1, and one linear pass over the code computes it. So the work a guest
// does after a check point is bounded by the cost charged there, and a guest runs at most
// Options.Budget instructions before a check point finds the budget below zero (about that many
// where its code has few branches).
// The check function returns the new budget; to stop the guest it does not return (a host
// function panics or returns an error through wazero).
//
// The inserted code is stack-neutral and its if ... end is self-contained, so branch depths and
// block types stay valid. The decoder reads every instruction with its immediates (WebAssembly
// 2.0, plus tail calls, threads, multi-memory and memory64 encodings) and rejects, with the
// section, offset and opcode, what it does not know: exception handling, typed function
// references, GC and relaxed SIMD, which wazero does not run either. It never panics on any input.
package instrument

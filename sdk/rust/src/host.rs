//! The module's side of ABI.md sections 2 and 4: the memory handed to the host, the bodies of the
//! exports that `tasks!` defines, and the `arqhost.log` import. It only converts between
//! addresses and slices; the logic is in dispatch.rs. Outside WebAssembly the import is replaced
//! by an in-memory record of the log calls (see [`crate::testing`]).

use std::cell::RefCell;

use crate::context::Level;
use crate::dispatch::{write_error_output, TaskSet};
use crate::error::{Error, ErrorKind};

/// The memory the exports hand to the host. The host writes a job's input into `input`
/// (returned by `arqhost_alloc`) and reads the output from `output` and the manifest from
/// `manifest` after the export returns; held here, they stay alive until then, and later jobs
/// reuse their memory.
struct Buffers {
    input: Vec<u8>,
    output: Vec<u8>,
    manifest: Vec<u8>,
    hook_installed: bool,
}

thread_local! {
    // A module instance is single-threaded: on wasm32 this is a plain static.
    static BUFFERS: RefCell<Buffers> = const {
        RefCell::new(Buffers { input: Vec::new(), output: Vec::new(), manifest: Vec::new(), hook_installed: false })
    };
}

/// The smallest input buffer `alloc` hands out.
const MIN_INPUT_BUF: usize = 4 << 10;
/// A buffer larger than this is dropped instead of reused when a job needs much less, so that one
/// huge job does not pin its memory for the instance's life.
const SHRINK_ABOVE: usize = 1 << 20;

fn addr(p: *const u8) -> u32 {
    p as usize as u32
}

/// A packed slice: `(ptr << 32) | len`.
fn pack(b: &[u8]) -> i64 {
    ((u64::from(addr(b.as_ptr())) << 32) | b.len() as u32 as u64) as i64
}

/// The body of `arqhost_alloc`: a buffer of at least `size` bytes for the next job's input,
/// valid until the next `arqhost_run` returns. The previous buffer is reused when it is large
/// enough (and not much too large).
pub fn export_alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    let size = size as usize;
    BUFFERS.with(|b| {
        let b = &mut *b.borrow_mut();
        let c = b.input.len();
        if c < size || (c > SHRINK_ABOVE && size < c / 4) {
            b.input = Vec::new(); // let the old buffer go before allocating the new one
            b.input = vec![0; size.max(MIN_INPUT_BUF)];
        }
        addr(b.input.as_ptr()) as i32
    })
}

/// The body of `arqhost_manifest`: the manifest, kept until the next call.
pub fn export_manifest(tasks: &TaskSet) -> i64 {
    BUFFERS.with(|b| {
        let b = &mut *b.borrow_mut();
        install_panic_hook(b);
        b.manifest = tasks.manifest_json().into_bytes();
        pack(&b.manifest)
    })
}

/// The body of `arqhost_run`: runs the job whose input is at `ptr`, `len` (inside the buffer
/// `export_alloc` returned) and returns the output, which stays valid until the next call.
pub fn export_run(tasks: &TaskSet, ptr: i32, len: i32) -> i64 {
    BUFFERS.with(|b| {
        let b = &mut *b.borrow_mut();
        install_panic_hook(b);
        if b.output.capacity() > SHRINK_ABOVE {
            b.output = Vec::new();
        }
        b.output.clear();
        let base = addr(b.input.as_ptr()) as u64;
        let (ptr, len) = (ptr as u32 as u64, len as u32 as u64);
        if len == 0 {
            tasks.run_into(&[], &mut b.output);
        } else if b.input.is_empty() || ptr < base || ptr - base + len > b.input.len() as u64 {
            let e = Error::new("ABIError", "the job input is not inside the buffer returned by arqhost_alloc");
            debug_assert_eq!(e.kind(), ErrorKind::Error);
            write_error_output(&mut b.output, &e);
        } else {
            let off = (ptr - base) as usize;
            tasks.run_into(&b.input[off..off + len as usize], &mut b.output);
        }
        pack(&b.output)
    })
}

/// On wasm32 a panic aborts (the targets have no unwinding): the instance traps and the host
/// discards it. Before that, this hook writes the panic to the worker's log, then runs the
/// previous hook (which, on wasm32-wasi, prints it to stderr: the host attaches stderr to the
/// trap's outcome).
fn install_panic_hook(b: &mut Buffers) {
    if b.hook_installed || !cfg!(target_arch = "wasm32") {
        return;
    }
    b.hook_installed = true;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = crate::dispatch::panic_message(info.payload());
        let mut r = crate::context::log(Level::Error, "task panicked").attr("panic", msg);
        if let Some(l) = info.location() {
            r = r.attr("location", &format!("{}:{}:{}", l.file(), l.line(), l.column()));
        }
        r.emit();
        prev(info);
    }));
}

#[cfg(target_arch = "wasm32")]
mod import {
    #[link(wasm_import_module = "arqhost")]
    extern "C" {
        #[link_name = "log"]
        pub fn arqhost_log(level: i32, msg_ptr: *const u8, msg_len: i32, attrs_ptr: *const u8, attrs_len: i32);
    }
}

/// Calls the `log` host function (ABI.md section 4.1).
#[cfg(target_arch = "wasm32")]
pub(crate) fn log(level: Level, msg: &str, attrs: &[u8]) {
    // SAFETY: the host only reads the two ranges, during the call.
    unsafe { import::arqhost_log(level as i32, msg.as_ptr(), msg.len() as i32, attrs.as_ptr(), attrs.len() as i32) }
}

/// Outside WebAssembly: keeps the record for [`crate::testing::take_logs`].
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn log(level: Level, msg: &str, attrs: &[u8]) {
    crate::testing::record(level, msg, attrs);
}

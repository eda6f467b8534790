//! The Rust SDK for writing arqhost tasks: functions that an arqhost worker runs as jobs,
//! compiled to a WebAssembly module.
//!
//! A task is an ordinary Rust function with typed arguments and a result that serde can
//! serialize. The SDK implements the whole host/guest contract (`abi/ABI.md` in the arqhost
//! repository, version 1): the [`tasks!`] macro exports the functions the host calls, and each
//! job's JSON arguments are decoded into the function's parameter types, the function called and
//! its result or error encoded. Task code never sees pointers, buffers or JSON.
//!
//! # A task module
//!
//! A module is a `cdylib` crate:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! arqhost = { path = "../../sdk/rust" }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! whose tasks are listed once with [`tasks!`]:
//!
//! ```
//! use std::time::Duration;
//! use arqhost::{Context, Error, Level};
//! use serde::Serialize;
//!
//! #[derive(Serialize)]
//! pub struct Sent {
//!     to: String,
//!     subject: String,
//! }
//!
//! fn send_email(ctx: &Context, to: String, subject: String, body: String) -> arqhost::Result<Sent> {
//!     ctx.log(Level::Info, "sending email").attr("to", &to).attr("try", &ctx.job_try).emit();
//!     if to.contains("fail") && ctx.job_try <= 2 {
//!         return Err(Error::retry(Duration::from_secs(5)));
//!     }
//!     Ok(Sent { to, subject })
//! }
//!
//! fn noop(_ctx: &Context) -> arqhost::Result<()> {
//!     Ok(())
//! }
//!
//! fn greet(_ctx: &Context, name: String, greeting: Option<String>) -> arqhost::Result<String> {
//!     Ok(format!("{}, {}!", greeting.as_deref().unwrap_or("Hello"), name))
//! }
//!
//! arqhost::tasks! {
//!     send_email(to, subject, body),
//!     noop(),
//!     "hello" => greet(name, greeting),
//! }
//!
//! # fn main() {
//! // Natively (cargo test), TASKS runs jobs as the worker would:
//! let out = TASKS.invoke(br#"{"function":"hello","args":["Ann"],"kwargs":{"greeting":"Hi"}}"#);
//! assert_eq!(out, br#"{"result":"Hi, Ann!"}"#);
//! let out = TASKS.invoke(br#"{"function":"send_email","args":["ann@example.com","hi","..."],"kwargs":{"cc":"bob"}}"#);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     r#"{"error":{"kind":"permanent","type":"TypeError","message":"send_email() got an unexpected keyword argument \"cc\""}}"#
//! );
//! # }
//! ```
//!
//! Each entry is `function(param, …)` (the task is named after the function) or
//! `"task_name" => function(param, …)`; the parameter names are those of the function's
//! parameters after the context, in order, and are what keyword arguments are matched against.
//! The macro checks at compile time that each function takes that many parameters and that the
//! task names are valid and distinct.
//!
//! Build the module as a WebAssembly reactor with Debian's toolchain (see the README):
//!
//! ```sh
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi
//! ```
//!
//! A job `{"function": "send_email", "args": ["ann@example.com"], "kwargs": {"subject": "hi",
//! "body": "..."}}` then calls `send_email(ctx, "ann@example.com", "hi", "...")`.
//!
//! # Arguments
//!
//! A task function has the shape `fn(&Context, P1, …, Pn) -> Result<R, E>` (n ≤ 16), where every
//! `Pi` implements [`serde::de::DeserializeOwned`], `R` implements [`serde::Serialize`] (`()` is
//! reported as `null`) and `E` converts into [`Error`]. Positional arguments fill the parameters
//! from the left; keyword arguments fill them by name. Trailing `Option<T>` parameters are
//! optional: `None` when the job does not pass them. All other parameters are required. As in
//! the Go SDK, an argument passed as JSON `null` is the parameter's zero value: `""`, `0`,
//! `false`, an empty `Vec` or map, `None`, `serde_json::Value::Null` (a struct gets no fields, so
//! it decodes only if serde can default them all; an enum or a `char` fails). Only the argument
//! itself is treated so: a `null` nested inside it is decoded by serde as usual.
//!
//! Arguments that do not fit fail the job before the function is called, with an error of kind
//! `"permanent"` and type `"TypeError"` whose message is the Go SDK's:
//!
//! ```text
//! send_email() takes 3 arguments but 4 were given
//! send_email() missing required argument "body" (position 3)
//! send_email() got an unexpected keyword argument "cc"
//! send_email() got multiple values for argument "to" (position 1)
//! send_email() argument "to" (position 1): invalid type: integer `5`, expected a string
//! noop() takes no keyword arguments, got "x"
//! ```
//!
//! # Results and errors
//!
//! A task's result is encoded with serde_json; if that fails (a map with non-string keys, a
//! `Serialize` impl that errors), the job fails with kind `"permanent"` and type `"ResultError"`.
//! (serde_json writes non-finite floats as `null` rather than failing.) A task's [`Error`] fails
//! the job with a kind, a type name and a message: [`Error::retry`], [`Error::permanent`],
//! [`Error::new`], or any [`std::error::Error`] through `?`.
//!
//! Jobs the module cannot run fail permanently too: an input that is not the JSON the ABI
//! describes with type `"InputError"`, a task name the module does not serve with type
//! `"UnknownTask"`.
//!
//! # Panics
//!
//! The wasm32 targets abort on panic (they have no unwinding), so a task that panics ends its job
//! as a *trap*, and the host replaces the instance. Before aborting, the SDK logs the panic
//! message and location to the worker's log (`task panicked`), and on wasm32-wasi the standard
//! panic message goes to stderr, which the host attaches to the trap's outcome. Natively, where
//! panics unwind (for example under `cargo test`), a panicking task fails its job with kind
//! `"error"` and type `"Panic"`, as in the Go SDK.
//!
//! # Context and logging
//!
//! Every task gets a [`Context`] holding the job's id, task name, attempt number
//! ([`Context::job_try`]), enqueue time, queue and worker. Its `debug`, `info`, `warn` and `error`
//! methods write a message to the worker's structured log; [`Context::log`] starts a
//! [`Record`] to which key/value attributes are added; [`log()`] does the same from anywhere.
//!
//! # Testing tasks natively
//!
//! The crate also builds for the machine running `cargo test`, where the host's log function is
//! replaced by an in-memory record ([`testing::take_logs`]). `TASKS.invoke(input)` runs a job from
//! its JSON input exactly as the module does inside the worker; a task function can of course
//! also be called directly with a `Context` literal.
//!
//! # Memory
//!
//! The SDK reuses one input buffer for all jobs while it is large enough, and keeps each output
//! only until the next call. A module instance runs many jobs in turn, so statics keep their
//! values from one job to the next.
//!
//! # Targets
//!
//! `wasm32-wasi` and `wasm32-unknown-unknown`. The ABI needs only the `arqhost.log` import and
//! the exports; on `wasm32-unknown-unknown` there is no WASI, so the standard library has no
//! clock (`SystemTime::now` panics) and no stderr.

#![warn(missing_docs)]

mod context;
mod dispatch;
mod error;
mod gofmt;
mod host;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use context::{log, Context, Level, Record};
pub use dispatch::{TaskFn, TaskSet, SDK_NAME};
pub use error::{Error, ErrorKind, IntoTaskResult, Result};

pub use serde;
pub use serde_json;
pub use serde_json::json;

/// The ABI version this SDK speaks (`arqhost_abi_version`).
pub const ABI_VERSION: i32 = 1;

/// Used by the code [`tasks!`] generates; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::dispatch::{check_tasks, run_task, Call, Task};
    pub use crate::host::{export_alloc, export_manifest, export_run};
}

/// Declares a module's tasks: defines the static `TASKS` (a [`TaskSet`]) and, on wasm32, the four
/// exports of the ABI (`arqhost_abi_version`, `arqhost_alloc`, `arqhost_manifest`,
/// `arqhost_run`) plus `_initialize`, which makes the module a reactor. Use it once per module,
/// at the crate root.
///
/// ```
/// # use arqhost::Context;
/// # fn send_email(_: &Context, to: String, subject: String, body: String) -> arqhost::Result<()> { Ok(()) }
/// # fn echo(_: &Context, value: serde_json::Value) -> arqhost::Result<serde_json::Value> { Ok(value) }
/// # fn noop(_: &Context) -> arqhost::Result<()> { Ok(()) }
/// arqhost::tasks! {
///     send_email(to, subject, body),        // the task "send_email"
///     "rust_echo" => echo(value),           // the task "rust_echo", running echo
///     noop(),
/// }
/// # fn main() { assert_eq!(TASKS.names().collect::<Vec<_>>(), ["send_email", "rust_echo", "noop"]); }
/// ```
///
/// Each entry names a function in scope and its parameters after the [`Context`]; the list of
/// names must match the function's parameter count (a mismatch does not compile).
#[macro_export]
macro_rules! tasks {
    ($($entries:tt)*) => {
        $crate::__tasks_munch! { [] $($entries)* }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tasks_munch {
    ([$($acc:tt)*] $name:literal => $f:ident ( $($p:ident),* $(,)? ) $(, $($rest:tt)*)?) => {
        $crate::__tasks_munch! { [$($acc)* ($name, $f, [$($p)*])] $($($rest)*)? }
    };
    ([$($acc:tt)*] $f:ident ( $($p:ident),* $(,)? ) $(, $($rest:tt)*)?) => {
        $crate::__tasks_munch! { [$($acc)* (::core::stringify!($f), $f, [$($p)*])] $($($rest)*)? }
    };
    ([$(($name:expr, $f:ident, [$($p:ident)*]))*]) => {
        /// The tasks of this module, made by `arqhost::tasks!`.
        pub static TASKS: $crate::TaskSet = $crate::TaskSet {
            tasks: &[$(
                $crate::__private::Task {
                    name: $name,
                    run: |ctx, call, out| {
                        $crate::__private::run_task($f, $name, [$(::core::stringify!($p)),*], ctx, call, out)
                    },
                },
            )*],
        };

        const _: () = $crate::__private::check_tasks(&[$(($name, &[$(::core::stringify!($p)),*])),*]);

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            extern "C" {
                fn __wasm_call_ctors();
            }

            // Makes the module a reactor, as crt1-reactor.o does for C: the host calls it once,
            // after instantiation. Because it calls __wasm_call_ctors itself, the linker leaves the
            // other exports alone instead of wrapping each in a run of the constructors and
            // destructors (what it does for a "command" module, rustc's default).
            #[no_mangle]
            pub extern "C" fn _initialize() {
                unsafe { __wasm_call_ctors() }
            }

            #[no_mangle]
            pub extern "C" fn arqhost_abi_version() -> i32 {
                $crate::ABI_VERSION
            }

            #[no_mangle]
            pub extern "C" fn arqhost_alloc(size: i32) -> i32 {
                $crate::__private::export_alloc(size)
            }

            #[no_mangle]
            pub extern "C" fn arqhost_manifest() -> i64 {
                $crate::__private::export_manifest(&TASKS)
            }

            #[no_mangle]
            pub extern "C" fn arqhost_run(ptr: i32, len: i32) -> i64 {
                $crate::__private::export_run(&TASKS, ptr, len)
            }
        };
    };
}

//! The job's context and logging through the host's `arqhost.log` function (ABI.md section 4.1).

use std::fmt;

use serde::Serialize;

use crate::error::write_json_string;
use crate::host;

/// Describes the job a task is running and lets it write to the worker's log. The SDK passes
/// one to every task call; its fields come from the job's input (ABI.md section 3).
///
/// The log methods do not depend on the fields (the host knows which job is running), so a
/// `Context` made by a unit test (`Context { job_try: 3, ..Default::default() }`) logs as well as
/// the one the SDK passes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The job's id.
    pub job_id: String,
    /// The name of the task being run.
    pub function: String,
    /// The attempt number, 1 for the first run (arq's `job_try`).
    pub job_try: i64,
    /// When the job was enqueued: RFC 3339 with nanoseconds and offset, as the host sent it
    /// (e.g. `2026-01-15T10:30:00.123456Z`).
    pub enqueue_time: String,
    /// The queue the job came from.
    pub queue: String,
    /// The worker running the job.
    pub worker_id: String,
}

impl Context {
    /// Writes a debug record without attributes to the worker's log.
    pub fn debug(&self, msg: &str) {
        host::log(Level::Debug, msg, &[]);
    }

    /// Writes an info record without attributes to the worker's log.
    pub fn info(&self, msg: &str) {
        host::log(Level::Info, msg, &[]);
    }

    /// Writes a warning record without attributes to the worker's log.
    pub fn warn(&self, msg: &str) {
        host::log(Level::Warn, msg, &[]);
    }

    /// Writes an error record without attributes to the worker's log.
    pub fn error(&self, msg: &str) {
        host::log(Level::Error, msg, &[]);
    }

    /// Starts a log record with attributes; see [`Record`]:
    ///
    /// ```
    /// # let ctx = arqhost::Context::default();
    /// # let to = "ann@example.com";
    /// use arqhost::Level;
    /// ctx.log(Level::Info, "sending email").attr("to", to).attr("try", &ctx.job_try).emit();
    /// ```
    pub fn log<'m>(&self, level: Level, msg: &'m str) -> Record<'m> {
        log(level, msg)
    }
}

/// Starts a log record from anywhere, also outside a job (the host then tags it with the module
/// only). Add attributes with [`Record::attr`] and write it with [`Record::emit`].
pub fn log(level: Level, msg: &str) -> Record<'_> {
    Record { level, msg, attrs: Vec::new() }
}

/// The severity of a log record, numbered as the `log` host function takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    /// 0
    Debug = 0,
    /// 1
    Info = 1,
    /// 2
    Warn = 2,
    /// 3
    Error = 3,
}

impl fmt::Display for Level {
    /// `DEBUG`, `INFO`, `WARN` or `ERROR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// A log record being built: a level, a message and key/value attributes, sent to the host by
/// [`Record::emit`]. The attributes become a JSON object that the host logs in a group named
/// `attrs`.
///
/// ```
/// # let ctx = arqhost::Context::default();
/// use arqhost::Level;
/// let body = "hello";
/// ctx.log(Level::Info, "sending email")
///     .attr("to", "ann@example.com")
///     .attr("bytes", &body.len())
///     .attr("tags", &["a", "b"])
///     .emit();
/// ```
#[must_use = "a record is written only by .emit()"]
pub struct Record<'m> {
    level: Level,
    msg: &'m str,
    attrs: Vec<u8>,
}

impl<'m> Record<'m> {
    /// Adds an attribute whose value is anything serde can serialize. A value that fails to
    /// serialize is logged as the string `!ERROR: <why>`.
    pub fn attr<V: Serialize + ?Sized>(mut self, key: &str, value: &V) -> Self {
        self.attrs.push(if self.attrs.is_empty() { b'{' } else { b',' });
        write_json_string(&mut self.attrs, key);
        self.attrs.push(b':');
        let n = self.attrs.len();
        if let Err(e) = value.serialize(&mut serde_json::Serializer::new(&mut self.attrs)) {
            self.attrs.truncate(n);
            write_json_string(&mut self.attrs, &format!("!ERROR: {}", e));
        }
        self
    }

    /// Writes the record to the worker's log. The host cuts messages at 8 KiB and attributes at
    /// 16 KiB.
    pub fn emit(mut self) {
        if !self.attrs.is_empty() {
            self.attrs.push(b'}');
        }
        host::log(self.level, self.msg, &self.attrs);
    }
}

//! Help for testing tasks natively, with `cargo test` (not built for WebAssembly).
//!
//! Outside WebAssembly there is no host: the log calls of tasks are kept in memory, per thread,
//! and [`take_logs`] returns them. Run jobs with [`TaskSet::invoke`](crate::TaskSet::invoke).

use std::cell::RefCell;

use crate::context::Level;

/// A log record as the host would receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The record's level.
    pub level: Level,
    /// The message.
    pub msg: String,
    /// The attributes: a JSON object, or `""` when the record has none.
    pub attrs: String,
}

/// The most records kept per thread; older ones are dropped.
const MAX_LOGS: usize = 1024;

thread_local! {
    static LOGS: RefCell<Vec<LogRecord>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn record(level: Level, msg: &str, attrs: &[u8]) {
    LOGS.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() >= MAX_LOGS {
            l.drain(..MAX_LOGS / 2);
        }
        l.push(LogRecord { level, msg: msg.to_owned(), attrs: String::from_utf8_lossy(attrs).into_owned() });
    });
}

/// Returns the records logged on this thread since the last call, and forgets them.
pub fn take_logs() -> Vec<LogRecord> {
    LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

//! The error a task fails with, and how it becomes the `error` member of a job's output.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::gofmt;

/// How the worker treats a failed job (the `kind` member of ABI.md section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An ordinary failure (`"error"`), handled by the worker's retry policy.
    Error,
    /// A request to run the job again after a delay (`"retry"`), subject to its retry limit.
    Retry,
    /// A failure no retry can fix (`"permanent"`): the job is not run again.
    Permanent,
}

impl ErrorKind {
    /// The kind as the ABI spells it: `"error"`, `"retry"` or `"permanent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Error => "error",
            ErrorKind::Retry => "retry",
            ErrorKind::Permanent => "permanent",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a task returns: a kind, a type name and a message, reported to the worker as the
/// job's outcome (ABI.md section 5).
///
/// * [`Error::new`] makes an ordinary failure (kind `"error"`), left to the worker's retry policy.
/// * [`Error::permanent`] fails the job for good (kind `"permanent"`).
/// * [`Error::retry`] asks for the job to run again after a delay (kind `"retry"`, type `"Retry"`),
///   like raising arq's `Retry(defer=...)` in Python; [`Error::retry_after`] does the same while
///   keeping another error's type and message.
///
/// Any [`std::error::Error`] converts into an `Error` of kind `"error"`, so `?` works on the
/// errors of other libraries: the type name is the Rust type's name without its path or generic
/// arguments (`ParseIntError` for [`std::num::ParseIntError`]) and the message its `Display`
/// text. (Like `anyhow::Error`, this type does not implement `std::error::Error` itself; that is
/// what makes the blanket conversion possible.)
///
/// ```
/// use std::time::Duration;
/// use arqhost::{Error, ErrorKind};
///
/// let e = Error::permanent("ValueError", "data must not be empty");
/// assert_eq!((e.kind(), e.type_name(), e.message()), (ErrorKind::Permanent, "ValueError", "data must not be empty"));
///
/// let e = Error::retry(Duration::from_secs(5));
/// assert_eq!((e.kind(), e.type_name(), e.message()), (ErrorKind::Retry, "Retry", "retry after 5s"));
///
/// let e: Error = "x".parse::<i32>().unwrap_err().into();
/// assert_eq!((e.kind(), e.type_name()), (ErrorKind::Error, "ParseIntError"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    type_name: Cow<'static, str>,
    message: Cow<'static, str>,
    retry_after: Duration,
}

/// A task's result: `Ok` with a value that serde can serialize, or an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An ordinary failure (kind `"error"`) of type `type_name` (`"Error"` if empty), which the
    /// worker's retry policy handles.
    pub fn new(type_name: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Error {
        Error { kind: ErrorKind::Error, type_name: type_name.into(), message: message.into(), retry_after: Duration::ZERO }
    }

    /// An ordinary failure of type `"Error"`, like Go's `errors.New`.
    pub fn msg(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new("Error", message)
    }

    /// A failure that no retry can fix (kind `"permanent"`): the job is not run again, whatever
    /// the worker's retry policy.
    pub fn permanent(type_name: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(type_name, message).into_permanent()
    }

    /// Asks the worker to run the job again after `after` (subject to the job's retry limit):
    /// kind `"retry"`, type `"Retry"`, message `retry after 5s` (Go's duration format) and
    /// `retry_after_ms` the delay rounded up to a millisecond. A zero delay leaves the delay to
    /// the worker's backoff (the message is then `retry requested`).
    pub fn retry(after: Duration) -> Error {
        let message = if after.is_zero() {
            Cow::Borrowed("retry requested")
        } else {
            Cow::Owned(format!("retry after {}", gofmt::duration(after)))
        };
        Error { kind: ErrorKind::Retry, type_name: Cow::Borrowed("Retry"), message, retry_after: after }
    }

    /// This error turned into a retry request after `after`, keeping its type name and message
    /// (the Go SDK's `RetryErr`): the job runs again, and the error recorded for this attempt is
    /// this one.
    pub fn retry_after(mut self, after: Duration) -> Error {
        self.kind = ErrorKind::Retry;
        self.retry_after = after;
        self
    }

    /// This error with kind `"permanent"` (the Go SDK's `Permanent`).
    pub fn into_permanent(mut self) -> Error {
        self.kind = ErrorKind::Permanent;
        self.retry_after = Duration::ZERO;
        self
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The reported type name: `"Error"` when the error was made with an empty one.
    pub fn type_name(&self) -> &str {
        if self.type_name.is_empty() {
            "Error"
        } else {
            &self.type_name
        }
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The delay of a retry request (kind `"retry"`); `None` for other kinds and for a retry that
    /// leaves the delay to the worker.
    pub fn retry_delay(&self) -> Option<Duration> {
        if self.kind == ErrorKind::Retry && !self.retry_after.is_zero() {
            Some(self.retry_after)
        } else {
            None
        }
    }

    /// The error as the ABI's error object:
    /// `{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}`.
    pub fn to_json(&self) -> String {
        let mut b = Vec::with_capacity(64 + self.message.len());
        self.write_json(&mut b);
        String::from_utf8(b).expect("JSON is UTF-8")
    }

    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"kind\":\"");
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.extend_from_slice(b"\",\"type\":");
        write_json_string(out, self.type_name());
        out.extend_from_slice(b",\"message\":");
        write_json_string(out, &self.message);
        if let Some(d) = self.retry_delay() {
            out.extend_from_slice(b",\"retry_after_ms\":");
            out.extend_from_slice(gofmt::ceil_millis(d).to_string().as_bytes());
        }
        out.push(b'}');
    }

    /// A permanent error made by the SDK itself (TypeError, InputError, ...).
    pub(crate) fn sdk(type_name: &'static str, message: String) -> Error {
        Error::permanent(type_name, message)
    }
}

/// Writes `s` as a JSON string.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Serializing a str into a Vec cannot fail.
    let _ = s.serialize(&mut serde_json::Serializer::new(out));
}

impl fmt::Display for Error {
    /// The message, as the Go SDK's errors print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("type", &self.type_name()).field("message", &self.message);
        if let Some(after) = self.retry_delay() {
            d.field("retry_after", &after);
        }
        d.finish()
    }
}

impl<E: std::error::Error> From<E> for Error {
    /// An ordinary failure (kind `"error"`) named after `E`'s type, with `E`'s `Display` text.
    fn from(e: E) -> Error {
        Error::new(short_type_name(std::any::type_name::<E>()), e.to_string())
    }
}

/// The last path segment of a type name, without generic arguments:
/// `core::num::error::ParseIntError` -> `ParseIntError`, `a::List<b::C>` -> `List`.
fn short_type_name(full: &'static str) -> &'static str {
    let base = match full.find('<') {
        Some(i) => &full[..i],
        None => full,
    };
    let name = match base.rfind("::") {
        Some(i) => &base[i + 2..],
        None => base,
    };
    let name = name.trim_start_matches(|c| c == '&' || c == '*' || c == ' ');
    if name.is_empty() {
        "Error"
    } else {
        name
    }
}

/// What a task function may return: `Result<T, E>` where `T` serializes with serde (`()` for a
/// task without a result, reported as `null`) and `E` converts into an [`Error`].
pub trait IntoTaskResult {
    /// The result value.
    type Value: Serialize;
    /// Converts into the result or the error the job ends with.
    fn into_task_result(self) -> Result<Self::Value, Error>;
}

impl<T: Serialize, E: Into<Error>> IntoTaskResult for std::result::Result<T, E> {
    type Value = T;
    fn into_task_result(self) -> Result<T, Error> {
        self.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_json() {
        let e = Error::retry(Duration::from_secs(5));
        assert_eq!(e.to_json(), r#"{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}"#);
        let e = Error::retry(Duration::ZERO);
        assert_eq!(e.to_json(), r#"{"kind":"retry","type":"Retry","message":"retry requested"}"#);
        let e = Error::retry(Duration::from_micros(1500));
        assert_eq!(e.to_json(), r#"{"kind":"retry","type":"Retry","message":"retry after 1.5ms","retry_after_ms":2}"#);
        let e = Error::new("SMTPBusy", "server busy").retry_after(Duration::from_millis(250));
        assert_eq!(e.to_json(), r#"{"kind":"retry","type":"SMTPBusy","message":"server busy","retry_after_ms":250}"#);
        let e = Error::permanent("ValueError", "bad \"x\"\n");
        assert_eq!(e.to_json(), r#"{"kind":"permanent","type":"ValueError","message":"bad \"x\"\n"}"#);
        let e = Error::new("", "m");
        assert_eq!(e.to_json(), r#"{"kind":"error","type":"Error","message":"m"}"#);
        let e = Error::retry(Duration::from_secs(1)).into_permanent();
        assert_eq!(e.to_json(), r#"{"kind":"permanent","type":"Retry","message":"retry after 1s"}"#);
        assert_eq!(Error::msg("oops").to_json(), r#"{"kind":"error","type":"Error","message":"oops"}"#);
    }

    #[test]
    fn from_std_errors() {
        fn parse(s: &str) -> Result<i32> {
            Ok(s.parse::<i32>()?)
        }
        let e = parse("x").unwrap_err();
        assert_eq!((e.kind(), e.type_name(), e.message()), (ErrorKind::Error, "ParseIntError", "invalid digit found in string"));
        let e: Error = std::io::Error::new(std::io::ErrorKind::Other, "disk").into();
        assert_eq!((e.type_name(), e.message()), ("Error", "disk"));
        let e: Error = serde_json::from_str::<i32>("x").unwrap_err().into();
        assert_eq!(e.type_name(), "Error");
    }

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("core::num::error::ParseIntError"), "ParseIntError");
        assert_eq!(short_type_name("a::List<b::C>"), "List");
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(short_type_name("&a::B"), "B");
    }
}

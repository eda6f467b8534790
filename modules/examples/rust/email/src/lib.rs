//! rust_email: an example arqhost task module, the Rust version of modules/examples/go/email (the
//! send_email task of the arq examples, plus two small tasks used by tests and benchmarks). Its
//! tasks have a `rust_` prefix so that a worker can load it beside the Go module.
//!
//! Build it (see ../README.md) with
//!
//! ```sh
//! cd modules/examples/rust && RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi
//! # -> target/wasm32-wasi/release/rust_email.wasm
//! ```

use std::time::Duration;

use arqhost::{Context, Error, Level};
use serde::Serialize;
use serde_json::Value;

#[path = "../../common/rfc3339.rs"]
mod rfc3339;

/// The result of rust_send_email.
#[derive(Debug, Serialize)]
pub struct Sent {
    to: String,
    subject: String,
    sent_at: String,
}

/// Pretends to send an email. An address containing "fail" fails the first two tries with a
/// retry in 5 seconds, like the Python example:
///
/// ```python
/// async def send_email(ctx, to, subject, body):
///     if "fail" in to and ctx.job_try <= 2: raise Retry(defer=5)
///     return {"to": to, "subject": subject, "sent_at": ...}
/// ```
fn send_email(ctx: &Context, to: String, subject: String, body: String) -> arqhost::Result<Sent> {
    ctx.log(Level::Info, "sending email")
        .attr("to", &to)
        .attr("subject", &subject)
        .attr("bytes", &body.len())
        .attr("try", &ctx.job_try)
        .emit();
    if to.contains("fail") && ctx.job_try <= 2 {
        ctx.log(Level::Warn, "mail server unavailable, retrying").attr("to", &to).emit();
        return Err(Error::retry(Duration::from_secs(5)));
    }
    Ok(Sent { to, subject, sent_at: rfc3339::now_utc() })
}

/// Does nothing; its result is null. It measures the cost of a job round trip.
fn noop(_ctx: &Context) -> arqhost::Result<()> {
    Ok(())
}

/// Returns its argument unchanged (as serde_json reads it: object members sorted by name).
fn echo(_ctx: &Context, value: Value) -> arqhost::Result<Value> {
    Ok(value)
}

arqhost::tasks! {
    "rust_send_email" => send_email(to, subject, body),
    "rust_noop" => noop(),
    "rust_echo" => echo(value),
}

#[cfg(test)]
mod tests {
    use super::TASKS;

    fn run(input: &str) -> String {
        String::from_utf8(TASKS.invoke(input.as_bytes())).unwrap()
    }

    #[test]
    fn send_email() {
        let out = run(r#"{"function":"rust_send_email","job_try":1,"args":["ann@example.com"],"kwargs":{"subject":"hi","body":"..."}}"#);
        assert!(out.starts_with(r#"{"result":{"to":"ann@example.com","subject":"hi","sent_at":""#), "{}", out);
        let logs = arqhost::testing::take_logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].attrs, r#"{"to":"ann@example.com","subject":"hi","bytes":3,"try":1}"#);

        let retry = r#"{"error":{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}}"#;
        for t in [1, 2] {
            let input = format!(r#"{{"function":"rust_send_email","job_try":{},"args":["fail@example.com","s","b"]}}"#, t);
            assert_eq!(run(&input), retry);
        }
        let out = run(r#"{"function":"rust_send_email","job_try":3,"args":["fail@example.com","s","b"]}"#);
        assert!(out.starts_with(r#"{"result":{"to":"fail@example.com""#), "{}", out);

        let out = run(r#"{"function":"rust_send_email","args":["a","b","c","d"]}"#);
        assert_eq!(out, r#"{"error":{"kind":"permanent","type":"TypeError","message":"rust_send_email() takes 3 arguments but 4 were given"}}"#);
    }

    #[test]
    fn noop_and_echo() {
        assert_eq!(run(r#"{"function":"rust_noop","args":[],"kwargs":{}}"#), r#"{"result":null}"#);
        assert_eq!(run(r#"{"function":"rust_echo","args":[{"b":[1,"x",null],"a":true}]}"#), r#"{"result":{"a":true,"b":[1,"x",null]}}"#);
        assert_eq!(run(r#"{"function":"rust_echo","kwargs":{"value":null}}"#), r#"{"result":null}"#);
        assert_eq!(
            run(r#"{"function":"rust_noop","kwargs":{"x":1}}"#),
            r#"{"error":{"kind":"permanent","type":"TypeError","message":"rust_noop() takes no keyword arguments, got \"x\""}}"#
        );
    }
}

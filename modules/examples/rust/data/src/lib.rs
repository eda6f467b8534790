//! rust_data: an example arqhost task module, the Rust version of modules/examples/go/data (the
//! process_data task of the arq examples, and word_count). Its tasks have a `rust_` prefix so that
//! a worker can load it beside the Go module; for the same input they give the Go tasks' output.
//!
//! Build it (see ../README.md) with
//!
//! ```sh
//! cd modules/examples/rust && RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target wasm32-wasi
//! # -> target/wasm32-wasi/release/rust_data.wasm
//! ```

use std::collections::{BTreeMap, HashSet};

use arqhost::{Context, Error, Level};
use serde::Serialize;
use serde_json::Value;

#[path = "../../common/rfc3339.rs"]
mod rfc3339;

/// The result of rust_process_data.
#[derive(Debug, Serialize)]
pub struct Processed {
    processed: bool,
    count: usize,
    keys: Vec<String>,
    processed_at: String,
}

/// Summarizes a JSON object, like the Python example:
///
/// ```python
/// async def process_data(ctx, data: dict):
///     return {"processed": True, "count": len(data), ...}
/// ```
///
/// An empty object (or null, which the SDK passes as an empty map, as Go does) is bad input that
/// no retry can fix: the job fails permanently with a ValueError.
fn process_data(ctx: &Context, data: BTreeMap<String, Value>) -> arqhost::Result<Processed> {
    if data.is_empty() {
        return Err(Error::permanent("ValueError", "data must not be empty"));
    }
    ctx.log(Level::Debug, "processing data").attr("count", &data.len()).emit();
    Ok(Processed {
        processed: true,
        count: data.len(),
        keys: data.into_keys().collect(), // a BTreeMap's keys are sorted
        processed_at: rfc3339::now_utc(),
    })
}

/// The result of rust_word_count.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct WordCount {
    words: usize,
    unique: usize,
    longest: String,
}

/// The characters trimmed from both ends of each word.
const PUNCTUATION: &str = ".,;:!?\"'()";

/// Counts the words of at least `min_len` bytes in `text`, case-insensitively for `unique`. Both
/// arguments are optional (by keyword or position), as the fields of the Go task's argument
/// struct are: a missing or null text is "", a missing or null min_len is 0.
fn word_count(_ctx: &Context, text: Option<String>, min_len: Option<i64>) -> arqhost::Result<WordCount> {
    let min_len = min_len.unwrap_or(0);
    if min_len < 0 {
        return Err(Error::permanent("ValueError", "min_len must not be negative"));
    }
    let mut r = WordCount::default();
    let mut seen = HashSet::new();
    // split_whitespace splits on Unicode White_Space, as Go's strings.Fields does.
    for w in text.as_deref().unwrap_or("").split_whitespace() {
        let w = w.trim_matches(|c| PUNCTUATION.contains(c));
        if w.is_empty() || (w.len() as i64) < min_len {
            continue;
        }
        r.words += 1;
        seen.insert(go_lower(w));
        if w.len() > r.longest.len() {
            r.longest = w.to_string();
        }
    }
    r.unique = seen.len();
    Ok(r)
}

/// Lowercases `s` rune by rune as Go's strings.ToLower does (simple case mapping, no final-sigma
/// rule): char::to_lowercase, except that U+0130 maps to a plain "i".
fn go_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{130}' {
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

arqhost::tasks! {
    "rust_process_data" => process_data(data),
    "rust_word_count" => word_count(text, min_len),
}

#[cfg(test)]
mod tests {
    use super::{go_lower, TASKS};

    fn run(input: &str) -> String {
        String::from_utf8(TASKS.invoke(input.as_bytes())).unwrap()
    }

    #[test]
    fn process_data() {
        let out = run(r#"{"function":"rust_process_data","args":[{"b":1,"a":[2],"c":null}]}"#);
        assert!(out.starts_with(r#"{"result":{"processed":true,"count":3,"keys":["a","b","c"],"processed_at":""#), "{}", out);
        let empty = r#"{"error":{"kind":"permanent","type":"ValueError","message":"data must not be empty"}}"#;
        assert_eq!(run(r#"{"function":"rust_process_data","args":[{}]}"#), empty);
        assert_eq!(run(r#"{"function":"rust_process_data","kwargs":{"data":null}}"#), empty);
        assert_eq!(
            run(r#"{"function":"rust_process_data"}"#),
            r#"{"error":{"kind":"permanent","type":"TypeError","message":"rust_process_data() missing required argument \"data\" (position 1)"}}"#
        );
        assert_eq!(
            run(r#"{"function":"rust_process_data","args":[[1]]}"#),
            r#"{"error":{"kind":"permanent","type":"TypeError","message":"rust_process_data() argument \"data\" (position 1): invalid type: sequence, expected a map"}}"#
        );
    }

    #[test]
    fn word_count() {
        let cases = [
            (r#"{"text":"The quick brown fox. The lazy dog!","min_len":3}"#, r#"{"words":7,"unique":6,"longest":"quick"}"#),
            (r#"{"text":"The quick brown fox. The lazy dog!"}"#, r#"{"words":7,"unique":6,"longest":"quick"}"#),
            (r#"{"text":"a bb ccc \"dddd\" (ee) ... ?!","min_len":2}"#, r#"{"words":4,"unique":4,"longest":"dddd"}"#),
            (r#"{"text":"ΣΑΣ σασ İx ix\u00a0tab\tnl\nend"}"#, r#"{"words":7,"unique":5,"longest":"ΣΑΣ"}"#),
            (r#"{}"#, r#"{"words":0,"unique":0,"longest":""}"#),
            (r#"{"text":null,"min_len":null}"#, r#"{"words":0,"unique":0,"longest":""}"#),
        ];
        for (kwargs, want) in cases {
            let out = run(&format!(r#"{{"function":"rust_word_count","kwargs":{}}}"#, kwargs));
            assert_eq!(out, format!(r#"{{"result":{}}}"#, want), "{}", kwargs);
        }
        assert_eq!(run(r#"{"function":"rust_word_count","args":["Hello hello HELLO",5]}"#), r#"{"result":{"words":3,"unique":1,"longest":"Hello"}}"#);
        assert_eq!(
            run(r#"{"function":"rust_word_count","kwargs":{"text":"x","min_len":-1}}"#),
            r#"{"error":{"kind":"permanent","type":"ValueError","message":"min_len must not be negative"}}"#
        );
        assert_eq!(
            run(r#"{"function":"rust_word_count","args":["a",1,2]}"#),
            r#"{"error":{"kind":"permanent","type":"TypeError","message":"rust_word_count() takes at most 2 arguments but 3 were given"}}"#
        );
    }

    #[test]
    fn lower_like_go() {
        assert_eq!(go_lower("ΣΑΣ"), "σασ");
        assert_eq!(go_lower("İSTANBUL"), "istanbul");
        assert_eq!(go_lower("ABC"), "abc");
    }
}

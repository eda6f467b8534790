//! Formatting helpers that reproduce the Go SDK's messages byte for byte: Go's `%q` quoting
//! (`strconv.Quote`) and `time.Duration.String`.

use std::fmt::Write;
use std::time::Duration;

/// Quotes `s` as Go's `strconv.Quote` does: printable characters as they are, `"` and `\`
/// escaped, `\a \b \f \n \r \t \v` for those controls, `\xHH` for other ASCII controls, `\uHHHH`
/// or `\UHHHHHHHH` for other non-printable characters.
pub(crate) fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    quote_into(&mut q, s);
    q
}

pub(crate) fn quote_into(q: &mut String, s: &str) {
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\u{7}' => q.push_str("\\a"),
            '\u{8}' => q.push_str("\\b"),
            '\u{c}' => q.push_str("\\f"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            '\u{b}' => q.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(q, "\\x{:02x}", c as u32);
            }
            c if is_print(c) => q.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(q, "\\U{:08x}", c as u32);
            }
        }
    }
    q.push('"');
}

/// An approximation of Go's `strconv.IsPrint` (letters, marks, numbers, punctuation, symbols and
/// the ASCII space) without Unicode category tables: everything but control characters,
/// whitespace other than the space, and the common format characters.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{10ffff}')
}

/// Formats `d` as Go's `time.Duration.String` does: `5s`, `1m30s`, `1h0m0s`, `1.5s`, `250ms`,
/// `1.2µs`, `0s`.
pub(crate) fn duration(d: Duration) -> String {
    let u = d.as_nanos();
    if u == 0 {
        return "0s".to_string();
    }
    let mut s = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        push_frac(&mut s, u, prec);
        s.push_str(unit);
        return s;
    }
    let secs = u / 1_000_000_000;
    let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        let _ = write!(s, "{}h{}m", h, m);
    } else if m > 0 {
        let _ = write!(s, "{}m", m);
    }
    push_frac(&mut s, sec * 1_000_000_000 + u % 1_000_000_000, 9);
    s.push('s');
    s
}

/// Writes v / 10^prec with its fraction's trailing zeros (and a bare point) left out.
fn push_frac(s: &mut String, v: u128, prec: u32) {
    let p = 10u128.pow(prec);
    let _ = write!(s, "{}", v / p);
    let mut frac = v % p;
    if frac == 0 {
        return;
    }
    let mut digits = prec as usize;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    let _ = write!(s, ".{:0width$}", frac, width = digits);
}

/// The duration in milliseconds, rounded up, as the Go SDK reports `retry_after_ms`.
pub(crate) fn ceil_millis(d: Duration) -> u64 {
    let ns = d.as_nanos();
    let ms = ns / 1_000_000 + u128::from(ns % 1_000_000 != 0);
    ms.min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(1_100), "1.1µs"),
            (Duration::from_micros(2_200), "2.2ms"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(5), "5s"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3600 + 61), "1h1m1s"),
            (Duration::new(4000, 5), "1h6m40.000000005s"),
        ];
        for (d, want) in cases {
            assert_eq!(duration(*d), *want, "{:?}", d);
        }
    }

    #[test]
    fn ceil_millis_rounds_up() {
        assert_eq!(ceil_millis(Duration::ZERO), 0);
        assert_eq!(ceil_millis(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_millis(Duration::from_millis(5000)), 5000);
        assert_eq!(ceil_millis(Duration::from_micros(5000_001)), 5001);
    }

    #[test]
    fn quote_like_go() {
        assert_eq!(quote("cc"), r#""cc""#);
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\n\t\u{1}\u{7f}"), r#""\n\t\x01\x7f""#);
        assert_eq!(quote("héllo 世界"), "\"héllo 世界\"");
        assert_eq!(quote("\u{a0}\u{200b}"), r#""\u00a0\u200b""#);
        assert_eq!(quote("\u{f0000}"), r#""\U000f0000""#);
    }
}

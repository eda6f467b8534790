//! Running one job: decoding the input (ABI.md section 3), matching its arguments to the task's
//! parameters, calling the task and encoding its outcome (ABI.md section 5). Everything here is
//! plain Rust, tested natively; host.rs only moves bytes in and out of linear memory.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::context::{Context, Level};
use crate::error::{Error, IntoTaskResult};
use crate::gofmt::quote;

/// The manifest's `sdk` member.
pub const SDK_NAME: &str = "arqhost-rust/1";

/// The tasks of a module, made by [`tasks!`](crate::tasks) as the static `TASKS`.
///
/// Outside WebAssembly, [`TaskSet::invoke`] runs a job from its JSON input exactly as the module
/// does inside the worker, so tasks can be unit-tested with `cargo test`.
pub struct TaskSet {
    #[doc(hidden)]
    pub tasks: &'static [Task],
}

/// One task of a [`TaskSet`]; made by [`tasks!`](crate::tasks).
#[doc(hidden)]
pub struct Task {
    pub name: &'static str,
    pub run: fn(&Context, &Call<'_>, &mut Vec<u8>),
}

impl TaskSet {
    /// The task names, in the order given to `tasks!`.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tasks.iter().map(|t| t.name)
    }

    /// The manifest (ABI.md section 2.3): `{"tasks":["send_email"],"sdk":"arqhost-rust/1"}`.
    pub fn manifest_json(&self) -> String {
        #[derive(Serialize)]
        struct Manifest<'a> {
            tasks: Vec<&'a str>,
            sdk: &'a str,
        }
        serde_json::to_string(&Manifest { tasks: self.names().collect(), sdk: SDK_NAME }).expect("manifest")
    }

    /// Runs one job the way the host does through the module's `arqhost_run` export, and returns
    /// the job's output. `input` is the job input of ABI.md section 3, e.g.
    ///
    /// ```json
    /// {"job_id": "j1", "function": "send_email", "job_try": 1,
    ///  "enqueue_time": "2026-01-15T10:30:00Z", "queue_name": "arq:queue", "worker_id": "w1",
    ///  "args": ["ann@example.com", "hello"], "kwargs": {"body": "hi"}}
    /// ```
    ///
    /// (members left out take their default values), and the output is that of ABI.md section 5:
    /// `{"result":…}` or `{"error":{"kind":…,"type":…,"message":…}}`.
    pub fn invoke(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.run_into(input, &mut out);
        out
    }

    /// Runs the job described by `input` and appends its output to `out`.
    #[doc(hidden)]
    pub fn run_into(&self, input: &[u8], out: &mut Vec<u8>) {
        let job: JobInput<'_> = match serde_json::from_slice(input) {
            Ok(job) => job,
            Err(_) if repair(input).is_some() => {
                // Invalid UTF-8 or a lone UTF-16 surrogate, which serde_json refuses: read the
                // input as Go does instead, with U+FFFD in their place. Only failing inputs pay.
                let repaired = repair(input).unwrap_or_default();
                return self.run_into(&repaired, out);
            }
            Err(e) => {
                let e = Error::sdk("InputError", format!("invalid job input: {}", e));
                return write_error_output(out, &e);
            }
        };
        let task = match self.tasks.iter().find(|t| t.name == job.function) {
            Some(t) => t,
            None => {
                let e = Error::sdk("UnknownTask", format!("this module has no task named {}", quote(&job.function)));
                return write_error_output(out, &e);
            }
        };
        let ctx = Context {
            job_id: job.job_id,
            function: job.function,
            job_try: job.job_try,
            enqueue_time: job.enqueue_time,
            queue: job.queue_name,
            worker_id: job.worker_id,
        };
        (task.run)(&ctx, &job.call, out);
    }
}

/// A job's arguments, still raw JSON: they borrow the input, and are decoded straight into the
/// task's parameter types.
#[doc(hidden)]
#[derive(Default)]
pub struct Call<'a> {
    args: Vec<&'a RawValue>,
    /// Keyword arguments in input order, without repeated names (the last value wins).
    kwargs: Vec<(Cow<'a, str>, &'a RawValue)>,
}

/// The job input (ABI.md section 3). As the Go SDK does: unknown members are skipped, a null
/// member leaves the default, a repeated member takes its last value.
struct JobInput<'a> {
    job_id: String,
    function: String,
    job_try: i64,
    enqueue_time: String,
    queue_name: String,
    worker_id: String,
    call: Call<'a>,
}

impl<'de> Deserialize<'de> for JobInput<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(InputVisitor)
    }
}

struct InputVisitor;

impl<'de> Visitor<'de> for InputVisitor {
    type Value = JobInput<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the job input, a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JobInput<'de>, A::Error> {
        let mut job = JobInput {
            job_id: String::new(),
            function: String::new(),
            job_try: 0,
            enqueue_time: String::new(),
            queue_name: String::new(),
            worker_id: String::new(),
            call: Call::default(),
        };
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let field = match &*key.0 {
                "job_id" => &mut job.job_id,
                "function" => &mut job.function,
                "enqueue_time" => &mut job.enqueue_time,
                "queue_name" => &mut job.queue_name,
                "worker_id" => &mut job.worker_id,
                "job_try" => {
                    if let Some(n) = map.next_value::<Option<i64>>()? {
                        job.job_try = n;
                    }
                    continue;
                }
                "args" => {
                    job.call.args = map.next_value::<Option<Vec<&'de RawValue>>>()?.unwrap_or_default();
                    continue;
                }
                "kwargs" => {
                    job.call.kwargs = map.next_value::<Option<Kwargs<'de>>>()?.map(|k| k.0).unwrap_or_default();
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if let Some(s) = map.next_value::<Option<String>>()? {
                *field = s;
            }
        }
        Ok(job)
    }
}

/// A member name, borrowed from the input unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The kwargs object, in order, a repeated name keeping its last value.
struct Kwargs<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Kwargs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Kwargs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of keyword arguments")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kwargs<'de>, A::Error> {
                let mut kw: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v = map.next_value::<&'de RawValue>()?;
                    match kw.iter_mut().find(|(name, _)| *name == k) {
                        Some(slot) => slot.1 = v,
                        None => kw.push((k, v)),
                    }
                }
                Ok(Kwargs(kw))
            }
        }
        d.deserialize_map(V)
    }
}

/// Writes `{"result": <value>}`, or a permanent ResultError if `value` fails to serialize.
fn write_result<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    out.extend_from_slice(b"{\"result\":");
    match value.serialize(&mut serde_json::Serializer::new(&mut *out)) {
        Ok(()) => out.push(b'}'),
        Err(e) => {
            out.truncate(start);
            let e = Error::sdk("ResultError", format!("cannot encode the task's result as JSON: {}", e));
            write_error_output(out, &e);
        }
    }
}

/// Writes `{"error": e}`.
pub(crate) fn write_error_output(out: &mut Vec<u8>, e: &Error) {
    out.extend_from_slice(b"{\"error\":");
    e.write_json(out);
    out.push(b'}');
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// What `tasks!` knows about one task: its name and parameter names.
#[doc(hidden)]
pub struct Sig<const N: usize> {
    pub name: &'static str,
    pub params: [&'static str; N],
}

impl<const N: usize> Sig<N> {
    /// The error a job fails with when its arguments do not fit the task: kind "permanent"
    /// (sending the same arguments again cannot help), type "TypeError".
    fn arg_error(&self, msg: fmt::Arguments<'_>) -> Error {
        Error::sdk("TypeError", format!("{}() {}", self.name, msg))
    }

    /// Names parameter i for messages: `"to" (position 1)`.
    fn arg_name(&self, i: usize) -> String {
        format!("{} (position {})", quote(self.params[i]), i + 1)
    }

    /// How many positional arguments the task takes: "3 arguments", "at most 2 arguments",
    /// "from 1 to 3 arguments".
    fn arity(min: usize, n: usize) -> String {
        match (min, n) {
            (1, 1) => "1 argument".to_string(),
            (m, n) if m == n => format!("{} arguments", n),
            (0, 1) => "at most 1 argument".to_string(),
            (0, n) => format!("at most {} arguments", n),
            (m, n) => format!("from {} to {} arguments", m, n),
        }
    }

    /// Matches a job's positional and keyword arguments to the parameters: one raw value per
    /// parameter, `None` for an optional one the job did not pass. `min` is the number of
    /// leading required parameters (the others are optional).
    fn bind<'a>(&self, min: usize, call: &Call<'a>) -> Result<[Option<&'a RawValue>; N], Error> {
        let nargs = call.args.len();
        if nargs > N {
            let verb = if nargs == 1 { "was" } else { "were" };
            return Err(self.arg_error(format_args!("takes {} but {} {} given", Self::arity(min, N), nargs, verb)));
        }
        let mut raws: [Option<&'a RawValue>; N] = [None; N];
        for (slot, a) in raws.iter_mut().zip(&call.args) {
            *slot = Some(*a);
        }
        if !call.kwargs.is_empty() {
            if N == 0 {
                let mut names: Vec<&str> = call.kwargs.iter().map(|(k, _)| &**k).collect();
                names.sort_unstable();
                let list = names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ");
                return Err(self.arg_error(format_args!("takes no keyword arguments, got {}", list)));
            }
            let mut unknown: Vec<&str> = Vec::new();
            let mut twice: Vec<usize> = Vec::new();
            for (k, v) in &call.kwargs {
                match self.params.iter().position(|p| *p == &**k) {
                    None => unknown.push(k),
                    Some(i) if i < nargs => twice.push(i),
                    Some(i) => raws[i] = Some(*v),
                }
            }
            if !unknown.is_empty() {
                unknown.sort_unstable();
                if unknown.len() == 1 {
                    return Err(self.arg_error(format_args!("got an unexpected keyword argument {}", quote(unknown[0]))));
                }
                let list = unknown.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ");
                return Err(self.arg_error(format_args!("got unexpected keyword arguments {}", list)));
            }
            if !twice.is_empty() {
                twice.sort_unstable();
                let descs = twice.iter().map(|&i| self.arg_name(i)).collect::<Vec<_>>().join(", ");
                let s = if twice.len() == 1 { "" } else { "s" };
                return Err(self.arg_error(format_args!("got multiple values for argument{} {}", s, descs)));
            }
        }
        let missing: Vec<usize> = (nargs..min).filter(|&i| raws[i].is_none()).collect();
        match missing.len() {
            0 => Ok(raws),
            1 => Err(self.arg_error(format_args!("missing required argument {}", self.arg_name(missing[0])))),
            _ => {
                let descs = missing.iter().map(|&i| self.arg_name(i)).collect::<Vec<_>>().join(", ");
                Err(self.arg_error(format_args!("missing required arguments {}", descs)))
            }
        }
    }

    /// Decodes parameter i from its raw value (`None`: an absent optional parameter).
    fn decode<T: DeserializeOwned>(&self, i: usize, raw: Option<&RawValue>) -> Result<T, Error> {
        let result = match raw {
            // As in Go, an explicit null is the parameter's zero value.
            Some(raw) if raw.get() == "null" => T::deserialize(ZeroValue),
            Some(raw) => serde_json::from_str(raw.get()).or_else(|e| match repair(raw.get().as_bytes()) {
                Some(repaired) => serde_json::from_slice(&repaired),
                None => Err(e),
            }),
            None => {
                return T::deserialize(Absent)
                    .map_err(|_| self.arg_error(format_args!("missing required argument {}", self.arg_name(i))))
            }
        };
        result.map_err(|e| self.arg_error(format_args!("argument {}: {}", self.arg_name(i), describe(&e))))
    }
}

/// Rewrites JSON text as Go's encoding/json reads it where serde_json would refuse it: each byte
/// of invalid UTF-8 becomes U+FFFD, and so does each `\uXXXX` escape of a UTF-16 surrogate that
/// is not part of a pair. Returns `None` when there is nothing to rewrite.
fn repair(b: &[u8]) -> Option<Vec<u8>> {
    const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let (mut i, mut copied) = (0, 0);
    let replace = |out: &mut Option<Vec<u8>>, copied: &mut usize, from: usize, to: usize, with: &[u8]| {
        let o = out.get_or_insert_with(|| Vec::with_capacity(b.len() + 8));
        o.extend_from_slice(&b[*copied..from]);
        o.extend_from_slice(with);
        *copied = to;
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            if b.get(i + 1) == Some(&b'u') {
                if let Some(r) = hex4(b, i + 2) {
                    if (0xD800..0xDC00).contains(&r)
                        && b.get(i + 6) == Some(&b'\\')
                        && b.get(i + 7) == Some(&b'u')
                        && matches!(hex4(b, i + 8), Some(r2) if (0xDC00..0xE000).contains(&r2))
                    {
                        i += 12; // a valid pair
                    } else if (0xD800..0xE000).contains(&r) {
                        replace(&mut out, &mut copied, i, i + 6, b"\\ufffd");
                        i += 6;
                    } else {
                        i += 6;
                    }
                    continue;
                }
            }
            i += 2;
        } else if c < 0x80 {
            i += 1;
        } else {
            match utf8_width(&b[i..]) {
                Some(w) => i += w,
                None => {
                    replace(&mut out, &mut copied, i, i + 1, REPLACEMENT);
                    i += 1;
                }
            }
        }
    }
    let mut o = out?;
    o.extend_from_slice(&b[copied..]);
    Some(o)
}

/// The 4 hex digits at b[i..i+4].
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    let s = std::str::from_utf8(s).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// The length of the valid UTF-8 sequence at the start of b (whose first byte is not ASCII), or
/// None if it is invalid.
fn utf8_width(b: &[u8]) -> Option<usize> {
    let w = match b[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    std::str::from_utf8(b.get(..w)?).ok().map(|_| w)
}

/// serde_json's message without its position, which means nothing for a single argument:
/// `invalid type: integer `5`, expected a string`.
fn describe(e: &serde_json::Error) -> String {
    let s = e.to_string();
    if e.line() > 0 {
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        if let Some(stripped) = s.strip_suffix(&suffix) {
            return stripped.to_string();
        }
    }
    s
}

/// A deserializer for an argument the job did not pass. Only types that accept "no value"
/// (`Option<T>`, through `deserialize_option`) deserialize from it; that is how the SDK tells
/// which parameters are optional.
struct Absent;

/// The error of [`Absent`]: the type needs a value. It carries nothing, so probing costs no
/// allocation.
#[derive(Debug)]
struct NeedsValue;

impl fmt::Display for NeedsValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value is required")
    }
}

impl std::error::Error for NeedsValue {}

impl de::Error for NeedsValue {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NeedsValue
    }
}

impl<'de> Deserializer<'de> for Absent {
    type Error = NeedsValue;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, NeedsValue> {
        Err(NeedsValue)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, NeedsValue> {
        v.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A deserializer for an argument passed as JSON `null`: it gives the type's zero value, as Go's
/// encoding/json does for null: `""`, `0`, `false`, an empty sequence or map, `None`, unit
/// (`serde_json::Value::Null`). A struct gets no fields (so only one whose fields all have serde
/// defaults decodes); an enum or a char fails with `invalid type: null`.
struct ZeroValue;

impl<'de> Deserializer<'de> for ZeroValue {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_i8(0)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_i16(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_i32(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_i64(0)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_i128(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_u8(0)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_u16(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_u32(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_u64(0)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_u128(0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_f32(0.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_f64(0.0)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Unit, &v))
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_str("")
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_bytes(&[])
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_bytes(&[])
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_none()
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_seq(de::value::SeqDeserializer::new(std::iter::empty::<()>()))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_map(de::value::MapDeserializer::new(std::iter::empty::<((), ())>()))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_map(v)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Unit, &v))
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_str("")
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }
}

/// Whether a parameter of type T may be left out: whether T deserializes from no value.
fn accepts_absent<T: DeserializeOwned>() -> bool {
    T::deserialize(Absent).is_ok()
}

/// The number of leading required parameters, given which parameter types accept no value: the
/// optional parameters are the trailing run of those that do.
fn required_count<const N: usize>(accepts: [bool; N]) -> usize {
    let mut min = N;
    while min > 0 && accepts[min - 1] {
        min -= 1;
    }
    min
}

/// A task function: `fn(&Context, P1, …, Pn) -> R` where every `Pi` is `DeserializeOwned` and
/// `R` is a [`Result`](crate::Result) of a serializable value (see [`IntoTaskResult`]); for up to
/// 16 parameters. `N` is the number of parameters.
pub trait TaskFn<Args, const N: usize> {
    #[doc(hidden)]
    fn __required() -> usize;
    #[doc(hidden)]
    fn __call(&self, ctx: &Context, sig: &Sig<N>, raws: [Option<&RawValue>; N], out: &mut Vec<u8>) -> Result<(), Error>;
}

macro_rules! impl_task_fn {
    ($n:literal $(, $T:ident $v:ident $i:tt)*) => {
        impl<Func, Res $(, $T)*> TaskFn<($($T,)*), $n> for Func
        where
            Func: Fn(&Context $(, $T)*) -> Res,
            Res: IntoTaskResult,
            $($T: DeserializeOwned,)*
        {
            fn __required() -> usize {
                required_count::<$n>([$(accepts_absent::<$T>()),*])
            }

            #[allow(unused_variables)]
            fn __call(&self, ctx: &Context, sig: &Sig<$n>, raws: [Option<&RawValue>; $n], out: &mut Vec<u8>) -> Result<(), Error> {
                $(let $v: $T = sig.decode($i, raws[$i])?;)*
                match (self)(ctx $(, $v)*).into_task_result() {
                    Ok(value) => write_result(out, &value),
                    Err(e) => write_error_output(out, &e),
                }
                Ok(())
            }
        }
    };
}

impl_task_fn!(0);
impl_task_fn!(1, A a 0);
impl_task_fn!(2, A a 0, B b 1);
impl_task_fn!(3, A a 0, B b 1, C c 2);
impl_task_fn!(4, A a 0, B b 1, C c 2, D d 3);
impl_task_fn!(5, A a 0, B b 1, C c 2, D d 3, E e 4);
impl_task_fn!(6, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5);
impl_task_fn!(7, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6);
impl_task_fn!(8, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7);
impl_task_fn!(9, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8);
impl_task_fn!(10, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9);
impl_task_fn!(11, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10);
impl_task_fn!(12, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11);
impl_task_fn!(13, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11, M m 12);
impl_task_fn!(14, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11, M m 12, N n 13);
impl_task_fn!(15, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11, M m 12, N n 13, O o 14);
impl_task_fn!(16, A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11, M m 12, N n 13, O o 14, P p 15);

/// Runs one job of a task: binds its arguments, calls `f` and writes the outcome to `out`.
/// Called by the code `tasks!` generates; `params` must name every parameter of `f` (a count
/// that differs from `f`'s is a compile error: `f` then does not implement `TaskFn<_, N>`).
#[doc(hidden)]
pub fn run_task<Args, F: TaskFn<Args, N>, const N: usize>(
    f: F,
    name: &'static str,
    params: [&'static str; N],
    ctx: &Context,
    call: &Call<'_>,
    out: &mut Vec<u8>,
) {
    let sig = Sig { name, params };
    let start = out.len();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let raws = sig.bind(F::__required(), call)?;
        f.__call(ctx, &sig, raws, out)
    }));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            out.truncate(start);
            write_error_output(out, &e);
        }
        Err(payload) => {
            // Only where panics unwind (native builds); on wasm32 a panic aborts (see host.rs).
            let msg = panic_message(&*payload);
            crate::context::log(Level::Error, "task panicked").attr("panic", msg).emit();
            out.truncate(start);
            write_error_output(out, &Error::new("Panic", msg.to_string()));
        }
    }
}

/// Checks at compile time what `tasks!` was given: valid, distinct task names (ABI.md section
/// 2.3) and distinct parameter names.
#[doc(hidden)]
pub const fn check_tasks(tasks: &[(&str, &[&str])]) {
    if tasks.is_empty() {
        panic!("arqhost::tasks!: a module must have at least one task");
    }
    let mut i = 0;
    while i < tasks.len() {
        let name = tasks[i].0.as_bytes();
        if name.is_empty() || name.len() > 200 {
            panic!("arqhost::tasks!: a task name must be 1 to 200 bytes long");
        }
        let mut j = 0;
        while j < name.len() {
            let c = name[j];
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b':' || c == b'-') {
                panic!("arqhost::tasks!: a task name may hold only A-Z a-z 0-9 _ . : -");
            }
            j += 1;
        }
        let mut k = 0;
        while k < i {
            if bytes_eq(tasks[k].0.as_bytes(), name) {
                panic!("arqhost::tasks!: two tasks have the same name");
            }
            k += 1;
        }
        let params = tasks[i].1;
        let mut p = 0;
        while p < params.len() {
            let mut q = 0;
            while q < p {
                if bytes_eq(params[p].as_bytes(), params[q].as_bytes()) {
                    panic!("arqhost::tasks!: two parameters of a task have the same name");
                }
                q += 1;
            }
            p += 1;
        }
        i += 1;
    }
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arity_words() {
        assert_eq!(Sig::<0>::arity(0, 0), "0 arguments");
        assert_eq!(Sig::<0>::arity(1, 1), "1 argument");
        assert_eq!(Sig::<0>::arity(3, 3), "3 arguments");
        assert_eq!(Sig::<0>::arity(0, 1), "at most 1 argument");
        assert_eq!(Sig::<0>::arity(0, 2), "at most 2 arguments");
        assert_eq!(Sig::<0>::arity(1, 3), "from 1 to 3 arguments");
    }

    #[test]
    fn optional_params() {
        assert!(accepts_absent::<Option<String>>());
        assert!(accepts_absent::<Option<serde_json::Value>>());
        assert!(!accepts_absent::<String>());
        assert!(!accepts_absent::<serde_json::Value>());
        assert!(!accepts_absent::<Vec<i32>>());
        assert!(!accepts_absent::<()>());
        assert_eq!(required_count([false, true, true]), 1);
        assert_eq!(required_count([true, false, true]), 2);
        assert_eq!(required_count([true, true]), 0);
        assert_eq!(required_count([]), 0);
    }

    #[test]
    fn repair_like_go() {
        let r = |s: &[u8]| repair(s).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(r(br#""abc""#), None);
        assert_eq!(r("\"é中😀\"".as_bytes()), None);
        assert_eq!(r(br#""\ud83d\ude00""#), None);
        assert_eq!(r(br#""\\ud800""#), None); // an escaped backslash, then text
        assert_eq!(r(br#""a\ud800b""#).as_deref(), Some(r#""a\ufffdb""#));
        assert_eq!(r(br#""\udc00\ud800\u0041""#).as_deref(), Some(r#""\ufffd\ufffd\u0041""#));
        assert_eq!(r(br#""\ud800\ud800\udc00""#).as_deref(), Some(r#""\ufffd\ud800\udc00""#));
        assert_eq!(r(b"\"a\xffb\xe0\xa0c\"").as_deref(), Some("\"a\u{fffd}b\u{fffd}\u{fffd}c\""));
        assert_eq!(r(b"\"\xed\xa0\x80\"").as_deref(), Some("\"\u{fffd}\u{fffd}\u{fffd}\""));
    }

    #[test]
    fn describe_strips_position() {
        let e = serde_json::from_str::<String>("5").unwrap_err();
        assert_eq!(describe(&e), "invalid type: integer `5`, expected a string");
    }
}

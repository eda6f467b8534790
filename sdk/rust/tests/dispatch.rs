//! The dispatch logic, run natively: argument binding and its messages (the Go SDK's), error
//! kinds, unknown tasks, bad input, results, panics and logging.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arqhost::testing::take_logs;
use arqhost::{Context, Error, Level};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

fn mail(_: &Context, to: String, subject: String, body: String) -> arqhost::Result<BTreeMap<&'static str, String>> {
    Ok([("to", to), ("subject", subject), ("body", body)].into_iter().collect())
}

fn opt(_: &Context, a: String, b: Option<i64>, c: Option<String>) -> arqhost::Result<(String, Option<i64>, Option<String>)> {
    Ok((a, b, c))
}

fn all_opt(_: &Context, a: Option<i64>) -> arqhost::Result<Option<i64>> {
    Ok(a)
}

fn one(_: &Context, a: i64) -> arqhost::Result<i64> {
    Ok(a)
}

fn none(_: &Context) -> arqhost::Result<i64> {
    Ok(42)
}

fn mid(_: &Context, a: Option<i64>, b: String) -> arqhost::Result<(Option<i64>, String)> {
    Ok((a, b))
}

#[derive(Serialize, Deserialize)]
struct Point {
    #[serde(default)]
    x: i32,
    y: i32,
}

#[derive(Serialize, Deserialize)]
struct DefaultPoint {
    #[serde(default)]
    x: i32,
    #[serde(default)]
    y: i32,
}

#[derive(Serialize, Deserialize)]
enum Color {
    Red,
}

fn chars(_: &Context, c: char) -> arqhost::Result<char> {
    Ok(c)
}

fn enums(_: &Context, e: Color) -> arqhost::Result<Color> {
    Ok(e)
}

#[allow(clippy::too_many_arguments)]
fn typed(
    _: &Context,
    n: i64,
    u: u8,
    f: f64,
    xs: Vec<String>,
    m: BTreeMap<String, i32>,
    p: DefaultPoint,
    v: Value,
    flag: bool,
) -> arqhost::Result<Value> {
    Ok(serde_json::json!([n, u, f, xs, m, p, v, flag]))
}

static COUNTED: AtomicUsize = AtomicUsize::new(0);

fn counted(_: &Context, _a: String) -> arqhost::Result<()> {
    COUNTED.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn ctx_fields(ctx: &Context) -> arqhost::Result<Context> {
    Ok(ctx.clone())
}

fn retry(_: &Context) -> arqhost::Result<i64> {
    Err(Error::retry(Duration::from_secs(5)))
}

fn retry_typed(_: &Context) -> arqhost::Result<()> {
    Err(Error::new("SMTPBusy", "server busy").retry_after(Duration::from_millis(1500)))
}

fn permanent(_: &Context) -> arqhost::Result<()> {
    Err(Error::permanent("ValueError", "empty"))
}

fn ordinary(_: &Context) -> arqhost::Result<()> {
    Err(Error::new("", "failed"))
}

fn std_error(_: &Context, s: String) -> arqhost::Result<i32> {
    Ok(s.parse::<i32>()?)
}

fn io_error(_: &Context) -> Result<(), std::io::Error> {
    Err(std::io::Error::new(std::io::ErrorKind::Other, "disk full"))
}

struct BadJson;

impl Serialize for BadJson {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("no JSON for you"))
    }
}

fn bad_result(_: &Context) -> arqhost::Result<BadJson> {
    Ok(BadJson)
}

fn map_key_result(_: &Context) -> arqhost::Result<BTreeMap<(i32, i32), i32>> {
    Ok([((1, 2), 3)].into_iter().collect())
}

fn unit(_: &Context) -> arqhost::Result<()> {
    Ok(())
}

fn html(_: &Context) -> arqhost::Result<&'static str> {
    Ok("<a href='x'>&</a>\u{2028}")
}

fn panics(_: &Context, what: String) -> arqhost::Result<String> {
    match what.as_str() {
        "str" => panic!("boom"),
        "string" => panic!("boom {}", 42),
        "index" => {
            let v: Vec<i32> = Vec::new();
            Ok(v[what.len()].to_string())
        }
        _ => Ok("fine".into()),
    }
}

fn logs(ctx: &Context, to: String) -> arqhost::Result<()> {
    ctx.debug("d");
    ctx.info("i");
    ctx.warn("w");
    ctx.error("e");
    ctx.log(Level::Info, "sending email")
        .attr("to", &to)
        .attr("try", &ctx.job_try)
        .attr("tags", &["a", "b"])
        .attr("quote\"key", &BTreeMap::from([("k", 1)]))
        .attr("bad", &BadJson)
        .emit();
    arqhost::log(Level::Warn, "free").emit();
    Ok(())
}

arqhost::tasks! {
    mail(to, subject, body),
    opt(a, b, c),
    all_opt(a),
    one(a),
    none(),
    mid(a, b),
    typed(n, u, f, xs, m, p, v, flag),
    counted(a),
    ctx_fields(),
    retry(),
    retry_typed(),
    permanent(),
    ordinary(),
    std_error(s),
    io_error(),
    bad_result(),
    map_key_result(),
    unit(),
    html(),
    panics(what),
    logs(to),
    chars(c),
    enums(e),
    "renamed.task:v1-x" => none(),
    point(p),
}

fn job(function: &str, args: &str, kwargs: &str) -> Vec<u8> {
    let args = if args.is_empty() { "[]" } else { args };
    let kwargs = if kwargs.is_empty() { "{}" } else { kwargs };
    format!(
        r#"{{"job_id":"j1","function":"{}","job_try":1,"enqueue_time":"2026-01-15T10:30:00Z","queue_name":"q","worker_id":"w","args":{},"kwargs":{}}}"#,
        function, args, kwargs
    )
    .into_bytes()
}

/// Runs a job and checks that its output is an ABI output: a JSON object with exactly one of
/// "result" and "error", the error having a valid kind and a non-empty type.
fn call(function: &str, args: &str, kwargs: &str) -> String {
    output(&TASKS.invoke(&job(function, args, kwargs)))
}

fn output(out: &[u8]) -> String {
    let v: Value = serde_json::from_slice(out).unwrap_or_else(|e| panic!("output {:?}: {}", String::from_utf8_lossy(out), e));
    let o = v.as_object().expect("an object");
    assert_eq!(o.len(), 1, "output {}", v);
    if let Some(e) = o.get("error") {
        let kind = e["kind"].as_str().unwrap();
        assert!(["error", "retry", "permanent"].contains(&kind), "kind {}", kind);
        assert!(!e["type"].as_str().unwrap().is_empty());
        assert!(e["message"].is_string());
    } else {
        assert!(o.contains_key("result"), "output {}", v);
    }
    String::from_utf8(out.to_vec()).unwrap()
}

/// The output of a job failing with the given error, members in the SDK's order.
fn error_output(kind: &str, typ: &str, msg: &str) -> String {
    format!(r#"{{"error":{{"kind":"{}","type":"{}","message":{}}}}}"#, kind, typ, serde_json::to_string(msg).unwrap())
}

fn type_error(msg: &str) -> String {
    error_output("permanent", "TypeError", msg)
}

#[test]
fn arguments() {
    let typed_args = |i: usize, value: &str| {
        let mut a = vec!["1", "2", "3", "[]", "{}", r#"{"x":0,"y":0}"#, "null", "true"];
        a[i] = value;
        &*Box::leak(format!("[{}]", a.join(",")).into_boxed_str())
    };
    let cases: Vec<(&str, &str, &str, &str, String)> = vec![
        // mail: three named string parameters.
        ("positional", "mail", r#"["a@x","hi","body"]"#, "", r#"{"result":{"body":"body","subject":"hi","to":"a@x"}}"#.into()),
        ("keywords", "mail", "", r#"{"body":"body","to":"a@x","subject":"hi"}"#, r#"{"result":{"body":"body","subject":"hi","to":"a@x"}}"#.into()),
        ("mixed", "mail", r#"["a@x"]"#, r#"{"body":"body","subject":"hi"}"#, r#"{"result":{"body":"body","subject":"hi","to":"a@x"}}"#.into()),
        ("repeated keyword: last wins", "mail", r#"["a@x","hi"]"#, r#"{"body":"one","body":"two"}"#, r#"{"result":{"body":"two","subject":"hi","to":"a@x"}}"#.into()),
        ("too many", "mail", r#"["a","b","c","d"]"#, "", type_error("mail() takes 3 arguments but 4 were given")),
        ("too many before unknown keyword", "mail", r#"["a","b","c","d"]"#, r#"{"cc":1}"#, type_error("mail() takes 3 arguments but 4 were given")),
        ("missing one", "mail", r#"["a","b"]"#, "", type_error(r#"mail() missing required argument "body" (position 3)"#)),
        ("missing several", "mail", r#"["a"]"#, "", type_error(r#"mail() missing required arguments "subject" (position 2), "body" (position 3)"#)),
        ("missing positional and keyword", "mail", "", r#"{"subject":"s"}"#, type_error(r#"mail() missing required arguments "to" (position 1), "body" (position 3)"#)),
        ("unknown keyword", "mail", r#"["a","b","c"]"#, r#"{"cc":"x"}"#, type_error(r#"mail() got an unexpected keyword argument "cc""#)),
        ("unknown keywords", "mail", r#"["a","b","c"]"#, r#"{"cc":"x","bcc":"y"}"#, type_error(r#"mail() got unexpected keyword arguments "bcc", "cc""#)),
        ("unknown keyword quoted like Go", "mail", r#"["a","b","c"]"#, r#"{"c\"c\n":"x"}"#, type_error(r#"mail() got an unexpected keyword argument "c\"c\n""#)),
        ("keyword names are case-sensitive", "mail", r#"["a","b"]"#, r#"{"Body":"x"}"#, type_error(r#"mail() got an unexpected keyword argument "Body""#)),
        ("unknown before twice", "mail", r#"["a","b","c"]"#, r#"{"to":"x","cc":"y"}"#, type_error(r#"mail() got an unexpected keyword argument "cc""#)),
        ("twice", "mail", r#"["a"]"#, r#"{"to":"b","subject":"s","body":"b"}"#, type_error(r#"mail() got multiple values for argument "to" (position 1)"#)),
        ("twice several", "mail", r#"["a","b","c"]"#, r#"{"body":"b","to":"b"}"#, type_error(r#"mail() got multiple values for arguments "to" (position 1), "body" (position 3)"#)),
        ("wrong type positional", "mail", r#"[5,"s","b"]"#, "", type_error(r#"mail() argument "to" (position 1): invalid type: integer `5`, expected a string"#)),
        ("wrong type keyword", "mail", r#"["a"]"#, r#"{"subject":["x"],"body":"b"}"#, type_error(r#"mail() argument "subject" (position 2): invalid type: sequence, expected a string"#)),
        ("first wrong type reported", "mail", r#"["a",true,{}]"#, "", type_error(r#"mail() argument "subject" (position 2): invalid type: boolean `true`, expected a string"#)),
        ("null is the zero value", "mail", r#"[null,"hi","body"]"#, "", r#"{"result":{"body":"body","subject":"hi","to":""}}"#.into()),
        ("null keyword", "mail", r#"["a@x","hi"]"#, r#"{"body":null}"#, r#"{"result":{"body":"","subject":"hi","to":"a@x"}}"#.into()),
        // opt: trailing Option parameters are optional.
        ("optional absent", "opt", r#"["x"]"#, "", r#"{"result":["x",null,null]}"#.into()),
        ("optional positional", "opt", r#"["x",2]"#, "", r#"{"result":["x",2,null]}"#.into()),
        ("optional keyword", "opt", "", r#"{"a":"x","c":"z"}"#, r#"{"result":["x",null,"z"]}"#.into()),
        ("optional null", "opt", r#"["x",null,"z"]"#, "", r#"{"result":["x",null,"z"]}"#.into()),
        ("optional too many", "opt", r#"["x",1,"z",4]"#, "", type_error("opt() takes from 1 to 3 arguments but 4 were given")),
        ("optional missing required", "opt", "", r#"{"b":1}"#, type_error(r#"opt() missing required argument "a" (position 1)"#)),
        ("optional wrong type", "opt", r#"["x","2"]"#, "", type_error(r#"opt() argument "b" (position 2): invalid type: string "2", expected i64"#)),
        ("all optional", "all_opt", "", "", r#"{"result":null}"#.into()),
        ("all optional given", "all_opt", "", r#"{"a":7}"#, r#"{"result":7}"#.into()),
        ("all optional too many", "all_opt", "[1,2]", "", type_error("all_opt() takes at most 1 argument but 2 were given")),
        ("one too many", "one", "[1,2]", "", type_error("one() takes 1 argument but 2 were given")),
        ("fraction for int", "one", "[1.5]", "", type_error(r#"one() argument "a" (position 1): invalid type: floating point `1.5`, expected i64"#)),
        ("Option not last is required", "mid", "", r#"{"b":"s"}"#, type_error(r#"mid() missing required argument "a" (position 1)"#)),
        ("Option not last given null", "mid", r#"[null,"s"]"#, "", r#"{"result":[null,"s"]}"#.into()),
        // none: no parameters.
        ("no parameters", "none", "", "", r#"{"result":42}"#.into()),
        ("no parameters, one given", "none", "[1]", "", type_error("none() takes 0 arguments but 1 was given")),
        ("no parameters, keywords given", "none", "", r#"{"y":1,"x":1}"#, type_error(r#"none() takes no keyword arguments, got "x", "y""#)),
        ("renamed task", "renamed.task:v1-x", "[1]", "", type_error("renamed.task:v1-x() takes 0 arguments but 1 was given")),
        // typed: decoding into various types.
        ("types", "typed", r#"[-3, 255, 2.5, ["a","b"], {"k":1}, {"x":1,"y":2}, {"any":[1,"x"]}, false]"#, "",
            r#"{"result":[-3,255,2.5,["a","b"],{"k":1},{"x":1,"y":2},{"any":[1,"x"]},false]}"#.into()),
        ("overflow", "typed", typed_args(1, "300"), "", type_error(r#"typed() argument "u" (position 2): invalid value: integer `300`, expected u8"#)),
        ("negative unsigned", "typed", typed_args(1, "-1"), "", type_error(r#"typed() argument "u" (position 2): invalid value: integer `-1`, expected u8"#)),
        ("slice element", "typed", typed_args(3, r#"["a", 1]"#), "", type_error(r#"typed() argument "xs" (position 4): invalid type: integer `1`, expected a string"#)),
        ("map value", "typed", typed_args(4, r#"{"k":"v"}"#), "", type_error(r#"typed() argument "m" (position 5): invalid type: string "v", expected i32"#)),
        ("map wanted", "typed", typed_args(4, "[1]"), "", type_error(r#"typed() argument "m" (position 5): invalid type: sequence, expected a map"#)),
        ("struct field", "typed", typed_args(5, r#"{"x":"s","y":1}"#), "", type_error(r#"typed() argument "p" (position 6): invalid type: string "s", expected i32"#)),
        ("null zero values", "typed", "[null,null,null,null,null,null,null,null]", "", r#"{"result":[0,0,0.0,[],{},{"x":0,"y":0},null,false]}"#.into()),
        ("null char", "chars", "[null]", "", type_error(r#"chars() argument "c" (position 1): invalid type: null, expected a character"#)),
        ("null enum", "enums", "[null]", "", type_error(r#"enums() argument "e" (position 1): invalid type: null, expected enum Color"#)),
        ("struct missing field", "point", r#"[{"x":1}]"#, "", type_error(r#"point() argument "p" (position 1): missing field `y`"#)),
        ("null struct without defaults", "point", "[null]", "", type_error(r#"point() argument "p" (position 1): missing field `y`"#)),
    ];
    let mut failed = Vec::new();
    for (name, f, args, kwargs, want) in &cases {
        let got = call(f, args, kwargs);
        if &got != want {
            failed.push(format!("{}:\n  got  {}\n  want {}", name, got, want));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn task_not_called_when_arguments_do_not_fit() {
    for (args, kwargs) in [("[1]", ""), ("", ""), (r#"["a","b"]"#, ""), ("", r#"{"b":1}"#), (r#"["a"]"#, r#"{"a":"a"}"#)] {
        let out = call("counted", args, kwargs);
        assert!(out.contains("TypeError"), "{}", out);
    }
    assert_eq!(COUNTED.load(Ordering::SeqCst), 0);
    assert_eq!(call("counted", r#"["a"]"#, ""), r#"{"result":null}"#);
    assert_eq!(COUNTED.load(Ordering::SeqCst), 1);
}

#[test]
fn unknown_task() {
    assert_eq!(call("no_such_task", "", ""), error_output("permanent", "UnknownTask", r#"this module has no task named "no_such_task""#));
    assert_eq!(output(&TASKS.invoke(b"{}")), error_output("permanent", "UnknownTask", r#"this module has no task named """#));
}

#[test]
fn bad_input() {
    let inputs: &[&[u8]] = &[
        b"",
        b"nope",
        b"[]",
        b"5",
        b"null",
        br#"{"function": 5}"#,
        br#"{"args": {}}"#,
        br#"{"kwargs": []}"#,
        br#"{"job_try": "1"}"#,
        br#"{"job_try": 1.5}"#,
        br#"{"function": "none"} x"#,
        br#"{"function": "none""#,
        br#"{"function": "none", "args": [1,]}"#,
    ];
    for input in inputs {
        let out = output(&TASKS.invoke(input));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["kind"], "permanent", "input {:?}: {}", String::from_utf8_lossy(input), out);
        assert_eq!(v["error"]["type"], "InputError", "input {:?}: {}", String::from_utf8_lossy(input), out);
        assert!(v["error"]["message"].as_str().unwrap().starts_with("invalid job input: "), "{}", out);
    }
    let out = output(&TASKS.invoke(b"[]"));
    assert_eq!(out, error_output("permanent", "InputError", "invalid job input: invalid type: sequence, expected the job input, a JSON object at line 1 column 0"));
}

#[test]
fn input_lenient() {
    for input in [
        r#"{"function":"all_opt"}"#,
        r#"{"function":"all_opt","args":null,"kwargs":null}"#,
        r#"{"function":"all_opt","future_field":{"x":[1,2]},"job_try":1}"#,
        r#"{"function":"none","function":"all_opt","job_id":null}"#,
        r#" { "function" : "all_opt" , "args" : [ 5 ] } "#,
        r#"{"function":"all_\u006fpt","kwargs":{"\u0061":5}}"#,
    ] {
        let out = output(&TASKS.invoke(input.as_bytes()));
        assert!(out.starts_with(r#"{"result":"#), "input {}: {}", input, out);
    }
    assert_eq!(output(&TASKS.invoke(br#"{"function":"all_opt","args":[ {"a" : 1} ]}"#)),
        type_error(r#"all_opt() argument "a" (position 1): invalid type: map, expected i64"#));
}

#[test]
fn invalid_unicode_read_as_go_does() {
    // Each byte of invalid UTF-8 and each lone UTF-16 surrogate escape is U+FFFD, as in Go.
    assert_eq!(
        output(&TASKS.invoke(b"{\"function\": \"none\xff\"}")),
        error_output("permanent", "UnknownTask", "this module has no task named \"none\u{fffd}\"")
    );
    assert_eq!(
        output(&TASKS.invoke(b"{\"function\":\"mail\",\"args\":[\"a\xe0\xa0b\",\"\\ud800\\ud83d\\ude00\",\"\\udc00\"]}")),
        "{\"result\":{\"body\":\"\u{fffd}\",\"subject\":\"\u{fffd}\u{1f600}\",\"to\":\"a\u{fffd}\u{fffd}b\"}}"
    );
    assert_eq!(
        output(&TASKS.invoke(br#"{"function":"mail","args":["a","b","c"],"kwargs":{"x\udfff":1}}"#)),
        type_error("mail() got an unexpected keyword argument \"x\u{fffd}\"")
    );
    // An input that stays invalid once repaired is still an InputError.
    let out = output(&TASKS.invoke(b"{\"function\":\"mail\xff\",}"));
    assert!(out.contains(r#""type":"InputError""#), "{}", out);
}

#[test]
fn context_fields() {
    let input = br#"{"job_id":"j-9","function":"ctx_fields","job_try":3,"enqueue_time":"2026-01-15T10:30:00.123456789+02:00","queue_name":"q","worker_id":"w","args":[],"kwargs":{}}"#;
    let out = output(&TASKS.invoke(input));
    let v: Value = serde_json::from_str(&out).unwrap();
    // Context is not Serialize; ctx_fields returns it through its Debug-free fields.
    assert_eq!(v["result"]["job_id"], "j-9");
    assert_eq!(v["result"]["function"], "ctx_fields");
    assert_eq!(v["result"]["job_try"], 3);
    assert_eq!(v["result"]["enqueue_time"], "2026-01-15T10:30:00.123456789+02:00");
    assert_eq!(v["result"]["queue"], "q");
    assert_eq!(v["result"]["worker_id"], "w");
}

#[test]
fn results_and_errors() {
    let cases: &[(&str, &str, String)] = &[
        ("unit", "", r#"{"result":null}"#.into()),
        ("html", "", "{\"result\":\"<a href='x'>&</a>\u{2028}\"}".into()),
        ("retry", "", r#"{"error":{"kind":"retry","type":"Retry","message":"retry after 5s","retry_after_ms":5000}}"#.into()),
        ("retry_typed", "", r#"{"error":{"kind":"retry","type":"SMTPBusy","message":"server busy","retry_after_ms":1500}}"#.into()),
        ("permanent", "", r#"{"error":{"kind":"permanent","type":"ValueError","message":"empty"}}"#.into()),
        ("ordinary", "", r#"{"error":{"kind":"error","type":"Error","message":"failed"}}"#.into()),
        ("std_error", r#"["12"]"#, r#"{"result":12}"#.into()),
        ("std_error", r#"["x"]"#, r#"{"error":{"kind":"error","type":"ParseIntError","message":"invalid digit found in string"}}"#.into()),
        ("io_error", "", r#"{"error":{"kind":"error","type":"Error","message":"disk full"}}"#.into()),
        ("bad_result", "", error_output("permanent", "ResultError", "cannot encode the task's result as JSON: no JSON for you")),
        ("map_key_result", "", error_output("permanent", "ResultError", "cannot encode the task's result as JSON: key must be a string")),
    ];
    for (f, args, want) in cases {
        assert_eq!(&call(f, args, ""), want, "task {} {}", f, args);
    }
}

#[test]
fn panics_unwind_natively() {
    take_logs();
    for (what, msg) in [("str", "boom"), ("string", "boom 42"), ("index", "index out of bounds: the len is 0 but the index is 5")] {
        assert_eq!(call("panics", &format!(r#"["{}"]"#, what), ""), error_output("error", "Panic", msg));
        let logs = take_logs();
        assert_eq!(logs.len(), 1, "{:?}", logs);
        assert_eq!((logs[0].level, logs[0].msg.as_str()), (Level::Error, "task panicked"));
        assert_eq!(logs[0].attrs, serde_json::json!({ "panic": msg }).to_string());
    }
    assert_eq!(call("panics", r#"["no"]"#, ""), r#"{"result":"fine"}"#);
}

#[test]
fn logging() {
    take_logs();
    assert_eq!(call("logs", r#"["ann@example.com"]"#, ""), r#"{"result":null}"#);
    let got: Vec<(Level, String, String)> = take_logs().into_iter().map(|r| (r.level, r.msg, r.attrs)).collect();
    let want = vec![
        (Level::Debug, "d".to_string(), String::new()),
        (Level::Info, "i".into(), String::new()),
        (Level::Warn, "w".into(), String::new()),
        (Level::Error, "e".into(), String::new()),
        (
            Level::Info,
            "sending email".into(),
            r#"{"to":"ann@example.com","try":1,"tags":["a","b"],"quote\"key":{"k":1},"bad":"!ERROR: no JSON for you"}"#.into(),
        ),
        (Level::Warn, "free".into(), String::new()),
    ];
    assert_eq!(got, want);
}

#[test]
fn manifest() {
    let m: Value = serde_json::from_str(&TASKS.manifest_json()).unwrap();
    assert_eq!(m["sdk"], "arqhost-rust/1");
    let names: Vec<&str> = m["tasks"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(names.len(), 25);
    assert_eq!(names[0], "mail");
    assert_eq!(names[23], "renamed.task:v1-x");
    assert_eq!(TASKS.names().collect::<Vec<_>>(), names);
}

fn point(_: &Context, p: Point) -> arqhost::Result<Point> {
    Ok(p)
}

#[test]
fn call_task_directly() {
    let ctx = Context { job_try: 3, ..Default::default() };
    assert_eq!(mail(&ctx, "a".into(), "b".into(), "c".into()).unwrap()["to"], "a");
}

;; wat2wasm: --debug-names
;; Names of functions (imported and defined) and locals, for the name section test.
(module $names
  (import "env" "log" (func $log (param i32)))
  (import "env" "clock" (func $clock (result i64)))
  (global $g (mut i32) (i32.const 0))
  (func $first (param $x i32) (local $tmp i32)
    (local.set $tmp (local.get $x))
    (global.set $g (local.get $tmp))
    (call $log (local.get $tmp)))
  (func $second (result i32) (i32.wrap_i64 (call $clock)))
  (func $third (param $a i32) (param $b i32) (result i32)
    (block $out (loop $again (br_if $out (local.get $a)) (br $again)))
    (local.get $b))
  (export "first" (func $first)))

;; Test fixture: imports from arqhost_rt, the namespace the host reserves for the check function it
;; adds to every module (abi/ABI.md section 6). The host must refuse to load it.
(module
  (import "arqhost_rt" "check" (func $check (result i32)))
  (memory (export "memory") 1)
  (func (export "arqhost_abi_version") (result i32) (i32.const 1))
  (func (export "arqhost_alloc") (param $n i32) (result i32) (i32.const 4096))
  (data (i32.const 16) "{\"tasks\":[\"wat_reserved\"],\"sdk\":\"wat\"}")
  (func (export "arqhost_manifest") (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 38)))
  (data (i32.const 256) "{\"result\":null}")
  (func (export "arqhost_run") (param i32 i32) (result i64)
    (drop (call $check))
    (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 15))))

;; Test fixture: traps in its start function (the wasm start section, run when the module is
;; instantiated): loading it must fail with the trap named, and the worker keep serving.
;; Built by "make modules" with wat2wasm; see abi/ABI.md for the exports.
(module
  (func $boom unreachable)
  (start $boom)
  (memory (export "memory") 1)
  (func (export "arqhost_abi_version") (result i32) (i32.const 1))
  (func (export "arqhost_alloc") (param $n i32) (result i32) (i32.const 4096))
  (data (i32.const 16) "{\"tasks\":[\"wat_starttrap\"],\"sdk\":\"wat\"}")
  (func (export "arqhost_manifest") (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 39)))
  (data (i32.const 256) "{\"result\":null}")
  (func (export "arqhost_run") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 15))))

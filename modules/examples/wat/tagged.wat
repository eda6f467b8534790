;; Test fixture for hot swap: task "wat_tagged" returns the string "v000". Tests make other
;; versions of the module by patching those four bytes in the .wasm file ("v001", "v002", ...),
;; so that each job's result shows which version of the code ran it.
(module
  (memory (export "memory") 1)
  (func (export "arqhost_abi_version") (result i32) (i32.const 1))
  (func (export "arqhost_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $n) (i32.const 69631)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 4096))
  (data (i32.const 16) "{\"tasks\":[\"wat_tagged\"],\"sdk\":\"wat\"}")
  (func (export "arqhost_manifest") (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 36)))
  (data (i32.const 256) "{\"result\":\"v000\"}")
  (func (export "arqhost_run") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 17))))

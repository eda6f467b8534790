;; Function references: call_indirect through a table filled by element segments of several
;; encodings, ref.func in a global initializer and in element expressions, a declarative segment,
;; a start function, and an export of a function that is also referenced by index.
(module
  (import "env" "add" (func $host_add (param i32 i32) (result i32)))
  (type $binop (func (param i32 i32) (result i32)))
  (table $t 8 funcref)
  (table $u 4 funcref)
  (global $started (mut i32) (i32.const 0))
  (global $fref funcref (ref.func $mul))

  (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binop) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (export "mul") (type $binop) (i32.mul (local.get 0) (local.get 1)))
  (func $max (type $binop)
    (select (local.get 0) (local.get 1) (i32.gt_s (local.get 0) (local.get 1))))
  (func $via_host (type $binop) (call $host_add (local.get 0) (local.get 1)))

  ;; flags 0: active, table 0, function indices
  (elem (i32.const 0) $add $sub)
  ;; flags 4: active, table 0, expressions
  (elem (i32.const 2) funcref (ref.func $mul) (ref.null func) (ref.func $via_host))
  ;; flags 2: active, explicit table, function indices
  (elem (table $u) (i32.const 0) func $max $add)
  ;; flags 6: active, explicit table, expressions (the null keeps them expressions)
  (elem (table $u) (i32.const 2) funcref (ref.func $sub) (ref.null func))
  ;; flags 3: declarative, so that ref.func in code may name $max
  (elem declare func $max)
  ;; flags 5: passive, expressions
  (elem $late funcref (ref.func $max) (ref.null func) (ref.func $via_host))
  ;; flags 7: declarative, expressions
  (elem declare funcref (ref.func $sub) (ref.null func))
  ;; flags 1: passive, function indices
  (elem $later func $sub $mul)

  ;; apply op (a table 0 slot) to a and b
  (func (export "apply") (param $op i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect $t (type $binop) (local.get $a) (local.get $b) (local.get $op)))
  (func (export "apply_u") (param $op i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect $u (type $binop) (local.get $a) (local.get $b) (local.get $op)))

  ;; store the global's function reference and a ref.func from code in table slots, then call them
  (func (export "refs") (param $a i32) (param $b i32) (result i32)
    (table.set $t (i32.const 5) (global.get $fref))
    (table.set $t (i32.const 6) (ref.func $max))
    (i32.add
      (call_indirect $t (type $binop) (local.get $a) (local.get $b) (i32.const 5))
      (call_indirect $t (type $binop) (local.get $a) (local.get $b) (i32.const 6))))

  (func (export "is_null") (param $op i32) (result i32)
    (ref.is_null (table.get $t (local.get $op))))

  ;; the sum of applying every non-null slot of table 0 in a loop
  (func (export "fold") (param $a i32) (param $b i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $next
      (if (i32.eqz (ref.is_null (table.get $t (local.get $i))))
        (then (local.set $acc (i32.add (local.get $acc)
          (call_indirect $t (type $binop) (local.get $a) (local.get $b) (local.get $i))))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 5))))
    (local.get $acc))

  ;; table.init from the passive segments, then call slot 7 (from $late) and slot 4 (from $later)
  (func (export "late") (param $a i32) (param $b i32) (result i32)
    (table.init $t $late (i32.const 5) (i32.const 0) (i32.const 3))
    (table.init $t $later (i32.const 3) (i32.const 0) (i32.const 2))
    (i32.add
      (call_indirect $t (type $binop) (local.get $a) (local.get $b) (i32.const 7))
      (call_indirect $t (type $binop) (local.get $a) (local.get $b) (i32.const 4))))

  (func $init (global.set $started (i32.add (global.get $started) (i32.const 41))))
  (start $init)
  (func (export "started") (result i32) (global.get $started))
  (export "add" (func $add))
  (export "table" (table $t)))

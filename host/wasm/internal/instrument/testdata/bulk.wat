;; Bulk memory and table instructions: memory.copy, memory.fill, memory.init, data.drop,
;; table.init, elem.drop, table.copy, table.grow, table.size, table.fill.
(module
  (memory 1)
  (table $t 4 funcref)
  (type $unop (func (param i32) (result i32)))
  (data $hello "hello, world")
  (elem $fns func $inc $dbl $neg)

  (func $inc (type $unop) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $unop) (i32.shl (local.get 0) (i32.const 1)))
  (func $neg (type $unop) (i32.sub (i32.const 0) (local.get 0)))

  ;; copy "hello" to 100, fill 3 bytes with '!', init "world" at 200, then sum the bytes at 100..110
  ;; and 200..205 in a loop; data.drop afterwards (a second call traps in memory.init).
  (func (export "mem") (result i32)
    (local $i i32) (local $acc i32)
    (memory.init $hello (i32.const 0) (i32.const 0) (i32.const 12))
    (memory.copy (i32.const 100) (i32.const 0) (i32.const 5))
    (memory.fill (i32.const 105) (i32.const 33) (i32.const 3))
    (memory.init $hello (i32.const 200) (i32.const 7) (i32.const 5))
    (data.drop $hello)
    (loop $next
      (local.set $acc (i32.add (local.get $acc)
        (i32.add (i32.load8_u offset=100 (local.get $i)) (i32.load8_u offset=200 (local.get $i)))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
    (local.get $acc))

  ;; table.init the three functions at 1, copy slot 1 to 0, grow by 2 with $neg, fill the last two
  ;; with slot 2, drop the segment, and apply every slot to x.
  (func (export "tables") (param $x i32) (result i32)
    (local $i i32) (local $acc i32)
    (table.init $t $fns (i32.const 1) (i32.const 0) (i32.const 3))
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (drop (table.grow $t (ref.func $neg) (i32.const 2)))
    (table.fill $t (i32.const 4) (table.get $t (i32.const 2)) (i32.const 2))
    (elem.drop $fns)
    (loop $next
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3))
        (call_indirect $t (type $unop) (local.get $x) (local.get $i))))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (table.size $t))))
    (local.get $acc))

  (func (export "grow") (result i32) (memory.grow (i32.const 1))))

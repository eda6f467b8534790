;; Loops: a sum, nested loops, a loop with parameters and results, br_table, an endless loop.
(module
  ;; 1 + 2 + ... + n
  (func (export "sum") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  ;; sum over i < n, j < m of i*j, with a block and an if inside the inner loop
  (func (export "nested") (param $n i32) (param $m i32) (result i64)
    (local $i i32) (local $j i32) (local $acc i64)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (block $skip
          (br_if $skip (i32.eqz (local.get $m)))
          (if (i32.and (local.get $j) (i32.const 1))
            (then (local.set $acc (i64.add (local.get $acc)
                    (i64.extend_i32_u (i32.mul (local.get $i) (local.get $j))))))
            (else (local.set $acc (i64.add (local.get $acc)
                    (i64.extend_i32_u (i32.mul (local.get $i) (local.get $j))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $m))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))

  ;; A loop whose parameter is the running value: doubles x n times (multi-value block types).
  (func (export "doubling") (param $x i32) (param $n i32) (result i32)
    (local.get $x)
    (loop $again (param i32) (result i32)
      (i32.shl (i32.const 1))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again)))

  ;; A block with two results and a parameter.
  (func (export "swap_sum") (param $a i32) (param $b i32) (result i32)
    (local.get $a)
    (block (param i32) (result i32 i32)
      (local.get $b))
    (i32.sub))

  ;; br_table: counts how often each of four cases is taken for 0..n-1 (mod 5), weighted.
  (func (export "dispatch") (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (block $d
        (block $c3
          (block $c2
            (block $c1
              (block $c0
                (br_table $c0 $c1 $c2 $c3 $d (i32.rem_u (local.get $n) (i32.const 5))))
              (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
              (br $d))
            (local.set $acc (i32.add (local.get $acc) (i32.const 10)))
            (br $d))
          (local.set $acc (i32.add (local.get $acc) (i32.const 100)))
          (br $d))
        (local.set $acc (i32.add (local.get $acc) (i32.const 1000))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))

  ;; Never returns.
  (func (export "spin")
    (loop $forever (br $forever)))

  ;; Straight-line code: no loop, one check at entry.
  (func (export "straight") (param i32) (result i32)
    (i32.mul (i32.add (local.get 0) (i32.const 3)) (i32.const 7))))

;; SIMD: v128.const, i8x16.shuffle, extract and replace lane, load and store lane, load zero, in
;; and around a loop.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")

  ;; the sum of the 16 bytes at 0, read as i8x16, after reversing them with a shuffle
  (func (export "shuffle_sum") (result i32)
    (local $v v128) (local $i i32) (local $acc i32)
    (local.set $v (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (v128.load (i32.const 0))
                    (v128.const i32x4 0 0 0 0)))
    (loop $next
      (local.set $acc (i32.add (local.get $acc) (i8x16.extract_lane_u 0 (local.get $v))))
      (local.set $v (i8x16.shuffle 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 (local.get $v)
                      (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))
      (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 16))))
    (local.get $acc))

  ;; load byte lane 3 from address a into a constant vector, add a splat, extract lanes
  (func (export "lanes") (param $a i32) (result i64)
    (local $v v128)
    (local.set $v (v128.load8_lane 3 (local.get $a) (v128.const i64x2 0 0)))
    (local.set $v (i16x8.add (local.get $v) (i16x8.splat (i32.const 256))))
    (local.set $v (i32x4.replace_lane 2 (local.get $v) (i32.const 7)))
    (v128.store32_lane 1 (i32.const 64) (local.get $v))
    (i64.add
      (i64.extend_i32_u (i32.load (i32.const 64)))
      (i64.add (i64x2.extract_lane 0 (local.get $v))
               (i64x2.extract_lane 0 (v128.load64_zero offset=8 (i32.const 0))))))

  ;; f64x2 arithmetic
  (func (export "fma") (param $x f64) (param $y f64) (result f64)
    (f64x2.extract_lane 1
      (f64x2.add (f64x2.mul (f64x2.splat (local.get $x)) (v128.const f64x2 2.5 -1.5))
                 (f64x2.replace_lane 1 (f64x2.splat (local.get $y)) (f64.const 0.25))))))

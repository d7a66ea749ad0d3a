;; Unmask's relaxed-SIMD variant of the int8 matrix product.
;;
;; One kernel, matmul_q8, with the signature and the exact results of
;; kernels.wat's. i16x8.relaxed_dot_i8x16_i7x16_s multiplies 16 int8 by 16
;; values in [0, 127]; since both of our operands are signed, each product
;; is taken as (w·sign x)·|x|. That is exact when no byte is -128 (|-128|
;; and -(-128) do not fit), which holds for everything quant.Quantize and
;; QuantizeActivations produce; otherwise the kernel hands the whole call to
;; the SIMD128 kernel. Rows left over after blocks of 4 go there too.
;;
;; Whether this beats kernels.wat depends on the engine and the processor:
;; on x86 without VNNI, V8 turns the relaxed dot into pmaddubsw and the sign
;; handling costs more than it saves (about 25 against 40 GOPS on a 2-core
;; AMD EPYC under Node 20), so the loader times both and prefers the faster.
;; (i32x4.relaxed_dot_i8x16_i7x16_add_s, which fuses the accumulation, was
;; slower still there, and V8 11's baseline compiler got it wrong.)
;;
;; Assemble with wat2wasm --enable-relaxed-simd (wabt 1.0.32 knows only the
;; older names: i16x8.dot_i8x16_i7x16_s is i16x8.relaxed_dot_i8x16_i7x16_s).
(module
  (import "env" "memory" (memory 0))
  (import "simd" "matmul_q8" (func $simd_matmul_q8
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "simd" "hsum4_i32" (func $hsum4_i32 (param v128 v128 v128 v128) (result v128)))
  (import "simd" "tail4_i8" (func $tail4_i8 (param i32 i32 i32 i32) (result v128)))
  (import "simd" "gather4_f32" (func $gather4_f32 (param i32 i32) (result v128)))

  ;; has_min_i8 reports whether any of the n bytes at p is -128.
  (func $has_min_i8 (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $acc v128)
    (local.set $end (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -16))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $acc (v128.or (local.get $acc)
        (i8x16.eq (v128.load (local.get $p)) (v128.const i8x16 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128 -128))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next)))
    (local.set $end (i32.add (local.get $end) (i32.and (local.get $n) (i32.const 15))))
    (block $tail_done (loop $tail_next
      (br_if $tail_done (i32.ge_u (local.get $p) (local.get $end)))
      (if (i32.eq (i32.load8_s (local.get $p)) (i32.const -128)) (then (return (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $tail_next)))
    (v128.any_true (local.get $acc)))

  ;; rq8_tile4x2 is kernels.wat's q8_tile4x2 with 16-byte relaxed dot products:
  ;; w·x = (w·sign x)·|x|, with |x| <= 127 as the i7 operand (no -128 anywhere).
  (func $rq8_tile4x2 (param $yp i32) (param $ldy i32) (param $xqp i32) (param $xsp i32)
                     (param $wqp i32) (param $wsp i32) (param $cols i32) (param $group i32) (param $G i32)
    (local $g i32) (local $i i32) (local $n16 i32) (local $n8 i32) (local $off i32)
    (local $xp0 i32) (local $xp1 i32) (local $wp0 i32) (local $wp1 i32) (local $wp2 i32) (local $wp3 i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $x0 v128) (local $m0 v128) (local $x1 v128) (local $m1 v128) (local $w v128) (local $vws v128)
    (local $s0 v128) (local $f0 v128) (local $s1 v128) (local $f1 v128)
    (local.set $n16 (i32.and (local.get $group) (i32.const -16)))
    (local.set $n8 (i32.and (local.get $group) (i32.const -8)))
    (block $groups_done (loop $group_next
      (br_if $groups_done (i32.ge_u (local.get $g) (local.get $G)))
      (local.set $off (i32.mul (local.get $g) (local.get $group)))
      (local.set $xp0 (i32.add (local.get $xqp) (local.get $off)))
      (local.set $xp1 (i32.add (local.get $xp0) (local.get $cols)))
      (local.set $wp0 (i32.add (local.get $wqp) (local.get $off)))
      (local.set $wp1 (i32.add (local.get $wp0) (local.get $cols)))
      (local.set $wp2 (i32.add (local.get $wp1) (local.get $cols)))
      (local.set $wp3 (i32.add (local.get $wp2) (local.get $cols)))
      (local.set $a00 (v128.const i32x4 0 0 0 0))
      (local.set $a01 (v128.const i32x4 0 0 0 0))
      (local.set $a10 (v128.const i32x4 0 0 0 0))
      (local.set $a11 (v128.const i32x4 0 0 0 0))
      (local.set $a20 (v128.const i32x4 0 0 0 0))
      (local.set $a21 (v128.const i32x4 0 0 0 0))
      (local.set $a30 (v128.const i32x4 0 0 0 0))
      (local.set $a31 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $c16_done (loop $c16_next
        (br_if $c16_done (i32.ge_u (local.get $i) (local.get $n16)))
        (local.set $x0 (v128.load (i32.add (local.get $xp0) (local.get $i))))
        (local.set $m0 (i8x16.shr_s (local.get $x0) (i32.const 7)))
        (local.set $x0 (i8x16.abs (local.get $x0)))
        (local.set $x1 (v128.load (i32.add (local.get $xp1) (local.get $i))))
        (local.set $m1 (i8x16.shr_s (local.get $x1) (i32.const 7)))
        (local.set $x1 (i8x16.abs (local.get $x1)))
        (local.set $w (v128.load (i32.add (local.get $wp0) (local.get $i))))
        (local.set $a00 (i32x4.add (local.get $a00) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $a01 (i32x4.add (local.get $a01) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m1)) (local.get $m1)) (local.get $x1)))))
        (local.set $w (v128.load (i32.add (local.get $wp1) (local.get $i))))
        (local.set $a10 (i32x4.add (local.get $a10) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $a11 (i32x4.add (local.get $a11) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m1)) (local.get $m1)) (local.get $x1)))))
        (local.set $w (v128.load (i32.add (local.get $wp2) (local.get $i))))
        (local.set $a20 (i32x4.add (local.get $a20) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $a21 (i32x4.add (local.get $a21) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m1)) (local.get $m1)) (local.get $x1)))))
        (local.set $w (v128.load (i32.add (local.get $wp3) (local.get $i))))
        (local.set $a30 (i32x4.add (local.get $a30) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $a31 (i32x4.add (local.get $a31) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m1)) (local.get $m1)) (local.get $x1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $c16_next)))
      ;; 8 bytes left: the plain SIMD step.
      (if (i32.lt_u (local.get $i) (local.get $n8)) (then
        (local.set $x0 (v128.load8x8_s (i32.add (local.get $xp0) (local.get $i))))
        (local.set $x1 (v128.load8x8_s (i32.add (local.get $xp1) (local.get $i))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp0) (local.get $i))))
        (local.set $a00 (i32x4.add (local.get $a00) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $a01 (i32x4.add (local.get $a01) (i32x4.dot_i16x8_s (local.get $w) (local.get $x1))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp1) (local.get $i))))
        (local.set $a10 (i32x4.add (local.get $a10) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $a11 (i32x4.add (local.get $a11) (i32x4.dot_i16x8_s (local.get $w) (local.get $x1))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp2) (local.get $i))))
        (local.set $a20 (i32x4.add (local.get $a20) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $a21 (i32x4.add (local.get $a21) (i32x4.dot_i16x8_s (local.get $w) (local.get $x1))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp3) (local.get $i))))
        (local.set $a30 (i32x4.add (local.get $a30) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $a31 (i32x4.add (local.get $a31) (i32x4.dot_i16x8_s (local.get $w) (local.get $x1))))
        (local.set $i (local.get $n8))))
      (local.set $s0 (call $hsum4_i32 (local.get $a00) (local.get $a10) (local.get $a20) (local.get $a30)))
      (local.set $s1 (call $hsum4_i32 (local.get $a01) (local.get $a11) (local.get $a21) (local.get $a31)))
      (if (i32.lt_u (local.get $n8) (local.get $group)) (then
        (local.set $s0 (i32x4.add (local.get $s0) (call $tail4_i8
          (i32.add (local.get $xp0) (local.get $n8)) (i32.add (local.get $wp0) (local.get $n8))
          (local.get $cols) (i32.sub (local.get $group) (local.get $n8)))))
        (local.set $s1 (i32x4.add (local.get $s1) (call $tail4_i8
          (i32.add (local.get $xp1) (local.get $n8)) (i32.add (local.get $wp0) (local.get $n8))
          (local.get $cols) (i32.sub (local.get $group) (local.get $n8)))))))
      (local.set $vws (call $gather4_f32
        (i32.add (local.get $wsp) (i32.shl (local.get $g) (i32.const 2)))
        (i32.shl (local.get $G) (i32.const 2))))
      (local.set $f0 (f32x4.add (local.get $f0) (f32x4.mul
        (f32x4.mul (v128.load32_splat (i32.add (local.get $xsp) (i32.shl (local.get $g) (i32.const 2)))) (local.get $vws))
        (f32x4.convert_i32x4_s (local.get $s0)))))
      (local.set $f1 (f32x4.add (local.get $f1) (f32x4.mul
        (f32x4.mul (v128.load32_splat (i32.add (local.get $xsp) (i32.shl (i32.add (local.get $g) (local.get $G)) (i32.const 2)))) (local.get $vws))
        (f32x4.convert_i32x4_s (local.get $s1)))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $group_next)))
    (v128.store (local.get $yp) (local.get $f0))
    (v128.store (i32.add (local.get $yp) (local.get $ldy)) (local.get $f1)))

  ;; rq8_tile4x1 is rq8_tile4x2 for the single token t.
  (func $rq8_tile4x1 (param $yp i32) (param $xqp i32) (param $xsp i32)
                     (param $wqp i32) (param $wsp i32) (param $cols i32) (param $group i32) (param $G i32)
    (local $g i32) (local $i i32) (local $n16 i32) (local $n8 i32) (local $off i32)
    (local $xp0 i32) (local $wp0 i32) (local $wp1 i32) (local $wp2 i32) (local $wp3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $x0 v128) (local $m0 v128) (local $w v128) (local $vws v128)
    (local $s0 v128) (local $f0 v128)
    (local.set $n16 (i32.and (local.get $group) (i32.const -16)))
    (local.set $n8 (i32.and (local.get $group) (i32.const -8)))
    (block $groups_done (loop $group_next
      (br_if $groups_done (i32.ge_u (local.get $g) (local.get $G)))
      (local.set $off (i32.mul (local.get $g) (local.get $group)))
      (local.set $xp0 (i32.add (local.get $xqp) (local.get $off)))
      (local.set $wp0 (i32.add (local.get $wqp) (local.get $off)))
      (local.set $wp1 (i32.add (local.get $wp0) (local.get $cols)))
      (local.set $wp2 (i32.add (local.get $wp1) (local.get $cols)))
      (local.set $wp3 (i32.add (local.get $wp2) (local.get $cols)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $c16_done (loop $c16_next
        (br_if $c16_done (i32.ge_u (local.get $i) (local.get $n16)))
        (local.set $x0 (v128.load (i32.add (local.get $xp0) (local.get $i))))
        (local.set $m0 (i8x16.shr_s (local.get $x0) (i32.const 7)))
        (local.set $x0 (i8x16.abs (local.get $x0)))
        (local.set $w (v128.load (i32.add (local.get $wp0) (local.get $i))))
        (local.set $a0 (i32x4.add (local.get $a0) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $w (v128.load (i32.add (local.get $wp1) (local.get $i))))
        (local.set $a1 (i32x4.add (local.get $a1) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $w (v128.load (i32.add (local.get $wp2) (local.get $i))))
        (local.set $a2 (i32x4.add (local.get $a2) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $w (v128.load (i32.add (local.get $wp3) (local.get $i))))
        (local.set $a3 (i32x4.add (local.get $a3) (i32x4.extadd_pairwise_i16x8_s (i16x8.dot_i8x16_i7x16_s
          (i8x16.sub (v128.xor (local.get $w) (local.get $m0)) (local.get $m0)) (local.get $x0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $c16_next)))
      ;; 8 bytes left: the plain SIMD step.
      (if (i32.lt_u (local.get $i) (local.get $n8)) (then
        (local.set $x0 (v128.load8x8_s (i32.add (local.get $xp0) (local.get $i))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp0) (local.get $i))))
        (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp1) (local.get $i))))
        (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp2) (local.get $i))))
        (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $w (v128.load8x8_s (i32.add (local.get $wp3) (local.get $i))))
        (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (local.get $w) (local.get $x0))))
        (local.set $i (local.get $n8))))
      (local.set $s0 (call $hsum4_i32 (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))
      (if (i32.lt_u (local.get $n8) (local.get $group)) (then
        (local.set $s0 (i32x4.add (local.get $s0) (call $tail4_i8
          (i32.add (local.get $xp0) (local.get $n8)) (i32.add (local.get $wp0) (local.get $n8))
          (local.get $cols) (i32.sub (local.get $group) (local.get $n8)))))))
      (local.set $vws (call $gather4_f32
        (i32.add (local.get $wsp) (i32.shl (local.get $g) (i32.const 2)))
        (i32.shl (local.get $G) (i32.const 2))))
      (local.set $f0 (f32x4.add (local.get $f0) (f32x4.mul
        (f32x4.mul (v128.load32_splat (i32.add (local.get $xsp) (i32.shl (local.get $g) (i32.const 2)))) (local.get $vws))
        (f32x4.convert_i32x4_s (local.get $s0)))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $group_next)))
    (v128.store (local.get $yp) (local.get $f0)))

  ;; matmul_q8 is kernels.wat's matmul_q8 (quant.matMulQ8Generic), bit for bit.
  (func $relaxed_matmul_q8 (export "matmul_q8") (param $y i32) (param $xq i32) (param $xs i32) (param $wq i32) (param $ws i32)
        (param $T i32) (param $rows i32) (param $cols i32) (param $group i32) (param $r0 i32) (param $r1 i32)
    (local $G i32) (local $o i32) (local $t i32) (local $ldy i32)
    (if (i32.or
          (call $has_min_i8 (local.get $xq) (i32.mul (local.get $T) (local.get $cols)))
          (call $has_min_i8 (i32.add (local.get $wq) (i32.mul (local.get $r0) (local.get $cols)))
                            (i32.mul (i32.sub (local.get $r1) (local.get $r0)) (local.get $cols))))
      (then
        (call $simd_matmul_q8 (local.get $y) (local.get $xq) (local.get $xs) (local.get $wq) (local.get $ws)
          (local.get $T) (local.get $rows) (local.get $cols) (local.get $group) (local.get $r0) (local.get $r1))
        (return)))
    (local.set $G (i32.div_u (local.get $cols) (local.get $group)))
    (local.set $ldy (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $o (local.get $r0))
    (block $rows4_done (loop $rows4_next
      (br_if $rows4_done (i32.gt_u (i32.add (local.get $o) (i32.const 4)) (local.get $r1)))
      (local.set $t (i32.const 0))
      (block $tok2_done (loop $tok2_next
        (br_if $tok2_done (i32.gt_u (i32.add (local.get $t) (i32.const 2)) (local.get $T)))
        (call $rq8_tile4x2
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $rows)) (local.get $o)) (i32.const 2)))
          (local.get $ldy)
          (i32.add (local.get $xq) (i32.mul (local.get $t) (local.get $cols)))
          (i32.add (local.get $xs) (i32.shl (i32.mul (local.get $t) (local.get $G)) (i32.const 2)))
          (i32.add (local.get $wq) (i32.mul (local.get $o) (local.get $cols)))
          (i32.add (local.get $ws) (i32.shl (i32.mul (local.get $o) (local.get $G)) (i32.const 2)))
          (local.get $cols) (local.get $group) (local.get $G))
        (local.set $t (i32.add (local.get $t) (i32.const 2)))
        (br $tok2_next)))
      (if (i32.lt_u (local.get $t) (local.get $T)) (then
        (call $rq8_tile4x1
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $rows)) (local.get $o)) (i32.const 2)))
          (i32.add (local.get $xq) (i32.mul (local.get $t) (local.get $cols)))
          (i32.add (local.get $xs) (i32.shl (i32.mul (local.get $t) (local.get $G)) (i32.const 2)))
          (i32.add (local.get $wq) (i32.mul (local.get $o) (local.get $cols)))
          (i32.add (local.get $ws) (i32.shl (i32.mul (local.get $o) (local.get $G)) (i32.const 2)))
          (local.get $cols) (local.get $group) (local.get $G))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $rows4_next)))
    (if (i32.lt_u (local.get $o) (local.get $r1)) (then
      (call $simd_matmul_q8 (local.get $y) (local.get $xq) (local.get $xs) (local.get $wq) (local.get $ws)
        (local.get $T) (local.get $rows) (local.get $cols) (local.get $group) (local.get $o) (local.get $r1)))))
)

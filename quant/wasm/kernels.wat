;; Unmask's WebAssembly SIMD kernels (SIMD128 only, no relaxed SIMD).
;;
;; The module imports the Go program's own linear memory as env.memory and
;; works on Go slices in place: every pointer argument is a byte address in
;; that memory, every length a count of elements. The Go bindings
;; (quant/kernels_wasm.go) check all bounds before calling; nothing here
;; reads or writes outside the ranges named in each function's comment.
;;
;; Each kernel's definition is its Go reference in quant/kernels_generic.go
;; (logit_stats: quant/logits.go). Every kernel of the int8 forward pass
;; (matmul_q8, quantize, attention, rmsnorm, silu_mul, rope, axpy_f32) and
;; the sampler's logit_stats agree with it bit for bit: the references fix
;; the order of every float sum (per vector lane, as here) and use this
;; file's exponential (quant.expf), so an int8 model gives the same logits
;; and the same generation on every kernel path. matmul_f32 and dot_f32
;; reorder their sums and agree to rounding.
;;
;; hsum4_i32, tail4_i8 and gather4_f32 are exported for
;; kernels_relaxed.wat, which also falls back to matmul_q8.
;;
;; Tiling: matrix products compute 4 output rows for 2 tokens at a time, so
;; each weight vector loaded is used twice and each activation vector four
;; times, with 8 accumulators held in registers. Rows are the outer loop,
;; so a block of 4 weight rows stays in L1 while the tokens stream by.
(module
  (import "env" "memory" (memory 0))

  ;; ---------------------------------------------------------------- helpers

  ;; hsum4_i32 returns (Σa, Σb, Σc, Σd): the lane sums of four i32x4.
  (func $hsum4_i32 (export "hsum4_i32") (param $a v128) (param $b v128) (param $c v128) (param $d v128) (result v128)
    (local $ab v128) (local $cd v128)
    ;; ab = (a0+a2, b0+b2, a1+a3, b1+b3)
    (local.set $ab (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b))))
    (local.set $cd (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d))))
    (i32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab) (local.get $cd))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab) (local.get $cd))))

  ;; hsum4_f32 is hsum4_i32 for f32x4.
  (func $hsum4_f32 (param $a v128) (param $b v128) (param $c v128) (param $d v128) (result v128)
    (local $ab v128) (local $cd v128)
    (local.set $ab (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b))))
    (local.set $cd (f32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab) (local.get $cd))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab) (local.get $cd))))

  ;; hsum_i32 is the sum of the four lanes of v.
  (func $hsum_i32 (param $v v128) (result i32)
    (local.set $v (i32x4.add (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v))))

  ;; hsum_f32 is the sum of the four lanes of v.
  (func $hsum_f32 (param $v v128) (result f32)
    (local.set $v (f32x4.add (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v))))

  ;; hmax_f32 is the largest lane of v (NaN if any lane is NaN).
  (func $hmax_f32 (param $v v128) (result f32)
    (local.set $v (f32x4.max (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (f32.max (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v))))

  ;; dot_i8 is Σ_{i<n} a[i]*b[i] over int8 at byte addresses a, b, in i32.
  (func $dot_i8 (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $s i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.mul
        (i32.load8_s (i32.add (local.get $a) (local.get $i)))
        (i32.load8_s (i32.add (local.get $b) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s))

  ;; tail4_i8 returns lanes j<4: dot_i8(x, w + j*ldw, n).
  (func $tail4_i8 (export "tail4_i8") (param $x i32) (param $w i32) (param $ldw i32) (param $n i32) (result v128)
    (i32x4.replace_lane 3
      (i32x4.replace_lane 2
        (i32x4.replace_lane 1
          (i32x4.splat (call $dot_i8 (local.get $x) (local.get $w) (local.get $n)))
          (call $dot_i8 (local.get $x) (i32.add (local.get $w) (local.get $ldw)) (local.get $n)))
        (call $dot_i8 (local.get $x) (i32.add (local.get $w) (i32.shl (local.get $ldw) (i32.const 1))) (local.get $n)))
      (call $dot_i8 (local.get $x) (i32.add (local.get $w) (i32.mul (local.get $ldw) (i32.const 3))) (local.get $n))))

  ;; dot_f32_scalar is Σ_{i<n} a[i]*b[i] over float32, in order.
  (func $dot_f32_scalar (param $a i32) (param $b i32) (param $n i32) (result f32)
    (local $s f32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (f32.add (local.get $s) (f32.mul
        (f32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))
        (f32.load (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s))

  ;; tail4_f32 returns lanes j<4: dot_f32_scalar(x, w + j*ldw, n), ldw in bytes.
  (func $tail4_f32 (param $x i32) (param $w i32) (param $ldw i32) (param $n i32) (result v128)
    (f32x4.replace_lane 3
      (f32x4.replace_lane 2
        (f32x4.replace_lane 1
          (f32x4.splat (call $dot_f32_scalar (local.get $x) (local.get $w) (local.get $n)))
          (call $dot_f32_scalar (local.get $x) (i32.add (local.get $w) (local.get $ldw)) (local.get $n)))
        (call $dot_f32_scalar (local.get $x) (i32.add (local.get $w) (i32.shl (local.get $ldw) (i32.const 1))) (local.get $n)))
      (call $dot_f32_scalar (local.get $x) (i32.add (local.get $w) (i32.mul (local.get $ldw) (i32.const 3))) (local.get $n))))

  ;; gather4_f32 returns lanes j<4: the float32 at p + j*stride (bytes).
  (func $gather4_f32 (export "gather4_f32") (param $p i32) (param $stride i32) (result v128)
    (f32x4.replace_lane 3
      (f32x4.replace_lane 2
        (f32x4.replace_lane 1
          (v128.load32_splat (local.get $p))
          (f32.load (i32.add (local.get $p) (local.get $stride))))
        (f32.load (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1)))))
      (f32.load (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3))))))

  ;; exp4 is quant.expf per lane (Cephes expf: x = n·ln2 + r with |r| <= ln2/2,
  ;; e^r by a degree-6 polynomial, 2^n built in the exponent field; about
  ;; 2 ulp). n = round(x·log2 e) comes from adding and removing 1.5·2^23,
  ;; which leaves n in the low bits of the float, avoiding floor and
  ;; float-to-int conversions (slow in V8 on x64). Inputs are clamped to
  ;; [-88, 88]: below -87.7 the result is 0 (e^x < 1e-38 there), and above
  ;; 88 float32 e^x would overflow (pmin/pmax, single instructions, since
  ;; the NaN handling of min/max does not matter here). The loops of
  ;; exp_shift and silu_mul repeat this body inline with the constants in
  ;; locals: V8 does not inline wasm calls, and a call per vector cost more
  ;; than the exponential itself.
  (func $exp4 (param $x v128) (result v128)
    (local $t v128) (local $n v128) (local $y v128) (local $z v128)
    (local.set $x (f32x4.pmax (f32x4.pmin (local.get $x) (v128.const f32x4 88 88 88 88))
                              (v128.const f32x4 -88 -88 -88 -88)))
    (local.set $t (f32x4.add
      (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
      (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $x (f32x4.sub (local.get $x)
      (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $x (f32x4.sub (local.get $x)
      (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $x)
      (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
      (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
      (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
      (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
      (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $x))
      (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $y (f32x4.add
      (f32x4.add (f32x4.mul (local.get $y) (local.get $z)) (local.get $x))
      (v128.const f32x4 1 1 1 1)))
    ;; bits(t) = 0x4b400000 + n, so (bits(t) - 0x4b400000 + 127) << 23 is 2^n
    ;; (0 for n = -127).
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.sub (local.get $t) (v128.const i32x4 0x4b3fff81 0x4b3fff81 0x4b3fff81 0x4b3fff81))
                 (i32.const 23))))

  ;; ------------------------------------------------------------ int8 matmul

  ;; q8_tile4x2 computes the 4x2 tile of matmul_q8 with rows o..o+3 and
  ;; tokens t, t+1. Arguments point at the tile's corner:
  ;;   yp  = &y[t*rows+o], ldy = rows*4 (bytes between tokens)
  ;;   xqp = &xq[t*cols],  xsp = &xs[t*G]
  ;;   wqp = &wq[o*cols],  wsp = &ws[o*G]
  (func $q8_tile4x2 (param $yp i32) (param $ldy i32) (param $xqp i32) (param $xsp i32)
                    (param $wqp i32) (param $wsp i32) (param $cols i32) (param $group i32) (param $G i32)
    (local $g i32) (local $i i32) (local $n8 i32) (local $off i32)
    (local $xp0 i32) (local $xp1 i32) (local $wp0 i32) (local $wp1 i32) (local $wp2 i32) (local $wp3 i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $x0 v128) (local $x1 v128) (local $w v128)
    (local $s0 v128) (local $s1 v128) (local $vws v128) (local $f0 v128) (local $f1 v128)
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
      (local.set $a00 (v128.const i32x4 0 0 0 0)) (local.set $a01 (v128.const i32x4 0 0 0 0))
      (local.set $a10 (v128.const i32x4 0 0 0 0)) (local.set $a11 (v128.const i32x4 0 0 0 0))
      (local.set $a20 (v128.const i32x4 0 0 0 0)) (local.set $a21 (v128.const i32x4 0 0 0 0))
      (local.set $a30 (v128.const i32x4 0 0 0 0)) (local.set $a31 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $chunks_done (loop $chunk_next
        (br_if $chunks_done (i32.ge_u (local.get $i) (local.get $n8)))
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
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $chunk_next)))
      ;; s = exact int32 group sums, lanes = rows o..o+3.
      (local.set $s0 (call $hsum4_i32 (local.get $a00) (local.get $a10) (local.get $a20) (local.get $a30)))
      (local.set $s1 (call $hsum4_i32 (local.get $a01) (local.get $a11) (local.get $a21) (local.get $a31)))
      (if (i32.lt_u (local.get $n8) (local.get $group)) (then
        (local.set $s0 (i32x4.add (local.get $s0) (call $tail4_i8
          (i32.add (local.get $xp0) (local.get $n8)) (i32.add (local.get $wp0) (local.get $n8))
          (local.get $cols) (i32.sub (local.get $group) (local.get $n8)))))
        (local.set $s1 (i32x4.add (local.get $s1) (call $tail4_i8
          (i32.add (local.get $xp1) (local.get $n8)) (i32.add (local.get $wp0) (local.get $n8))
          (local.get $cols) (i32.sub (local.get $group) (local.get $n8)))))))
      ;; acc += float32(xs*ws*float32(sum)), evaluated in that order per lane.
      (local.set $vws (call $gather4_f32
        (i32.add (local.get $wsp) (i32.shl (local.get $g) (i32.const 2)))
        (i32.shl (local.get $G) (i32.const 2))))
      (local.set $f0 (f32x4.add (local.get $f0) (f32x4.mul
        (f32x4.mul (v128.load32_splat (i32.add (local.get $xsp) (i32.shl (local.get $g) (i32.const 2)))) (local.get $vws))
        (f32x4.convert_i32x4_s (local.get $s0)))))
      (local.set $f1 (f32x4.add (local.get $f1) (f32x4.mul
        (f32x4.mul (v128.load32_splat (i32.add (local.get $xsp)
          (i32.shl (i32.add (local.get $g) (local.get $G)) (i32.const 2)))) (local.get $vws))
        (f32x4.convert_i32x4_s (local.get $s1)))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $group_next)))
    (v128.store (local.get $yp) (local.get $f0))
    (v128.store (i32.add (local.get $yp) (local.get $ldy)) (local.get $f1)))

  ;; q8_tile4x1 is q8_tile4x2 for the single token t.
  (func $q8_tile4x1 (param $yp i32) (param $xqp i32) (param $xsp i32)
                    (param $wqp i32) (param $wsp i32) (param $cols i32) (param $group i32) (param $G i32)
    (local $g i32) (local $i i32) (local $n8 i32) (local $off i32)
    (local $xp0 i32) (local $wp0 i32) (local $wp1 i32) (local $wp2 i32) (local $wp3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $x0 v128) (local $s0 v128) (local $f0 v128)
    (local.set $n8 (i32.and (local.get $group) (i32.const -8)))
    (block $groups_done (loop $group_next
      (br_if $groups_done (i32.ge_u (local.get $g) (local.get $G)))
      (local.set $off (i32.mul (local.get $g) (local.get $group)))
      (local.set $xp0 (i32.add (local.get $xqp) (local.get $off)))
      (local.set $wp0 (i32.add (local.get $wqp) (local.get $off)))
      (local.set $wp1 (i32.add (local.get $wp0) (local.get $cols)))
      (local.set $wp2 (i32.add (local.get $wp1) (local.get $cols)))
      (local.set $wp3 (i32.add (local.get $wp2) (local.get $cols)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $chunks_done (loop $chunk_next
        (br_if $chunks_done (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $x0 (v128.load8x8_s (i32.add (local.get $xp0) (local.get $i))))
        (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s
          (v128.load8x8_s (i32.add (local.get $wp0) (local.get $i))) (local.get $x0))))
        (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s
          (v128.load8x8_s (i32.add (local.get $wp1) (local.get $i))) (local.get $x0))))
        (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s
          (v128.load8x8_s (i32.add (local.get $wp2) (local.get $i))) (local.get $x0))))
        (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s
          (v128.load8x8_s (i32.add (local.get $wp3) (local.get $i))) (local.get $x0))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $chunk_next)))
      (local.set $s0 (call $hsum4_i32 (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))
      (if (i32.lt_u (local.get $n8) (local.get $group)) (then
        (local.set $s0 (i32x4.add (local.get $s0) (call $tail4_i8
          (i32.add (local.get $xp0) (local.get $n8)) (i32.add (local.get $wp0) (local.get $n8))
          (local.get $cols) (i32.sub (local.get $group) (local.get $n8)))))))
      (local.set $f0 (f32x4.add (local.get $f0) (f32x4.mul
        (f32x4.mul
          (v128.load32_splat (i32.add (local.get $xsp) (i32.shl (local.get $g) (i32.const 2))))
          (call $gather4_f32 (i32.add (local.get $wsp) (i32.shl (local.get $g) (i32.const 2)))
                             (i32.shl (local.get $G) (i32.const 2))))
        (f32x4.convert_i32x4_s (local.get $s0)))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $group_next)))
    (v128.store (local.get $yp) (local.get $f0)))

  ;; q8_tile1x1 computes the single output y[t*rows+o].
  (func $q8_tile1x1 (param $yp i32) (param $xqp i32) (param $xsp i32)
                    (param $wqp i32) (param $wsp i32) (param $group i32) (param $G i32)
    (local $g i32) (local $i i32) (local $n8 i32) (local $off i32)
    (local $a v128) (local $s i32) (local $f f32)
    (local.set $n8 (i32.and (local.get $group) (i32.const -8)))
    (block $groups_done (loop $group_next
      (br_if $groups_done (i32.ge_u (local.get $g) (local.get $G)))
      (local.set $off (i32.mul (local.get $g) (local.get $group)))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $chunks_done (loop $chunk_next
        (br_if $chunks_done (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $a (i32x4.add (local.get $a) (i32x4.dot_i16x8_s
          (v128.load8x8_s (i32.add (i32.add (local.get $wqp) (local.get $off)) (local.get $i)))
          (v128.load8x8_s (i32.add (i32.add (local.get $xqp) (local.get $off)) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $chunk_next)))
      (local.set $s (i32.add (call $hsum_i32 (local.get $a))
        (call $dot_i8 (i32.add (i32.add (local.get $xqp) (local.get $off)) (local.get $n8))
                      (i32.add (i32.add (local.get $wqp) (local.get $off)) (local.get $n8))
                      (i32.sub (local.get $group) (local.get $n8)))))
      (local.set $f (f32.add (local.get $f) (f32.mul
        (f32.mul (f32.load (i32.add (local.get $xsp) (i32.shl (local.get $g) (i32.const 2))))
                 (f32.load (i32.add (local.get $wsp) (i32.shl (local.get $g) (i32.const 2)))))
        (f32.convert_i32_s (local.get $s)))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $group_next)))
    (f32.store (local.get $yp) (local.get $f)))

  ;; matmul_q8 is quant.matMulQ8Generic: for t < T and r0 <= o < r1, G = cols/group,
  ;;   y[t*rows+o] = Σ_g xs[t*G+g]*ws[o*G+g]*Σ_{i<group} xq[t*cols+g*group+i]*wq[o*cols+g*group+i]
  ;; Reads xq[:T*cols], xs[:T*G], wq[r0*cols:r1*cols], ws[r0*G:r1*G];
  ;; writes y[t*rows+o] only. group > 0.
  (func $matmul_q8 (export "matmul_q8") (param $y i32) (param $xq i32) (param $xs i32) (param $wq i32) (param $ws i32)
        (param $T i32) (param $rows i32) (param $cols i32) (param $group i32) (param $r0 i32) (param $r1 i32)
    (local $G i32) (local $o i32) (local $t i32) (local $ldy i32)
    (local.set $G (i32.div_u (local.get $cols) (local.get $group)))
    (local.set $ldy (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $o (local.get $r0))
    (block $rows4_done (loop $rows4_next
      (br_if $rows4_done (i32.gt_u (i32.add (local.get $o) (i32.const 4)) (local.get $r1)))
      (local.set $t (i32.const 0))
      (block $tok2_done (loop $tok2_next
        (br_if $tok2_done (i32.gt_u (i32.add (local.get $t) (i32.const 2)) (local.get $T)))
        (call $q8_tile4x2
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
        (call $q8_tile4x1
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $rows)) (local.get $o)) (i32.const 2)))
          (i32.add (local.get $xq) (i32.mul (local.get $t) (local.get $cols)))
          (i32.add (local.get $xs) (i32.shl (i32.mul (local.get $t) (local.get $G)) (i32.const 2)))
          (i32.add (local.get $wq) (i32.mul (local.get $o) (local.get $cols)))
          (i32.add (local.get $ws) (i32.shl (i32.mul (local.get $o) (local.get $G)) (i32.const 2)))
          (local.get $cols) (local.get $group) (local.get $G))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $rows4_next)))
    (block $rows_done (loop $row_next
      (br_if $rows_done (i32.ge_u (local.get $o) (local.get $r1)))
      (local.set $t (i32.const 0))
      (block $tok_done (loop $tok_next
        (br_if $tok_done (i32.ge_u (local.get $t) (local.get $T)))
        (call $q8_tile1x1
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $rows)) (local.get $o)) (i32.const 2)))
          (i32.add (local.get $xq) (i32.mul (local.get $t) (local.get $cols)))
          (i32.add (local.get $xs) (i32.shl (i32.mul (local.get $t) (local.get $G)) (i32.const 2)))
          (i32.add (local.get $wq) (i32.mul (local.get $o) (local.get $cols)))
          (i32.add (local.get $ws) (i32.shl (i32.mul (local.get $o) (local.get $G)) (i32.const 2)))
          (local.get $group) (local.get $G))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tok_next)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $row_next))))

  ;; --------------------------------------------------------- float32 matmul

  ;; f32_tile4x2 computes, for j < 4 and u < 2,
  ;;   y[u*ldy + j] = scale * Σ_{i<n} x[u*ldx + i] * w[j*ldw + i]
  ;; with y, x, w byte addresses and ldy, ldx, ldw byte strides.
  (func $f32_tile4x2 (param $y i32) (param $ldy i32) (param $x i32) (param $ldx i32)
                     (param $w i32) (param $ldw i32) (param $n i32) (param $scale f32)
    (local $i i32) (local $n4 i32) (local $xp1 i32) (local $wp1 i32) (local $wp2 i32) (local $wp3 i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $x0 v128) (local $x1 v128) (local $wv v128) (local $s0 v128) (local $s1 v128)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $xp1 (i32.add (local.get $x) (local.get $ldx)))
    (local.set $wp1 (i32.add (local.get $w) (local.get $ldw)))
    (local.set $wp2 (i32.add (local.get $wp1) (local.get $ldw)))
    (local.set $wp3 (i32.add (local.get $wp2) (local.get $ldw)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $x0 (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $x1 (v128.load (i32.add (local.get $xp1) (local.get $i))))
      (local.set $wv (v128.load (i32.add (local.get $w) (local.get $i))))
      (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $wv) (local.get $x0))))
      (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $wv) (local.get $x1))))
      (local.set $wv (v128.load (i32.add (local.get $wp1) (local.get $i))))
      (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $wv) (local.get $x0))))
      (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $wv) (local.get $x1))))
      (local.set $wv (v128.load (i32.add (local.get $wp2) (local.get $i))))
      (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $wv) (local.get $x0))))
      (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $wv) (local.get $x1))))
      (local.set $wv (v128.load (i32.add (local.get $wp3) (local.get $i))))
      (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $wv) (local.get $x0))))
      (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $wv) (local.get $x1))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $s0 (call $hsum4_f32 (local.get $a00) (local.get $a10) (local.get $a20) (local.get $a30)))
    (local.set $s1 (call $hsum4_f32 (local.get $a01) (local.get $a11) (local.get $a21) (local.get $a31)))
    (if (i32.lt_u (local.get $n4) (i32.shl (local.get $n) (i32.const 2))) (then
      (local.set $s0 (f32x4.add (local.get $s0) (call $tail4_f32
        (i32.add (local.get $x) (local.get $n4)) (i32.add (local.get $w) (local.get $n4))
        (local.get $ldw) (i32.and (local.get $n) (i32.const 3)))))
      (local.set $s1 (f32x4.add (local.get $s1) (call $tail4_f32
        (i32.add (local.get $xp1) (local.get $n4)) (i32.add (local.get $w) (local.get $n4))
        (local.get $ldw) (i32.and (local.get $n) (i32.const 3)))))))
    (v128.store (local.get $y) (f32x4.mul (local.get $s0) (f32x4.splat (local.get $scale))))
    (v128.store (i32.add (local.get $y) (local.get $ldy)) (f32x4.mul (local.get $s1) (f32x4.splat (local.get $scale)))))

  ;; f32_tile4x1 is f32_tile4x2 for one row of x.
  (func $f32_tile4x1 (param $y i32) (param $x i32) (param $w i32) (param $ldw i32) (param $n i32) (param $scale f32)
    (local $i i32) (local $n4 i32) (local $wp1 i32) (local $wp2 i32) (local $wp3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $x0 v128) (local $s0 v128)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $wp1 (i32.add (local.get $w) (local.get $ldw)))
    (local.set $wp2 (i32.add (local.get $wp1) (local.get $ldw)))
    (local.set $wp3 (i32.add (local.get $wp2) (local.get $ldw)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $x0 (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $i))) (local.get $x0))))
      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load (i32.add (local.get $wp1) (local.get $i))) (local.get $x0))))
      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load (i32.add (local.get $wp2) (local.get $i))) (local.get $x0))))
      (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load (i32.add (local.get $wp3) (local.get $i))) (local.get $x0))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $s0 (call $hsum4_f32 (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))
    (if (i32.lt_u (local.get $n4) (i32.shl (local.get $n) (i32.const 2))) (then
      (local.set $s0 (f32x4.add (local.get $s0) (call $tail4_f32
        (i32.add (local.get $x) (local.get $n4)) (i32.add (local.get $w) (local.get $n4))
        (local.get $ldw) (i32.and (local.get $n) (i32.const 3)))))))
    (v128.store (local.get $y) (f32x4.mul (local.get $s0) (f32x4.splat (local.get $scale)))))

  ;; f32_dot is Σ_{i<n} a[i]*b[i] with four vector accumulators.
  (func $f32_dot (param $a i32) (param $b i32) (param $n i32) (result f32)
    (local $i i32) (local $n16 i32) (local $n4 i32) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $n16 (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done16 (loop $next16
      (br_if $done16 (i32.ge_u (local.get $i) (local.get $n16)))
      (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul
        (v128.load (i32.add (local.get $a) (local.get $i))) (v128.load (i32.add (local.get $b) (local.get $i))))))
      (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul
        (v128.load offset=16 (i32.add (local.get $a) (local.get $i))) (v128.load offset=16 (i32.add (local.get $b) (local.get $i))))))
      (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul
        (v128.load offset=32 (i32.add (local.get $a) (local.get $i))) (v128.load offset=32 (i32.add (local.get $b) (local.get $i))))))
      (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul
        (v128.load offset=48 (i32.add (local.get $a) (local.get $i))) (v128.load offset=48 (i32.add (local.get $b) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 64)))
      (br $next16)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul
        (v128.load (i32.add (local.get $a) (local.get $i))) (v128.load (i32.add (local.get $b) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (f32.add
      (call $hsum_f32 (f32x4.add (f32x4.add (local.get $s0) (local.get $s1)) (f32x4.add (local.get $s2) (local.get $s3))))
      (call $dot_f32_scalar (i32.add (local.get $a) (local.get $n4)) (i32.add (local.get $b) (local.get $n4))
                            (i32.and (local.get $n) (i32.const 3)))))

  ;; f32_gemm computes, for u < T and o < rows,
  ;;   y[u*ldy + o] = scale * Σ_{i<n} x[u*ldx + i] * w[o*ldw + i]
  ;; with byte addresses and byte strides.
  (func $f32_gemm (param $y i32) (param $ldy i32) (param $x i32) (param $ldx i32)
                  (param $w i32) (param $ldw i32) (param $n i32) (param $T i32) (param $rows i32) (param $scale f32)
    (local $o i32) (local $t i32)
    (block $rows4_done (loop $rows4_next
      (br_if $rows4_done (i32.gt_u (i32.add (local.get $o) (i32.const 4)) (local.get $rows)))
      (local.set $t (i32.const 0))
      (block $tok2_done (loop $tok2_next
        (br_if $tok2_done (i32.gt_u (i32.add (local.get $t) (i32.const 2)) (local.get $T)))
        (call $f32_tile4x2
          (i32.add (local.get $y) (i32.add (i32.mul (local.get $t) (local.get $ldy)) (i32.shl (local.get $o) (i32.const 2))))
          (local.get $ldy)
          (i32.add (local.get $x) (i32.mul (local.get $t) (local.get $ldx))) (local.get $ldx)
          (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $ldw))) (local.get $ldw)
          (local.get $n) (local.get $scale))
        (local.set $t (i32.add (local.get $t) (i32.const 2)))
        (br $tok2_next)))
      (if (i32.lt_u (local.get $t) (local.get $T)) (then
        (call $f32_tile4x1
          (i32.add (local.get $y) (i32.add (i32.mul (local.get $t) (local.get $ldy)) (i32.shl (local.get $o) (i32.const 2))))
          (i32.add (local.get $x) (i32.mul (local.get $t) (local.get $ldx)))
          (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $ldw))) (local.get $ldw)
          (local.get $n) (local.get $scale))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $rows4_next)))
    (block $rows_done (loop $row_next
      (br_if $rows_done (i32.ge_u (local.get $o) (local.get $rows)))
      (local.set $t (i32.const 0))
      (block $tok_done (loop $tok_next
        (br_if $tok_done (i32.ge_u (local.get $t) (local.get $T)))
        (f32.store
          (i32.add (local.get $y) (i32.add (i32.mul (local.get $t) (local.get $ldy)) (i32.shl (local.get $o) (i32.const 2))))
          (f32.mul (local.get $scale) (call $f32_dot
            (i32.add (local.get $x) (i32.mul (local.get $t) (local.get $ldx)))
            (i32.add (local.get $w) (i32.mul (local.get $o) (local.get $ldw)))
            (local.get $n))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tok_next)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $row_next))))

  ;; matmul_f32 is quant.matMulF32Generic: for t < T and r0 <= o < r1,
  ;;   y[t*rows+o] = Σ_i x[t*cols+i] * w[o*cols+i]
  (func $matmul_f32 (export "matmul_f32") (param $y i32) (param $x i32) (param $w i32)
        (param $T i32) (param $rows i32) (param $cols i32) (param $r0 i32) (param $r1 i32)
    (call $f32_gemm
      (i32.add (local.get $y) (i32.shl (local.get $r0) (i32.const 2))) (i32.shl (local.get $rows) (i32.const 2))
      (local.get $x) (i32.shl (local.get $cols) (i32.const 2))
      (i32.add (local.get $w) (i32.shl (i32.mul (local.get $r0) (local.get $cols)) (i32.const 2)))
      (i32.shl (local.get $cols) (i32.const 2))
      (local.get $cols) (local.get $T) (i32.sub (local.get $r1) (local.get $r0)) (f32.const 1)))

  ;; dot_f32 is Σ_{i<n} a[i]*b[i].
  (func $dot_f32 (export "dot_f32") (param $a i32) (param $b i32) (param $n i32) (result f32)
    (call $f32_dot (local.get $a) (local.get $b) (local.get $n)))

  ;; axpy_f32 is y[i] += a*x[i] for i < n.
  (func $axpy_f32 (export "axpy_f32") (param $a f32) (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $va v128)
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
      (v128.store (i32.add (local.get $y) (local.get $i)) (f32x4.add
        (v128.load (i32.add (local.get $y) (local.get $i)))
        (f32x4.mul (local.get $va) (v128.load (i32.add (local.get $x) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done1 (loop $next1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $n)))
      (f32.store (i32.add (local.get $y) (local.get $i)) (f32.add
        (f32.load (i32.add (local.get $y) (local.get $i)))
        (f32.mul (local.get $a) (f32.load (i32.add (local.get $x) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next1))))

  ;; ------------------------------------------------ activation quantisation

;; round4_i32 is round(v) per lane, ties away from zero, clamped to
  ;; [-127, 127], as int32; NaN gives 0. trunc(v) and v - trunc(v) are
  ;; exact. The rounded value is a whole number below 2^22 or infinite
  ;; (quantize never produces anything else), so adding 1.5·2^23 leaves it in
  ;; the low bits of the float: cheaper in V8 than i32x4.trunc_sat_f32x4_s,
  ;; and ±inf come out beyond ±127, which the integer clamp fixes.
  (func $round4_i32 (param $v v128) (result v128)
    (local $t v128)
    (local.set $t (f32x4.trunc (local.get $v)))
    (local.set $t (f32x4.add (local.get $t) (v128.and
      (f32x4.ge (f32x4.abs (f32x4.sub (local.get $v) (local.get $t))) (v128.const f32x4 0.5 0.5 0.5 0.5))
      (v128.or (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
               (v128.const f32x4 1 1 1 1)))))
    (i32x4.max_s (i32x4.min_s
      (v128.and
        (i32x4.sub (f32x4.add (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912))
                   (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000))
        (f32x4.eq (local.get $v) (local.get $v)))
      (v128.const i32x4 127 127 127 127))
      (v128.const i32x4 -127 -127 -127 -127)))

  ;; round_i32 is round4_i32 for one value.
  (func $round_i32 (param $v f32) (result i32)
    (i32x4.extract_lane 0 (call $round4_i32 (f32x4.splat (local.get $v)))))

  ;; quantize is quant.quantizeActivationsGeneric over n values of x:
  ;; for each group g < n/group, scale = max|x|/127, inv = 1/scale,
  ;; q = round(x*inv) with ties away from zero (all zero when max|x| = 0).
  ;; max|x| is taken as the unsigned maximum of the bit patterns with the
  ;; sign cleared: for non-negative floats that order is the float order,
  ;; and a NaN, larger than any other pattern, wins as it does in Go's max.
  (func $quantize (export "quantize") (param $q i32) (param $scales i32) (param $x i32) (param $n i32) (param $group i32)
    (local $g i32) (local $groups i32) (local $xp i32) (local $qp i32) (local $i i32)
    (local $n4 i32) (local $vmax v128) (local $amax f32) (local $scale f32) (local $inv f32) (local $vinv v128)
    (local $v v128) (local $t v128) (local $half v128) (local $signbit v128) (local $one v128)
    (local $magic v128) (local $c127 v128) (local $cm127 v128)
    (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $signbit (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $magic (v128.const f32x4 12582912 12582912 12582912 12582912))
    (local.set $c127 (v128.const i32x4 127 127 127 127))
    (local.set $cm127 (v128.const i32x4 -127 -127 -127 -127))
    (local.set $groups (i32.div_u (local.get $n) (local.get $group)))
    (local.set $n4 (i32.and (local.get $group) (i32.const -4)))
    (block $groups_done (loop $group_next
      (br_if $groups_done (i32.ge_u (local.get $g) (local.get $groups)))
      (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (local.get $g) (local.get $group)) (i32.const 2))))
      (local.set $qp (i32.add (local.get $q) (i32.mul (local.get $g) (local.get $group))))
      (local.set $vmax (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $max_done (loop $max_next
        (br_if $max_done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $vmax (i32x4.max_u (local.get $vmax) (v128.and
          (v128.load (i32.add (local.get $xp) (i32.shl (local.get $i) (i32.const 2))))
          (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $max_next)))
      (block $tmax_done (loop $tmax_next
        (br_if $tmax_done (i32.ge_u (local.get $i) (local.get $group)))
        (local.set $vmax (i32x4.max_u (local.get $vmax) (v128.and
          (v128.load32_splat (i32.add (local.get $xp) (i32.shl (local.get $i) (i32.const 2))))
          (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tmax_next)))
      (local.set $vmax (i32x4.max_u (local.get $vmax)
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vmax) (local.get $vmax))))
      (local.set $vmax (i32x4.max_u (local.get $vmax)
        (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $vmax) (local.get $vmax))))
      (local.set $amax (f32x4.extract_lane 0 (local.get $vmax)))
      (if (i32.eqz (i32x4.extract_lane 0 (local.get $vmax)))
        (then
          (f32.store (i32.add (local.get $scales) (i32.shl (local.get $g) (i32.const 2))) (f32.const 0))
          (memory.fill (local.get $qp) (i32.const 0) (local.get $group)))
        (else
          (local.set $scale (f32.div (local.get $amax) (f32.const 127)))
          (local.set $inv (f32.div (f32.const 1) (local.get $scale)))
          (local.set $vinv (f32x4.splat (local.get $inv)))
          (f32.store (i32.add (local.get $scales) (i32.shl (local.get $g) (i32.const 2))) (local.get $scale))
;; 4 values a step, round4_i32 written out (V8 does not inline wasm
          ;; calls, and the call cost more than the rounding).
          (local.set $i (i32.const 0))
          (block $q4_done (loop $q4_next
            (br_if $q4_done (i32.ge_u (local.get $i) (local.get $n4)))
            (local.set $v (f32x4.mul (local.get $vinv)
              (v128.load (i32.add (local.get $xp) (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $t (f32x4.trunc (local.get $v)))
            (local.set $t (f32x4.add (local.get $t) (v128.and
              (f32x4.ge (f32x4.abs (f32x4.sub (local.get $v) (local.get $t))) (local.get $half))
              (v128.or (v128.and (local.get $v) (local.get $signbit)) (local.get $one)))))
            (local.set $t (i32x4.max_s (i32x4.min_s
              (v128.and (i32x4.sub (f32x4.add (local.get $t) (local.get $magic)) (local.get $magic))
                        (f32x4.eq (local.get $v) (local.get $v)))
              (local.get $c127)) (local.get $cm127)))
            (local.set $t (i16x8.narrow_i32x4_s (local.get $t) (local.get $t)))
            (v128.store32_lane 0 (i32.add (local.get $qp) (local.get $i)) (i8x16.narrow_i16x8_s (local.get $t) (local.get $t)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $q4_next)))
          (block $q1_done (loop $q1_next
            (br_if $q1_done (i32.ge_u (local.get $i) (local.get $group)))
            (i32.store8 (i32.add (local.get $qp) (local.get $i)) (call $round_i32 (f32.mul (local.get $inv)
              (f32.load (i32.add (local.get $xp) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $q1_next)))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $group_next))))

  ;; ------------------------------------------------------------- attention

  ;; exp_shift replaces the n floats at p by e^(x - max) and returns their
  ;; sum; the caller divides by it.
  (func $exp_shift (param $p i32) (param $n i32) (result f32)
    (local $i i32) (local $n4 i32) (local $nb i32) (local $vm v128) (local $vs v128) (local $e v128)
    (local $mx f32) (local $sum f32) (local $es f32)
    (local $k_hi v128) (local $k_lo v128) (local $k_log2e v128) (local $k_magic v128) (local $k_ln2hi v128) (local $k_ln2lo v128) (local $k_p0 v128) (local $k_p1 v128) (local $k_p2 v128) (local $k_p3 v128) (local $k_p4 v128) (local $k_p5 v128) (local $k_one v128) (local $k_bias v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $ey v128) (local $ez v128)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vm (v128.load32_splat (local.get $p)))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $vm (f32x4.pmax (local.get $vm) (v128.load (i32.add (local.get $p) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l1)))
    (local.set $mx (call $hmax_f32 (local.get $vm)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $nb)))
      (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $p) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l2)))
    (local.set $vm (f32x4.splat (local.get $mx)))
(local.set $k_hi (v128.const f32x4 88 88 88 88))
    (local.set $k_lo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $k_log2e (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
    (local.set $k_magic (v128.const f32x4 12582912 12582912 12582912 12582912))
    (local.set $k_ln2hi (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
    (local.set $k_ln2lo (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))
    (local.set $k_p0 (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $k_p1 (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3))
    (local.set $k_p2 (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3))
    (local.set $k_p3 (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2))
    (local.set $k_p4 (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1))
    (local.set $k_p5 (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1))
    (local.set $k_one (v128.const f32x4 1 1 1 1))
    (local.set $k_bias (v128.const i32x4 0x4b3fff81 0x4b3fff81 0x4b3fff81 0x4b3fff81))
    (local.set $i (i32.const 0))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $ex (f32x4.pmax (f32x4.pmin (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $vm)) (local.get $k_hi)) (local.get $k_lo)))
      (local.set $et (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_log2e)) (local.get $k_magic)))
      (local.set $en (f32x4.sub (local.get $et) (local.get $k_magic)))
      (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2hi))))
      (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2lo))))
      (local.set $ez (f32x4.mul (local.get $ex) (local.get $ex)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_p0)) (local.get $k_p1)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p2)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p3)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p4)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p5)))
      (local.set $ey (f32x4.add (f32x4.add (f32x4.mul (local.get $ey) (local.get $ez)) (local.get $ex)) (local.get $k_one)))
      (local.set $e (f32x4.mul (local.get $ey) (i32x4.shl (i32x4.sub (local.get $et) (local.get $k_bias)) (i32.const 23))))
      (v128.store (i32.add (local.get $p) (local.get $i)) (local.get $e))
      (local.set $vs (f32x4.add (local.get $vs) (local.get $e)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l3)))
    (local.set $sum (call $hsum_f32 (local.get $vs)))
    (block $d4 (loop $l4
      (br_if $d4 (i32.ge_u (local.get $i) (local.get $nb)))
      (local.set $es (f32x4.extract_lane 0 (call $exp4
        (f32x4.splat (f32.sub (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $mx))))))
      (f32.store (i32.add (local.get $p) (local.get $i)) (local.get $es))
      (local.set $sum (f32.add (local.get $sum) (local.get $es)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l4)))
    (local.get $sum))

  ;; outer2 computes two rows of a matrix product as sums of outer products:
  ;; for u < 2 and columns j < width,
  ;;   out[u*ldo + j] = inv_u * Σ_{p<n} s[u*lds + p] * v[p*ldv + j]
  ;; accumulating in p order (byte addresses and byte strides). Attention
  ;; uses it twice: scores = scale · q Kᵀ, with Kᵀ laid out by transpose,
  ;; and out = (1/Σ) · e^(scores - max) V. Each step splats two s values and
  ;; loads a row segment of v once for both, and there are no horizontal sums.
  (func $outer2 (param $out i32) (param $ldo i32) (param $s i32) (param $lds i32) (param $n i32)
                (param $v i32) (param $ldv i32) (param $width i32) (param $inv0 f32) (param $inv1 f32)
    (local $c i32) (local $p i32) (local $vp i32) (local $s1 i32) (local $wb i32) (local $w0 v128) (local $w1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $v0 v128) (local $f0 f32) (local $f1 f32)
    (local $vinv0 v128) (local $vinv1 v128)
    (local.set $vinv0 (f32x4.splat (local.get $inv0)))
    (local.set $vinv1 (f32x4.splat (local.get $inv1)))
    (local.set $s1 (i32.add (local.get $s) (local.get $lds)))
    (local.set $wb (i32.shl (local.get $width) (i32.const 2)))
    ;; 16 columns at a time.
    (block $c16_done (loop $c16_next
      (br_if $c16_done (i32.gt_u (i32.add (local.get $c) (i32.const 64)) (local.get $wb)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $b0 (v128.const i32x4 0 0 0 0)) (local.set $b1 (v128.const i32x4 0 0 0 0))
      (local.set $b2 (v128.const i32x4 0 0 0 0)) (local.set $b3 (v128.const i32x4 0 0 0 0))
      (local.set $vp (i32.add (local.get $v) (local.get $c)))
      (local.set $p (i32.const 0))
      (block $p_done (loop $p_next
        (br_if $p_done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $w0 (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $p) (i32.const 2)))))
        (local.set $w1 (v128.load32_splat (i32.add (local.get $s1) (i32.shl (local.get $p) (i32.const 2)))))
        ;; each row of v loaded once (TurboFan does not merge repeated loads).
        (local.set $v0 (v128.load (local.get $vp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $w0) (local.get $v0))))
        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $w1) (local.get $v0))))
        (local.set $v0 (v128.load offset=16 (local.get $vp)))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $w0) (local.get $v0))))
        (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $w1) (local.get $v0))))
        (local.set $v0 (v128.load offset=32 (local.get $vp)))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $w0) (local.get $v0))))
        (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $w1) (local.get $v0))))
        (local.set $v0 (v128.load offset=48 (local.get $vp)))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $w0) (local.get $v0))))
        (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $w1) (local.get $v0))))
        (local.set $vp (i32.add (local.get $vp) (local.get $ldv)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $p_next)))
      (v128.store (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a0) (local.get $vinv0)))
      (v128.store offset=16 (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a1) (local.get $vinv0)))
      (v128.store offset=32 (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a2) (local.get $vinv0)))
      (v128.store offset=48 (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a3) (local.get $vinv0)))
      (v128.store (i32.add (i32.add (local.get $out) (local.get $ldo)) (local.get $c)) (f32x4.mul (local.get $b0) (local.get $vinv1)))
      (v128.store offset=16 (i32.add (i32.add (local.get $out) (local.get $ldo)) (local.get $c)) (f32x4.mul (local.get $b1) (local.get $vinv1)))
      (v128.store offset=32 (i32.add (i32.add (local.get $out) (local.get $ldo)) (local.get $c)) (f32x4.mul (local.get $b2) (local.get $vinv1)))
      (v128.store offset=48 (i32.add (i32.add (local.get $out) (local.get $ldo)) (local.get $c)) (f32x4.mul (local.get $b3) (local.get $vinv1)))
      (local.set $c (i32.add (local.get $c) (i32.const 64)))
      (br $c16_next)))
    ;; 4 columns at a time.
    (block $c4_done (loop $c4_next
      (br_if $c4_done (i32.gt_u (i32.add (local.get $c) (i32.const 16)) (local.get $wb)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $b0 (v128.const i32x4 0 0 0 0))
      (local.set $vp (i32.add (local.get $v) (local.get $c)))
      (local.set $p (i32.const 0))
      (block $p4_done (loop $p4_next
        (br_if $p4_done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $v0 (v128.load (local.get $vp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul
          (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $p) (i32.const 2)))) (local.get $v0))))
        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul
          (v128.load32_splat (i32.add (local.get $s1) (i32.shl (local.get $p) (i32.const 2)))) (local.get $v0))))
        (local.set $vp (i32.add (local.get $vp) (local.get $ldv)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $p4_next)))
      (v128.store (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a0) (local.get $vinv0)))
      (v128.store (i32.add (i32.add (local.get $out) (local.get $ldo)) (local.get $c)) (f32x4.mul (local.get $b0) (local.get $vinv1)))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (br $c4_next)))
    ;; the last columns one by one.
    (block $c1_done (loop $c1_next
      (br_if $c1_done (i32.ge_u (local.get $c) (local.get $wb)))
      (local.set $f0 (f32.const 0)) (local.set $f1 (f32.const 0))
      (local.set $vp (i32.add (local.get $v) (local.get $c)))
      (local.set $p (i32.const 0))
      (block $p1_done (loop $p1_next
        (br_if $p1_done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $f0 (f32.add (local.get $f0) (f32.mul
          (f32.load (i32.add (local.get $s) (i32.shl (local.get $p) (i32.const 2)))) (f32.load (local.get $vp)))))
        (local.set $f1 (f32.add (local.get $f1) (f32.mul
          (f32.load (i32.add (local.get $s1) (i32.shl (local.get $p) (i32.const 2)))) (f32.load (local.get $vp)))))
        (local.set $vp (i32.add (local.get $vp) (local.get $ldv)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $p1_next)))
      (f32.store (i32.add (local.get $out) (local.get $c)) (f32.mul (local.get $f0) (local.get $inv0)))
      (f32.store (i32.add (i32.add (local.get $out) (local.get $ldo)) (local.get $c)) (f32.mul (local.get $f1) (local.get $inv1)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $c1_next))))

  ;; outer1 is outer2 for one row.
  (func $outer1 (param $out i32) (param $s i32) (param $n i32) (param $v i32) (param $ldv i32) (param $width i32) (param $inv0 f32)
    (local $c i32) (local $p i32) (local $vp i32) (local $wb i32) (local $w0 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $f0 f32) (local $vinv0 v128)
    (local.set $vinv0 (f32x4.splat (local.get $inv0)))
    (local.set $wb (i32.shl (local.get $width) (i32.const 2)))
    (block $c16_done (loop $c16_next
      (br_if $c16_done (i32.gt_u (i32.add (local.get $c) (i32.const 64)) (local.get $wb)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $vp (i32.add (local.get $v) (local.get $c)))
      (local.set $p (i32.const 0))
      (block $p_done (loop $p_next
        (br_if $p_done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $w0 (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $p) (i32.const 2)))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $w0) (v128.load (local.get $vp)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $w0) (v128.load offset=16 (local.get $vp)))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $w0) (v128.load offset=32 (local.get $vp)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $w0) (v128.load offset=48 (local.get $vp)))))
        (local.set $vp (i32.add (local.get $vp) (local.get $ldv)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $p_next)))
      (v128.store (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a0) (local.get $vinv0)))
      (v128.store offset=16 (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a1) (local.get $vinv0)))
      (v128.store offset=32 (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a2) (local.get $vinv0)))
      (v128.store offset=48 (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a3) (local.get $vinv0)))
      (local.set $c (i32.add (local.get $c) (i32.const 64)))
      (br $c16_next)))
    (block $c4_done (loop $c4_next
      (br_if $c4_done (i32.gt_u (i32.add (local.get $c) (i32.const 16)) (local.get $wb)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $vp (i32.add (local.get $v) (local.get $c)))
      (local.set $p (i32.const 0))
      (block $p4_done (loop $p4_next
        (br_if $p4_done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul
          (v128.load32_splat (i32.add (local.get $s) (i32.shl (local.get $p) (i32.const 2)))) (v128.load (local.get $vp)))))
        (local.set $vp (i32.add (local.get $vp) (local.get $ldv)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $p4_next)))
      (v128.store (i32.add (local.get $out) (local.get $c)) (f32x4.mul (local.get $a0) (local.get $vinv0)))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (br $c4_next)))
    (block $c1_done (loop $c1_next
      (br_if $c1_done (i32.ge_u (local.get $c) (local.get $wb)))
      (local.set $f0 (f32.const 0))
      (local.set $vp (i32.add (local.get $v) (local.get $c)))
      (local.set $p (i32.const 0))
      (block $p1_done (loop $p1_next
        (br_if $p1_done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $f0 (f32.add (local.get $f0) (f32.mul
          (f32.load (i32.add (local.get $s) (i32.shl (local.get $p) (i32.const 2)))) (f32.load (local.get $vp)))))
        (local.set $vp (i32.add (local.get $vp) (local.get $ldv)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $p1_next)))
      (f32.store (i32.add (local.get $out) (local.get $c)) (f32.mul (local.get $f0) (local.get $inv0)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $c1_next))))

  ;; transpose writes dst[i*rows + p] = src[p*lds + i] for p < rows, i < cols
  ;; (dst, src byte addresses, lds a byte stride), in 4x4 blocks.
  (func $transpose (param $dst i32) (param $src i32) (param $lds i32) (param $rows i32) (param $cols i32)
    (local $p i32) (local $i i32) (local $r4 i32) (local $c4 i32) (local $sp i32) (local $dp i32) (local $ldd i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $r4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $ldd (i32.shl (local.get $rows) (i32.const 2)))
    (block $pd (loop $pl
      (br_if $pd (i32.ge_u (local.get $p) (local.get $r4)))
      (local.set $i (i32.const 0))
      (block $id (loop $il
        (br_if $id (i32.ge_u (local.get $i) (local.get $c4)))
        (local.set $sp (i32.add (i32.add (local.get $src) (i32.mul (local.get $p) (local.get $lds))) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $r0 (v128.load (local.get $sp)))
        (local.set $r1 (v128.load (i32.add (local.get $sp) (local.get $lds))))
        (local.set $r2 (v128.load (i32.add (local.get $sp) (i32.shl (local.get $lds) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $sp) (i32.mul (local.get $lds) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (local.set $dp (i32.add (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $ldd))) (i32.shl (local.get $p) (i32.const 2))))
        (v128.store (local.get $dp)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $dp) (local.get $ldd))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $dp) (i32.shl (local.get $ldd) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $dp) (i32.mul (local.get $ldd) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $il)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $pl)))
    ;; the columns past the last block of 4, for the rows done so far
    (local.set $i (local.get $c4))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_u (local.get $i) (local.get $cols)))
      (local.set $p (i32.const 0))
      (block $cpd (loop $cpl
        (br_if $cpd (i32.ge_u (local.get $p) (local.get $r4)))
        (f32.store (i32.add (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $ldd))) (i32.shl (local.get $p) (i32.const 2)))
          (f32.load (i32.add (i32.add (local.get $src) (i32.mul (local.get $p) (local.get $lds))) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $cpl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $cl)))
    ;; the rows past the last block of 4, every column
    (local.set $p (local.get $r4))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $p) (local.get $rows)))
      (local.set $i (i32.const 0))
      (block $rid (loop $ril
        (br_if $rid (i32.ge_u (local.get $i) (local.get $cols)))
        (f32.store (i32.add (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $ldd))) (i32.shl (local.get $p) (i32.const 2)))
          (f32.load (i32.add (i32.add (local.get $src) (i32.mul (local.get $p) (local.get $lds))) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ril)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $rl))))

  ;; attention is quant.attentionGeneric: for each query u < nq (row u*ldq of q),
  ;;   s[p] = scale * Σ_{i<hd} q[u*ldq+i] * k[p*ldkv+i]   for p < T
  ;;   e = exp(s - max s),  out[u*ldo+j] = (1/Σe) * Σ_p e[p] * v[p*ldkv+j]   for j < hd
  ;; with its exact operation order: Kᵀ is first laid out in
  ;; scores[2T : 2T + hd·T] so that the scores too are outer products, each
  ;; lane summing its products in i order as the reference's dot product
  ;; does; queries go two at a time, using scores[0 : 2T) for their scores
  ;; (quant.AttentionScratch says how much scratch that takes).
  (func $attention (export "attention") (param $out i32) (param $ldo i32) (param $q i32) (param $ldq i32)
        (param $k i32) (param $v i32) (param $ldkv i32) (param $scores i32)
        (param $nq i32) (param $T i32) (param $hd i32) (param $scale f32)
    (local $u i32) (local $m i32) (local $ldob i32) (local $ldqb i32) (local $ldkvb i32) (local $Tb i32)
    (local $inv0 f32) (local $inv1 f32) (local $kt i32) (local $qp i32)
    (local.set $ldob (i32.shl (local.get $ldo) (i32.const 2)))
    (local.set $ldqb (i32.shl (local.get $ldq) (i32.const 2)))
    (local.set $ldkvb (i32.shl (local.get $ldkv) (i32.const 2)))
    (local.set $Tb (i32.shl (local.get $T) (i32.const 2)))
    (if (i32.eqz (local.get $nq)) (then (return)))
    (local.set $kt (i32.add (local.get $scores) (i32.shl (local.get $Tb) (i32.const 1))))
    (call $transpose (local.get $kt) (local.get $k) (local.get $ldkvb) (local.get $T) (local.get $hd))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $u) (local.get $nq)))
      (local.set $m (select (i32.const 2) (i32.const 1)
        (i32.ge_u (i32.sub (local.get $nq) (local.get $u)) (i32.const 2))))
      (local.set $qp (i32.add (local.get $q) (i32.mul (local.get $u) (local.get $ldqb))))
      ;; scores (m, T) = scale · q_u Kᵀ
      (if (i32.eq (local.get $m) (i32.const 2))
        (then (call $outer2 (local.get $scores) (local.get $Tb) (local.get $qp) (local.get $ldqb) (local.get $hd)
                (local.get $kt) (local.get $Tb) (local.get $T) (local.get $scale) (local.get $scale)))
        (else (call $outer1 (local.get $scores) (local.get $qp) (local.get $hd)
                (local.get $kt) (local.get $Tb) (local.get $T) (local.get $scale))))
      ;; softmax, its 1/Σ applied to the weighted sum of v
      (local.set $inv0 (f32.div (f32.const 1) (call $exp_shift (local.get $scores) (local.get $T))))
      (if (i32.eq (local.get $m) (i32.const 2))
        (then
          (local.set $inv1 (f32.div (f32.const 1)
            (call $exp_shift (i32.add (local.get $scores) (local.get $Tb)) (local.get $T))))
          (call $outer2 (i32.add (local.get $out) (i32.mul (local.get $u) (local.get $ldob))) (local.get $ldob)
            (local.get $scores) (local.get $Tb) (local.get $T) (local.get $v) (local.get $ldkvb) (local.get $hd)
            (local.get $inv0) (local.get $inv1)))
        (else
          (call $outer1 (i32.add (local.get $out) (i32.mul (local.get $u) (local.get $ldob)))
            (local.get $scores) (local.get $T) (local.get $v) (local.get $ldkvb) (local.get $hd) (local.get $inv0))))
      (local.set $u (i32.add (local.get $u) (local.get $m)))
      (br $next))))

  ;; --------------------------------------------------------- normalisation

  ;; rmsnorm is quant.rmsNormGeneric over rows of d values:
  ;;   out[r*d+i] = w[i] * (x[r*d+i] * inv), inv = float32(1/sqrt(Σ x²/d + eps)),
  ;; the sum of squares in float64.
  (func $rmsnorm (export "rmsnorm") (param $out i32) (param $x i32) (param $w i32) (param $d i32) (param $rows i32) (param $eps f64)
    (local $r i32) (local $i i32) (local $xp i32) (local $op i32) (local $db i32) (local $d4 i32)
    (local $v v128) (local $s0 v128) (local $s1 v128) (local $ss f64) (local $e f64) (local $inv f32) (local $vinv v128)
    (local.set $db (i32.shl (local.get $d) (i32.const 2)))
    (local.set $d4 (i32.shl (i32.and (local.get $d) (i32.const -4)) (i32.const 2)))
    (block $rows_done (loop $row_next
      (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $xp (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $db))))
      (local.set $op (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $db))))
      (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $i) (local.get $d4)))
        (local.set $v (v128.load (i32.add (local.get $xp) (local.get $i))))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul
          (f64x2.promote_low_f32x4 (local.get $v)) (f64x2.promote_low_f32x4 (local.get $v)))))
        (local.set $v (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul
          (f64x2.promote_low_f32x4 (local.get $v)) (f64x2.promote_low_f32x4 (local.get $v)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l1)))
      (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
      (local.set $ss (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $i) (local.get $db)))
        (local.set $e (f64.promote_f32 (f32.load (i32.add (local.get $xp) (local.get $i)))))
        (local.set $ss (f64.add (local.get $ss) (f64.mul (local.get $e) (local.get $e))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l2)))
      (local.set $inv (f32.demote_f64 (f64.div (f64.const 1)
        (f64.sqrt (f64.add (f64.div (local.get $ss) (f64.convert_i32_u (local.get $d))) (local.get $eps))))))
      (local.set $vinv (f32x4.splat (local.get $inv)))
      (local.set $i (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $i) (local.get $d4)))
        (v128.store (i32.add (local.get $op) (local.get $i)) (f32x4.mul
          (v128.load (i32.add (local.get $w) (local.get $i)))
          (f32x4.mul (v128.load (i32.add (local.get $xp) (local.get $i))) (local.get $vinv))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l3)))
      (block $d4 (loop $l4
        (br_if $d4 (i32.ge_u (local.get $i) (local.get $db)))
        (f32.store (i32.add (local.get $op) (local.get $i)) (f32.mul
          (f32.load (i32.add (local.get $w) (local.get $i)))
          (f32.mul (f32.load (i32.add (local.get $xp) (local.get $i))) (local.get $inv))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row_next))))

  ;; silu_mul is quant.siluMulGeneric: gate[i] = gate[i] / (1 + e^-gate[i]) * up[i], i < n.
  (func $silu_mul (export "silu_mul") (param $gate i32) (param $up i32) (param $n i32)
    (local $i i32) (local $nb i32) (local $n4 i32) (local $g v128) (local $e v128)
    (local $k_hi v128) (local $k_lo v128) (local $k_log2e v128) (local $k_magic v128) (local $k_ln2hi v128) (local $k_ln2lo v128) (local $k_p0 v128) (local $k_p1 v128) (local $k_p2 v128) (local $k_p3 v128) (local $k_p4 v128) (local $k_p5 v128) (local $k_one v128) (local $k_bias v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $ey v128) (local $ez v128)
(local.set $k_hi (v128.const f32x4 88 88 88 88))
    (local.set $k_lo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $k_log2e (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
    (local.set $k_magic (v128.const f32x4 12582912 12582912 12582912 12582912))
    (local.set $k_ln2hi (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
    (local.set $k_ln2lo (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))
    (local.set $k_p0 (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $k_p1 (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3))
    (local.set $k_p2 (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3))
    (local.set $k_p3 (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2))
    (local.set $k_p4 (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1))
    (local.set $k_p5 (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1))
    (local.set $k_one (v128.const f32x4 1 1 1 1))
    (local.set $k_bias (v128.const i32x4 0x4b3fff81 0x4b3fff81 0x4b3fff81 0x4b3fff81))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $g (v128.load (i32.add (local.get $gate) (local.get $i))))
      (local.set $ex (f32x4.pmax (f32x4.pmin (f32x4.neg (local.get $g)) (local.get $k_hi)) (local.get $k_lo)))
      (local.set $et (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_log2e)) (local.get $k_magic)))
      (local.set $en (f32x4.sub (local.get $et) (local.get $k_magic)))
      (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2hi))))
      (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2lo))))
      (local.set $ez (f32x4.mul (local.get $ex) (local.get $ex)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_p0)) (local.get $k_p1)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p2)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p3)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p4)))
      (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p5)))
      (local.set $ey (f32x4.add (f32x4.add (f32x4.mul (local.get $ey) (local.get $ez)) (local.get $ex)) (local.get $k_one)))
      (local.set $e (f32x4.mul (local.get $ey) (i32x4.shl (i32x4.sub (local.get $et) (local.get $k_bias)) (i32.const 23))))
      (v128.store (i32.add (local.get $gate) (local.get $i)) (f32x4.mul
        (f32x4.div (local.get $g) (f32x4.add (local.get $k_one) (local.get $e)))
        (v128.load (i32.add (local.get $up) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l1)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $nb)))
      (local.set $g (v128.load32_splat (i32.add (local.get $gate) (local.get $i))))
      (f32.store (i32.add (local.get $gate) (local.get $i)) (f32x4.extract_lane 0 (f32x4.mul
        (f32x4.div (local.get $g) (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp4 (f32x4.neg (local.get $g)))))
        (v128.load32_splat (i32.add (local.get $up) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l2))))

  ;; ---------------------------------------------------------------- RoPE

  ;; rope is quant.ropeGeneric: each head of buf, (T, heads, hd), is split
  ;; into halves a, b of hd/2 values and rotated by the position's cos, sin
  ;; rows (T, hd/2): a, b = a·cos - b·sin, b·cos + a·sin, the same operations
  ;; per element as the reference.
  (func $rope (export "rope") (param $buf i32) (param $cos i32) (param $sin i32)
        (param $T i32) (param $heads i32) (param $hd i32)
    (local $t i32) (local $h i32) (local $i i32) (local $halfb i32) (local $h4 i32)
    (local $cp i32) (local $sp i32) (local $ap i32) (local $bp i32)
    (local $a v128) (local $b v128) (local $c v128) (local $s v128)
    (local $af f32) (local $bf f32) (local $cf f32) (local $sf f32)
    (local.set $halfb (i32.shl (i32.shr_u (local.get $hd) (i32.const 1)) (i32.const 2)))
    (local.set $h4 (i32.and (local.get $halfb) (i32.const -16)))
    (block $t_done (loop $t_next
      (br_if $t_done (i32.ge_u (local.get $t) (local.get $T)))
      (local.set $cp (i32.add (local.get $cos) (i32.mul (local.get $t) (local.get $halfb))))
      (local.set $sp (i32.add (local.get $sin) (i32.mul (local.get $t) (local.get $halfb))))
      (local.set $h (i32.const 0))
      (block $h_done (loop $h_next
        (br_if $h_done (i32.ge_u (local.get $h) (local.get $heads)))
        (local.set $ap (i32.add (local.get $buf) (i32.shl
          (i32.mul (i32.add (i32.mul (local.get $t) (local.get $heads)) (local.get $h)) (local.get $hd)) (i32.const 2))))
        (local.set $bp (i32.add (local.get $ap) (local.get $halfb)))
        (local.set $i (i32.const 0))
        (block $v_done (loop $v_next
          (br_if $v_done (i32.ge_u (local.get $i) (local.get $h4)))
          (local.set $a (v128.load (i32.add (local.get $ap) (local.get $i))))
          (local.set $b (v128.load (i32.add (local.get $bp) (local.get $i))))
          (local.set $c (v128.load (i32.add (local.get $cp) (local.get $i))))
          (local.set $s (v128.load (i32.add (local.get $sp) (local.get $i))))
          (v128.store (i32.add (local.get $ap) (local.get $i))
            (f32x4.sub (f32x4.mul (local.get $a) (local.get $c)) (f32x4.mul (local.get $b) (local.get $s))))
          (v128.store (i32.add (local.get $bp) (local.get $i))
            (f32x4.add (f32x4.mul (local.get $b) (local.get $c)) (f32x4.mul (local.get $a) (local.get $s))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $v_next)))
        (block $s_done (loop $s_next
          (br_if $s_done (i32.ge_u (local.get $i) (local.get $halfb)))
          (local.set $af (f32.load (i32.add (local.get $ap) (local.get $i))))
          (local.set $bf (f32.load (i32.add (local.get $bp) (local.get $i))))
          (local.set $cf (f32.load (i32.add (local.get $cp) (local.get $i))))
          (local.set $sf (f32.load (i32.add (local.get $sp) (local.get $i))))
          (f32.store (i32.add (local.get $ap) (local.get $i))
            (f32.sub (f32.mul (local.get $af) (local.get $cf)) (f32.mul (local.get $bf) (local.get $sf))))
          (f32.store (i32.add (local.get $bp) (local.get $i))
            (f32.add (f32.mul (local.get $bf) (local.get $cf)) (f32.mul (local.get $af) (local.get $sf))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $s_next)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $h_next)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $t_next))))

  ;; ------------------------------------------------------------- sampling

  ;; row_max returns the largest of the n floats at p, taken as "v > max"
  ;; from -inf: NaN is ignored (pmax(m, v) is m < v ? v : m). When $write is
  ;; not 0 it also writes quant.logitStatsGeneric's group maxima at g: lane
  ;; j of a block of 64 values' maximum vector is group j (so group j of
  ;; block b is at g + 16b + 4j), plus 0 (a zero maximum is +0).
  (func $row_max (param $g i32) (param $p i32) (param $n i32) (param $write i32) (result f32)
    (local $b i32) (local $i i32) (local $nb i32) (local $q i32) (local $gp i32)
    (local $vm v128) (local $bm v128) (local $mx f32) (local $v f32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vm (v128.const f32x4 -inf -inf -inf -inf))
    (block $d1 (loop $l1
      (br_if $d1 (i32.gt_u (i32.add (local.get $b) (i32.const 256)) (local.get $nb)))
      (local.set $q (i32.add (local.get $p) (local.get $b)))
      (local.set $bm (f32x4.pmax (v128.const f32x4 -inf -inf -inf -inf) (v128.load (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=16 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=32 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=48 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=64 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=80 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=96 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=112 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=128 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=144 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=160 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=176 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=192 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=208 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=224 (local.get $q))))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load offset=240 (local.get $q))))
      (local.set $vm (f32x4.pmax (local.get $vm) (local.get $bm)))
      (if (local.get $write) (then
        (v128.store (i32.add (local.get $g) (i32.shr_u (local.get $b) (i32.const 4)))
          (f32x4.add (local.get $bm) (v128.const f32x4 0 0 0 0)))))
      (local.set $b (i32.add (local.get $b) (i32.const 256)))
      (br $l1)))
    ;; the last, partial block: vectors of 4, then values one by one
    (local.set $bm (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $i (local.get $b))
    (block $d2 (loop $l2
      (br_if $d2 (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $nb)))
      (local.set $bm (f32x4.pmax (local.get $bm) (v128.load (i32.add (local.get $p) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l2)))
    (local.set $mx (call $hmax_f32 (f32x4.pmax (local.get $vm) (local.get $bm))))
    (local.set $gp (i32.add (local.get $g) (i32.shr_u (local.get $b) (i32.const 4))))
    (local.set $write (i32.and (i32.ne (local.get $write) (i32.const 0)) (i32.lt_u (local.get $b) (local.get $nb))))
    (if (local.get $write) (then (v128.store (local.get $gp) (local.get $bm))))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (local.get $nb)))
      (local.set $v (f32.load (i32.add (local.get $p) (local.get $i))))
      (if (f32.gt (local.get $v) (local.get $mx)) (then (local.set $mx (local.get $v))))
      (if (local.get $write) (then
        (local.set $q (i32.add (local.get $gp) (i32.and (local.get $i) (i32.const 12))))
        (if (f32.gt (local.get $v) (f32.load (local.get $q))) (then (f32.store (local.get $q) (local.get $v))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l3)))
    (if (local.get $write) (then
      (v128.store (local.get $gp) (f32x4.add (v128.load (local.get $gp)) (v128.const f32x4 0 0 0 0)))))
    (local.get $mx))

  ;; max_range is the largest of the floats at p + 4i for from <= i < to,
  ;; as row_max takes it (-inf when there is none).
  (func $max_range (param $p i32) (param $from i32) (param $to i32) (result f32)
    (local $i i32) (local $vm v128) (local $mx f32) (local $v f32)
    (local.set $vm (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $i (local.get $from))
    (block $d1 (loop $l1
      (br_if $d1 (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $to)))
      (local.set $vm (f32x4.pmax (local.get $vm) (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l1)))
    (local.set $mx (call $hmax_f32 (local.get $vm)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $to)))
      (local.set $v (f32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
      (if (f32.gt (local.get $v) (local.get $mx)) (then (local.set $mx (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    (local.get $mx))

  ;; find_f32 is the first i in [from, n) whose float at p + 4i equals v, or -1.
  (func $find_f32 (param $p i32) (param $from i32) (param $n i32) (param $v f32) (result i32)
    (local $i i32) (local $vv v128) (local $eq v128)
    (local.set $vv (f32x4.splat (local.get $v)))
    (local.set $i (local.get $from))
    (block $d1 (loop $l1
      (br_if $d1 (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
      (local.set $eq (f32x4.eq (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))) (local.get $vv)))
      (if (v128.any_true (local.get $eq))
        (then (return (i32.add (local.get $i) (i32.ctz (i32x4.bitmask (local.get $eq)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l1)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
      (if (f32.eq (f32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))) (local.get $v))
        (then (return (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    (i32.const -1))

  ;; exp_sums stores, for the n floats x at p and d = x - m (float32),
  ;; Σ expf(d) at out+8 and, when $entropy is not 0, Σ expf(d)·max(d, -88)
  ;; at out+16 (else 0), in float64 in quant.sum4's order: lanes 0, 1 of
  ;; s0 and t0 and lanes 0, 1 of s1 and t1 are sum4's lanes 0-3, added up
  ;; as (l0+l2) + (l1+l3), then the last n%4 values one by one. The
  ;; exponential is exp4, inline as in exp_shift.
  (func $exp_sums (param $out i32) (param $p i32) (param $n i32) (param $m f32) (param $entropy i32)
    (local $i i32) (local $n4 i32) (local $nb i32) (local $vm v128) (local $d v128) (local $e v128)
    (local $elo v128) (local $ehi v128) (local $s0 v128) (local $s1 v128) (local $t0 v128) (local $t1 v128)
    (local $ds f32) (local $es f64) (local $sum f64) (local $sumED f64)
    (local $k_hi v128) (local $k_lo v128) (local $k_log2e v128) (local $k_magic v128) (local $k_ln2hi v128) (local $k_ln2lo v128) (local $k_p0 v128) (local $k_p1 v128) (local $k_p2 v128) (local $k_p3 v128) (local $k_p4 v128) (local $k_p5 v128) (local $k_one v128) (local $k_bias v128)
    (local $ex v128) (local $et v128) (local $en v128) (local $ey v128) (local $ez v128)
    (local.set $k_hi (v128.const f32x4 88 88 88 88))
    (local.set $k_lo (v128.const f32x4 -88 -88 -88 -88))
    (local.set $k_log2e (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
    (local.set $k_magic (v128.const f32x4 12582912 12582912 12582912 12582912))
    (local.set $k_ln2hi (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
    (local.set $k_ln2lo (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))
    (local.set $k_p0 (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $k_p1 (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3))
    (local.set $k_p2 (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3))
    (local.set $k_p3 (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2))
    (local.set $k_p4 (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1))
    (local.set $k_p5 (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1))
    (local.set $k_one (v128.const f32x4 1 1 1 1))
    (local.set $k_bias (v128.const i32x4 0x4b3fff81 0x4b3fff81 0x4b3fff81 0x4b3fff81))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vm (f32x4.splat (local.get $m)))
    (if (local.get $entropy)
      (then (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $vm)))
        (local.set $ex (f32x4.pmax (f32x4.pmin (local.get $d) (local.get $k_hi)) (local.get $k_lo)))
        (local.set $et (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_log2e)) (local.get $k_magic)))
        (local.set $en (f32x4.sub (local.get $et) (local.get $k_magic)))
        (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2hi))))
        (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2lo))))
        (local.set $ez (f32x4.mul (local.get $ex) (local.get $ex)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_p0)) (local.get $k_p1)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p2)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p3)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p4)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p5)))
        (local.set $ey (f32x4.add (f32x4.add (f32x4.mul (local.get $ey) (local.get $ez)) (local.get $ex)) (local.get $k_one)))
        (local.set $e (f32x4.mul (local.get $ey) (i32x4.shl (i32x4.sub (local.get $et) (local.get $k_bias)) (i32.const 23))))
        (local.set $elo (f64x2.promote_low_f32x4 (local.get $e)))
        (local.set $ehi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e))))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $elo)))
        (local.set $s1 (f64x2.add (local.get $s1) (local.get $ehi)))
        ;; d clamped below as expf clamps (pmax(d, -88) is d < -88 ? -88 : d, NaN stays)
        (local.set $d (f32x4.pmax (local.get $d) (local.get $k_lo)))
        (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (local.get $elo) (f64x2.promote_low_f32x4 (local.get $d)))))
        (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (local.get $ehi)
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l1))))
      (else (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $vm)))
        (local.set $ex (f32x4.pmax (f32x4.pmin (local.get $d) (local.get $k_hi)) (local.get $k_lo)))
        (local.set $et (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_log2e)) (local.get $k_magic)))
        (local.set $en (f32x4.sub (local.get $et) (local.get $k_magic)))
        (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2hi))))
        (local.set $ex (f32x4.sub (local.get $ex) (f32x4.mul (local.get $en) (local.get $k_ln2lo))))
        (local.set $ez (f32x4.mul (local.get $ex) (local.get $ex)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ex) (local.get $k_p0)) (local.get $k_p1)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p2)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p3)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p4)))
        (local.set $ey (f32x4.add (f32x4.mul (local.get $ey) (local.get $ex)) (local.get $k_p5)))
        (local.set $ey (f32x4.add (f32x4.add (f32x4.mul (local.get $ey) (local.get $ez)) (local.get $ex)) (local.get $k_one)))
        (local.set $e (f32x4.mul (local.get $ey) (i32x4.shl (i32x4.sub (local.get $et) (local.get $k_bias)) (i32.const 23))))
        (local.set $elo (f64x2.promote_low_f32x4 (local.get $e)))
        (local.set $ehi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e))))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $elo)))
        (local.set $s1 (f64x2.add (local.get $s1) (local.get $ehi)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l2)))))
    (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
    (local.set $sum (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
    (local.set $t0 (f64x2.add (local.get $t0) (local.get $t1)))
    (local.set $sumED (f64.add (f64x2.extract_lane 0 (local.get $t0)) (f64x2.extract_lane 1 (local.get $t0))))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (local.get $nb)))
      (local.set $ds (f32.sub (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $m)))
      (local.set $es (f64.promote_f32 (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (local.get $ds))))))
      (local.set $sum (f64.add (local.get $sum) (local.get $es)))
      (if (local.get $entropy) (then
        (local.set $sumED (f64.add (local.get $sumED) (f64.mul (local.get $es)
          (f64.promote_f32 (select (f32.const -88) (local.get $ds) (f32.lt (local.get $ds) (f32.const -88)))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l3)))
    (f64.store offset=8 (local.get $out) (local.get $sum))
    (f64.store offset=16 (local.get $out) (local.get $sumED)))

  ;; logit_stats is quant.logitStatsGeneric for the n logits at p. It writes
  ;; at out: Best (i32), Second (i32), Sum (f64 at out+8), SumED (f64 at
  ;; out+16). want: 1 Second, 2 SumED, 4 write the group maxima at g
  ;; (quant.LogitGroups(n) floats). Reads the logits only.
  (func $logit_stats (export "logit_stats") (param $out i32) (param $g i32) (param $p i32) (param $n i32) (param $want i32)
    (local $mx f32) (local $s f32) (local $t f32) (local $best i32) (local $second i32)
    (i32.store (local.get $out) (i32.const -1))
    (i32.store offset=4 (local.get $out) (i32.const -1))
    (f64.store offset=8 (local.get $out) (f64.const nan))
    (f64.store offset=16 (local.get $out) (f64.const nan))
    (local.set $mx (call $row_max (local.get $g) (local.get $p) (local.get $n) (i32.and (local.get $want) (i32.const 4))))
    (local.set $best (call $find_f32 (local.get $p) (i32.const 0) (local.get $n) (local.get $mx)))
    (if (i32.lt_s (local.get $best) (i32.const 0)) (then (return)))
    (i32.store (local.get $out) (local.get $best))
    (call $exp_sums (local.get $out) (local.get $p) (local.get $n)
      (f32.load (i32.add (local.get $p) (i32.shl (local.get $best) (i32.const 2))))
      (i32.and (local.get $want) (i32.const 2)))
    (if (i32.and (local.get $want) (i32.const 1)) (then
      (local.set $s (call $max_range (local.get $p) (i32.const 0) (local.get $best)))
      (local.set $t (call $max_range (local.get $p) (i32.add (local.get $best) (i32.const 1)) (local.get $n)))
      (if (f32.gt (local.get $t) (local.get $s)) (then (local.set $s (local.get $t))))
      (local.set $second (call $find_f32 (local.get $p) (i32.const 0) (local.get $n) (local.get $s)))
      (if (i32.eq (local.get $second) (local.get $best)) (then
        (local.set $second (call $find_f32 (local.get $p) (i32.add (local.get $best) (i32.const 1)) (local.get $n) (local.get $s)))))
      (i32.store offset=4 (local.get $out) (local.get $second)))))
)

;; The forwarding module between the Go program and the kernel module.
;;
;; Go imports its kernels (//go:wasmimport kernels NAME) when it is
;; instantiated, but the kernel module can only be instantiated afterwards,
;; with Go's memory. So Go imports these forwarders instead; each one calls
;; through a slot of the exported table, which the loader (kernels.js) fills
;; with the kernel module's functions once both exist. Calls stay inside
;; WebAssembly: no JavaScript on the path.
;;
;; This module uses no SIMD, so it instantiates everywhere; when SIMD is
;; absent the slots stay empty and `level` stays 0, and Go never calls them.
;; Slot 10 holds the relaxed-SIMD int8 product, filled only at level 2.
;;
;; Slot order (kernels.js fills them in the same order):
;;   0 matmul_q8  1 matmul_f32  2 quantize  3 dot_f32  4 axpy_f32
;;   5 attention  6 rmsnorm     7 silu_mul   8 rope       9 logit_stats
;;   10 relaxed_matmul_q8
(module
  (type $matmul_q8 (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (type $matmul_f32 (func (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (type $quantize (func (param i32 i32 i32 i32 i32)))
  (type $dot_f32 (func (param i32 i32 i32) (result f32)))
  (type $axpy_f32 (func (param f32 i32 i32 i32)))
  (type $attention (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 f32)))
  (type $rmsnorm (func (param i32 i32 i32 i32 i32 f64)))
  (type $silu_mul (func (param i32 i32 i32)))
  (type $rope (func (param i32 i32 i32 i32 i32 i32)))
  (type $logit_stats (func (param i32 i32 i32 i32 i32)))

  (table (export "table") 11 funcref)

  ;; level says which kernels fill the table: 0 none (use the Go
  ;; references), 1 SIMD128, 2 SIMD128 with the relaxed-SIMD variants.
  (global $level (export "level") (mut i32) (i32.const 0))
  (func (export "kernel_level") (result i32) (global.get $level))

  ;; fastest is the level whose int8 product the loader timed fastest
  ;; (relaxed SIMD is not faster everywhere).
  (global $fastest (export "fastest") (mut i32) (i32.const 0))
  (func (export "kernel_fastest") (result i32) (global.get $fastest))

  (func (export "matmul_q8") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (call_indirect (type $matmul_q8)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (i32.const 0)))
  (func (export "matmul_f32") (param i32 i32 i32 i32 i32 i32 i32 i32)
    (call_indirect (type $matmul_f32)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (local.get 6) (local.get 7) (i32.const 1)))
  (func (export "quantize") (param i32 i32 i32 i32 i32)
    (call_indirect (type $quantize)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (i32.const 2)))
  (func (export "dot_f32") (param i32 i32 i32) (result f32)
    (call_indirect (type $dot_f32) (local.get 0) (local.get 1) (local.get 2) (i32.const 3)))
  (func (export "axpy_f32") (param f32 i32 i32 i32)
    (call_indirect (type $axpy_f32) (local.get 0) (local.get 1) (local.get 2) (local.get 3) (i32.const 4)))
  (func (export "attention") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 f32)
    (call_indirect (type $attention)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11) (i32.const 5)))
  (func (export "rmsnorm") (param i32 i32 i32 i32 i32 f64)
    (call_indirect (type $rmsnorm)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (i32.const 6)))
  (func (export "silu_mul") (param i32 i32 i32)
    (call_indirect (type $silu_mul) (local.get 0) (local.get 1) (local.get 2) (i32.const 7)))
  (func (export "rope") (param i32 i32 i32 i32 i32 i32)
    (call_indirect (type $rope)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (i32.const 8)))
  (func (export "logit_stats") (param i32 i32 i32 i32 i32)
    (call_indirect (type $logit_stats)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (i32.const 9)))
  (func (export "relaxed_matmul_q8") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (call_indirect (type $matmul_q8)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (i32.const 10)))
)

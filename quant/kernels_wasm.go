//go:build js && wasm && !purego

package quant

import "unsafe"

// The WebAssembly SIMD kernels (quant/wasm/kernels.wat, assembled into web/kernels/kernels.wasm) are imported from
// the module "kernels", which the loader web/kernels/kernels.js provides:
// a forwarding module (quant/wasm/glue.wat) whose functions call through
// a table that the loader fills with the kernel module's functions once
// that module is instantiated with this program's memory. Pointers are
// addresses in that memory; every call is preceded by a bounds check here.
//
// Glue cost, measured with BenchmarkKernelCall (DotF32 of 4 values through
// the kernel set, bounds check included; best of 9 runs) under Node 20 on a
// 2-core AMD EPYC:
//
//	forwarding module + table (kernels.js glue "table"):  35-40 ns/call
//	JavaScript trampolines   (kernels.js glue "js"):     44-46 ns/call
//	the same dot in plain Go, no call out:               19-21 ns
//
// so the loader uses the table. Most of a call is Go's own calling
// sequence in wasm, so kernels are worth calling only for work of a
// microsecond or more: the engine should call Attention per head, not
// DotF32 per key.

// The //go:wasmimport declarations are generated from the kernel list
// (kernels_wasm_imports_gen.go).

// Kernel levels the loader reports through the glue module.
const (
	levelNone    = 0 // no SIMD128: only the Go references
	levelSIMD    = 1 // kernels.wasm
	levelRelaxed = 2 // kernels.wasm and kernels_relaxed.wasm (self-test passed)
)

// platformKernels offers the kernel sets the loader installed, the one
// the loader timed fastest last. Relaxed SIMD replaces only the int8
// product: for float32 work, V8 11 made f32x4.relaxed_madd slower than
// f32x4.mul + f32x4.add (see quant/wasm/kernels_relaxed.wat).
func platformKernels() []kernelSet {
	level := kernelLevel()
	if level == levelNone {
		return nil
	}
	simd := kernelSet{
		name:                "simd",
		matMulF32:           simdMatMulF32,
		matMulQ8:            simdMatMulQ8,
		quantizeActivations: simdQuantize,
		dotF32:              simdDotF32,
		axpyF32:             simdAxpyF32,
		attention:           simdAttention,
		rmsNorm:             simdRMSNorm,
		siluMul:             simdSiLUMul,
		rope:                simdRoPE,
		logitStats:          simdLogitStats,
	}
	if level < levelRelaxed {
		return []kernelSet{simd}
	}
	relaxed := simd
	relaxed.name = "relaxed-simd"
	relaxed.matMulQ8 = relaxedMatMulQ8
	if kernelFastest() == levelSIMD {
		return []kernelSet{relaxed, simd}
	}
	return []kernelSet{simd, relaxed}
}

// ptr is the address of a slice's first element (nil for a nil slice, which
// the kernels never dereference: the checks allow it only for empty work).
func ptr[E any](s []E) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }

func simdMatMulQ8(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	boundsMatMulQ8(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
	wasmMatMulQ8(ptr(y), ptr(xq), ptr(xs), ptr(wq), ptr(ws),
		uint32(T), uint32(rows), uint32(cols), uint32(group), uint32(r0), uint32(r1))
}

func relaxedMatMulQ8(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	boundsMatMulQ8(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
	wasmRelaxedMatMulQ8(ptr(y), ptr(xq), ptr(xs), ptr(wq), ptr(ws),
		uint32(T), uint32(rows), uint32(cols), uint32(group), uint32(r0), uint32(r1))
}

func simdMatMulF32(y, x, w []float32, T, rows, cols, r0, r1 int) {
	boundsMatMulF32(y, x, w, T, rows, cols, r0, r1)
	wasmMatMulF32(ptr(y), ptr(x), ptr(w), uint32(T), uint32(rows), uint32(cols), uint32(r0), uint32(r1))
}

func simdQuantize(q []int8, scales []float32, x []float32, group int) {
	boundsQuantize(q, scales, x, group)
	wasmQuantize(ptr(q), ptr(scales), ptr(x), uint32(len(x)), uint32(group))
}

func simdDotF32(a, b []float32) float32 {
	boundsPair("DotF32", len(a), len(b))
	return wasmDotF32(ptr(a), ptr(b), uint32(len(a)))
}

func simdAxpyF32(a float32, x, y []float32) {
	boundsPair("AxpyF32", len(x), len(y))
	wasmAxpyF32(a, ptr(x), ptr(y), uint32(len(x)))
}

func simdAttention(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int, scale float32) {
	boundsAttention(out, ldo, q, ldq, k, v, ldkv, scores, nq, T, hd)
	wasmAttention(ptr(out), uint32(ldo), ptr(q), uint32(ldq), ptr(k), ptr(v), uint32(ldkv), ptr(scores),
		uint32(nq), uint32(T), uint32(hd), scale)
}

func simdRMSNorm(out, x, w []float32, eps float64) {
	boundsRMSNorm(out, x, w)
	wasmRMSNorm(ptr(out), ptr(x), ptr(w), uint32(len(w)), uint32(len(x)/len(w)), eps)
}

func simdSiLUMul(gate, up []float32) {
	boundsPair("SiLUMul", len(gate), len(up))
	wasmSiLUMul(ptr(gate), ptr(up), uint32(len(gate)))
}

func simdRoPE(buf, cos, sin []float32, T, heads, hd int) {
	boundsRoPE(buf, cos, sin, T, heads, hd)
	wasmRoPE(ptr(buf), ptr(cos), ptr(sin), uint32(T), uint32(heads), uint32(hd))
}

// logitStatsOut is what logit_stats writes: Best, Second (i32), Sum and
// SumED (f64 at 8 and 16).
type logitStatsOut struct {
	best, second int32
	sum, sumED   float64
}

func simdLogitStats(groupMax, row []float32, want int) LogitStats {
	boundsLogitStats(groupMax, row)
	var out logitStatsOut
	flags := uint32(want & (LogitSecond | LogitEntropy))
	if groupMax != nil {
		flags |= logitGroupMax
	}
	wasmLogitStats(unsafe.Pointer(&out), ptr(groupMax), ptr(row), uint32(len(row)), flags)
	return LogitStats{Best: int(out.best), Second: int(out.second), Sum: out.sum, SumED: out.sumED}
}

//go:build !(js && wasm)

package quant

import (
	"math"
	"slices"
	"unsafe"
)

// WasmHost is an instance of the WebAssembly kernel module with a memory of
// its own, as tests run it natively (quant/internal/wasmhost runs it in
// wazero): Lock takes it for one call and empties its memory, Put copies
// operands in and returns their address, Get copies results out, Call runs
// a kernel.
type WasmHost interface {
	Lock() (unlock func())
	Put(b []byte) uint32
	Get(addr uint32, dst []byte)
	Call(name string, params ...uint64) uint64
}

// WasmHostPath names the kernel path of RegisterWasmHost.
const WasmHostPath = "wazero-simd"

// RegisterWasmHost offers the WebAssembly kernels of h as the kernel path
// WasmHostPath, after the platform's (UseKernels("auto") never picks it).
// Tests call it, through quant/quanttest, to run the SIMD kernels natively;
// the same bounds checks as in the browser come first. A second call
// changes nothing.
func RegisterWasmHost(h WasmHost) {
	if !slices.ContainsFunc(hostKernels, func(k kernelSet) bool { return k.name == WasmHostPath }) {
		hostKernels = append(hostKernels, hostKernelSet(h))
	}
}

func sliceBytes[E any](s []E) []byte {
	var e E
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(e)))
}

func hostPut[E any](w WasmHost, s []E) uint64 { return uint64(w.Put(sliceBytes(s))) }

func hostGet[E any](w WasmHost, addr uint64, dst []E) { w.Get(uint32(addr), sliceBytes(dst)) }

func u(n int) uint64 { return uint64(uint32(n)) }

func encodeF32(v float32) uint64 { return uint64(math.Float32bits(v)) }
func decodeF32(v uint64) float32 { return math.Float32frombits(uint32(v)) }
func encodeF64(v float64) uint64 { return math.Float64bits(v) }

// hostKernelSet calls the kernels of w: each call checks its operands as
// the browser's kernels do, copies them in, runs the kernel and copies the
// outputs back.
func hostKernelSet(w WasmHost) kernelSet {
	lock := w.Lock
	return kernelSet{
		name: WasmHostPath,
		matMulQ8: func(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
			boundsMatMulQ8(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
			defer lock()()
			py := hostPut(w, y)
			w.Call("matmul_q8", py, hostPut(w, xq), hostPut(w, xs), hostPut(w, wq), hostPut(w, ws), u(T), u(rows), u(cols), u(group), u(r0), u(r1))
			hostGet(w, py, y)
		},
		matMulF32: func(y, x, wm []float32, T, rows, cols, r0, r1 int) {
			boundsMatMulF32(y, x, wm, T, rows, cols, r0, r1)
			defer lock()()
			py := hostPut(w, y)
			w.Call("matmul_f32", py, hostPut(w, x), hostPut(w, wm), u(T), u(rows), u(cols), u(r0), u(r1))
			hostGet(w, py, y)
		},
		quantizeActivations: func(q []int8, scales []float32, x []float32, group int) {
			boundsQuantize(q, scales, x, group)
			defer lock()()
			pq, ps := hostPut(w, q), hostPut(w, scales)
			w.Call("quantize", pq, ps, hostPut(w, x), u(len(x)), u(group))
			hostGet(w, pq, q)
			hostGet(w, ps, scales)
		},
		dotF32: func(a, b []float32) float32 {
			boundsPair("DotF32", len(a), len(b))
			defer lock()()
			return decodeF32(w.Call("dot_f32", hostPut(w, a), hostPut(w, b), u(len(a))))
		},
		axpyF32: func(a float32, x, y []float32) {
			boundsPair("AxpyF32", len(x), len(y))
			defer lock()()
			py := hostPut(w, y)
			w.Call("axpy_f32", encodeF32(a), hostPut(w, x), py, u(len(x)))
			hostGet(w, py, y)
		},
		attention: func(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int, scale float32) {
			boundsAttention(out, ldo, q, ldq, k, v, ldkv, scores, nq, T, hd)
			defer lock()()
			po, ps := hostPut(w, out), hostPut(w, scores)
			w.Call("attention", po, u(ldo), hostPut(w, q), u(ldq), hostPut(w, k), hostPut(w, v), u(ldkv), ps,
				u(nq), u(T), u(hd), encodeF32(scale))
			hostGet(w, po, out)
			hostGet(w, ps, scores)
		},
		rmsNorm: func(out, x, wt []float32, eps float64) {
			boundsRMSNorm(out, x, wt)
			defer lock()()
			po := hostPut(w, out)
			w.Call("rmsnorm", po, hostPut(w, x), hostPut(w, wt), u(len(wt)), u(len(x)/len(wt)), encodeF64(eps))
			hostGet(w, po, out)
		},
		siluMul: func(gate, up []float32) {
			boundsPair("SiLUMul", len(gate), len(up))
			defer lock()()
			pg := hostPut(w, gate)
			w.Call("silu_mul", pg, hostPut(w, up), u(len(gate)))
			hostGet(w, pg, gate)
		},
		rope: func(buf, cos, sin []float32, T, heads, hd int) {
			boundsRoPE(buf, cos, sin, T, heads, hd)
			defer lock()()
			pb := hostPut(w, buf)
			w.Call("rope", pb, hostPut(w, cos), hostPut(w, sin), u(T), u(heads), u(hd))
			hostGet(w, pb, buf)
		},
		logitStats: func(groupMax, row []float32, want int) LogitStats {
			boundsLogitStats(groupMax, row)
			defer lock()()
			var out [3]uint64 // best and second (int32), sum, sumED
			flags := want & (LogitSecond | LogitEntropy)
			pg := uint64(0)
			if groupMax != nil {
				flags |= logitGroupMax
				pg = hostPut(w, groupMax)
			}
			po := hostPut(w, out[:])
			w.Call("logit_stats", po, pg, hostPut(w, row), u(len(row)), u(flags))
			hostGet(w, po, out[:])
			if groupMax != nil {
				hostGet(w, pg, groupMax)
			}
			return LogitStats{Best: int(int32(out[0])), Second: int(int32(out[0] >> 32)),
				Sum: math.Float64frombits(out[1]), SumED: math.Float64frombits(out[2])}
		},
	}
}

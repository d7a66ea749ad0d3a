//go:build !(js && wasm)

package quant

import (
	"context"
	"math"
	"os"
	"sync"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Natively, the WebAssembly kernels run in wazero (a pure Go runtime with
// SIMD128; it has no relaxed SIMD) on a memory of their own: each call
// copies its slices in, runs the kernel and copies the outputs back.

const kernelsWasm = "../web/kernels/kernels.wasm"

// memoryModule is (module (memory (export "memory") 1)): the kernels'
// env.memory, standing in for the Go program's memory.
var memoryModule = []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
	5, 3, 1, 0, 1, // memory section: one memory, min 1 page
	7, 10, 1, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0} // export "memory"

type wazeroKernels struct {
	mu  sync.Mutex
	ctx context.Context
	mem api.Memory
	mod api.Module
	top uint32 // bump allocator over mem, reset by each call
}

var (
	wazeroOnce sync.Once
	wazeroSet  *wazeroKernels
	wazeroErr  error
)

func loadWazeroKernels() (*wazeroKernels, error) {
	ctx := context.Background()
	code, err := os.ReadFile(kernelsWasm)
	if err != nil {
		return nil, err
	}
	r := wazero.NewRuntime(ctx)
	env, err := r.InstantiateWithConfig(ctx, memoryModule, wazero.NewModuleConfig().WithName("env"))
	if err != nil {
		return nil, err
	}
	mod, err := r.InstantiateWithConfig(ctx, code, wazero.NewModuleConfig().WithName("kernels"))
	if err != nil {
		return nil, err
	}
	return &wazeroKernels{ctx: ctx, mem: env.Memory(), mod: mod}, nil
}

func fastKernelSets(tb testing.TB) []kernelSet {
	wazeroOnce.Do(func() { wazeroSet, wazeroErr = loadWazeroKernels() })
	if wazeroErr != nil {
		tb.Fatalf("loading %s into wazero: %v", kernelsWasm, wazeroErr)
	}
	return append([]kernelSet{wazeroSet.set()}, platformKernels()...)
}

func bytesOf[E any](s []E) []byte {
	var e E
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(e)))
}

// put copies s into the kernels' memory, 16-byte aligned, and returns its address.
func put[E any](w *wazeroKernels, s []E) uint64 {
	b := bytesOf(s)
	addr := (w.top + 15) &^ 15
	w.top = addr + uint32(len(b))
	if w.top > w.mem.Size() {
		if _, ok := w.mem.Grow((w.top-w.mem.Size())/65536 + 1); !ok {
			panic("wazero memory cannot grow")
		}
	}
	if !w.mem.Write(addr, b) {
		panic("wazero memory write out of range")
	}
	return uint64(addr)
}

// get copies len(dst) elements at addr back into dst.
func get[E any](w *wazeroKernels, addr uint64, dst []E) {
	b := bytesOf(dst)
	src, ok := w.mem.Read(uint32(addr), uint32(len(b)))
	if !ok {
		panic("wazero memory read out of range")
	}
	copy(b, src)
}

func (w *wazeroKernels) call(name string, params ...uint64) uint64 {
	res, err := w.mod.ExportedFunction(name).Call(w.ctx, params...)
	if err != nil {
		panic(name + ": " + err.Error())
	}
	if len(res) > 0 {
		return res[0]
	}
	return 0
}

func u(n int) uint64 { return uint64(uint32(n)) }

func (w *wazeroKernels) set() kernelSet {
	lock := func() func() { w.mu.Lock(); w.top = 0; return w.mu.Unlock }
	return kernelSet{
		name: "wazero-simd",
		matMulQ8: func(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
			boundsMatMulQ8(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
			defer lock()()
			py := put(w, y)
			w.call("matmul_q8", py, put(w, xq), put(w, xs), put(w, wq), put(w, ws), u(T), u(rows), u(cols), u(group), u(r0), u(r1))
			get(w, py, y)
		},
		matMulF32: func(y, x, wm []float32, T, rows, cols, r0, r1 int) {
			boundsMatMulF32(y, x, wm, T, rows, cols, r0, r1)
			defer lock()()
			py := put(w, y)
			w.call("matmul_f32", py, put(w, x), put(w, wm), u(T), u(rows), u(cols), u(r0), u(r1))
			get(w, py, y)
		},
		quantizeActivations: func(q []int8, scales []float32, x []float32, group int) {
			boundsQuantize(q, scales, x, group)
			defer lock()()
			pq, ps := put(w, q), put(w, scales)
			w.call("quantize", pq, ps, put(w, x), u(len(x)), u(group))
			get(w, pq, q)
			get(w, ps, scales)
		},
		dotF32: func(a, b []float32) float32 {
			boundsPair("DotF32", len(a), len(b))
			defer lock()()
			return api.DecodeF32(w.call("dot_f32", put(w, a), put(w, b), u(len(a))))
		},
		axpyF32: func(a float32, x, y []float32) {
			boundsPair("AxpyF32", len(x), len(y))
			defer lock()()
			py := put(w, y)
			w.call("axpy_f32", api.EncodeF32(a), put(w, x), py, u(len(x)))
			get(w, py, y)
		},
		attention: func(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int, scale float32) {
			boundsAttention(out, ldo, q, ldq, k, v, ldkv, scores, nq, T, hd)
			defer lock()()
			po, ps := put(w, out), put(w, scores)
			w.call("attention", po, u(ldo), put(w, q), u(ldq), put(w, k), put(w, v), u(ldkv), ps,
				u(nq), u(T), u(hd), api.EncodeF32(scale))
			get(w, po, out)
			get(w, ps, scores)
		},
		rmsNorm: func(out, x, wt []float32, eps float64) {
			boundsRMSNorm(out, x, wt)
			defer lock()()
			po := put(w, out)
			w.call("rmsnorm", po, put(w, x), put(w, wt), u(len(wt)), u(len(x)/len(wt)), api.EncodeF64(eps))
			get(w, po, out)
		},
		siluMul: func(gate, up []float32) {
			boundsPair("SiLUMul", len(gate), len(up))
			defer lock()()
			pg := put(w, gate)
			w.call("silu_mul", pg, put(w, up), u(len(gate)))
			get(w, pg, gate)
		},
		rope: func(buf, cos, sin []float32, T, heads, hd int) {
			boundsRoPE(buf, cos, sin, T, heads, hd)
			defer lock()()
			pb := put(w, buf)
			w.call("rope", pb, put(w, cos), put(w, sin), u(T), u(heads), u(hd))
			get(w, pb, buf)
		},
		logitStats: func(groupMax, row []float32, want int) LogitStats {
			boundsLogitStats(groupMax, row)
			defer lock()()
			var out [3]uint64 // best and second (int32), sum, sumED
			flags := want & (LogitSecond | LogitEntropy)
			pg := uint64(0)
			if groupMax != nil {
				flags |= logitGroupMax
				pg = put(w, groupMax)
			}
			po := put(w, out[:])
			w.call("logit_stats", po, pg, put(w, row), u(len(row)), u(flags))
			get(w, po, out[:])
			if groupMax != nil {
				get(w, pg, groupMax)
			}
			return LogitStats{Best: int(int32(out[0])), Second: int(int32(out[0] >> 32)),
				Sum: math.Float64frombits(out[1]), SumED: math.Float64frombits(out[2])}
		},
	}
}

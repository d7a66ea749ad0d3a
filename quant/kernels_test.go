package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every fast kernel set (fastKernelSets: the WebAssembly kernels, run
// natively through wazero or under Node by the loader, and the native
// kernels of this platform) is compared with the generic references on a
// table of shapes and by fuzzing. The kernels of the int8 forward pass
// (MatMulQ8, QuantizeActivations, Attention, RMSNorm, SiLUMul, RoPE,
// AxpyF32) must agree bit for bit, which is what makes an int8 model give
// the same logits on every path; MatMulF32 and DotF32 reorder their sums,
// so they must agree within a bound on the rounding error of any
// summation order.

type q8Shape struct{ T, rows, cols, group, r0, r1 int }

var q8Shapes = []q8Shape{
	{1, 1, 1, 1, 0, 1},
	{1, 4, 16, 16, 0, 4},
	{2, 4, 8, 8, 0, 4},
	{3, 5, 7, 7, 0, 5},
	{2, 9, 24, 8, 0, 9},
	{5, 13, 40, 20, 0, 13},
	{4, 6, 48, 3, 0, 6},
	{3, 7, 10, 4, 0, 7}, // cols not a multiple of group: the last 2 columns are ignored
	{7, 11, 33, 11, 0, 11},
	{2, 8, 64, 64, 3, 7},
	{6, 12, 64, 32, 5, 5},
	{1, 4096, 256, 256, 0, 4096},
	{256, 256, 256, 256, 0, 256},
	{256, 384, 256, 64, 0, 384},
	{33, 256, 384, 384, 100, 229},
	{3, 6, 48, 48, 0, 6},
	{5, 10, 80, 16, 1, 9},
	{4, 8, 40, 40, 0, 8},
	{9, 17, 100, 50, 2, 17},
}

type f32Shape struct{ T, rows, cols, r0, r1 int }

var f32Shapes = []f32Shape{
	{1, 1, 1, 0, 1},
	{1, 4, 4, 0, 4},
	{2, 5, 3, 0, 5},
	{3, 9, 17, 0, 9},
	{5, 13, 40, 2, 11},
	{7, 6, 64, 0, 6},
	{1, 1000, 256, 0, 1000},
	{256, 256, 256, 0, 256},
	{64, 384, 256, 17, 300},
}

type quantShape struct{ n, group int }

var quantShapes = []quantShape{
	{1, 1}, {3, 3}, {4, 4}, {7, 7}, {16, 16}, {17, 17}, {33, 11}, {100, 7},
	{101, 10}, {24, 24}, {40, 8}, {45, 15}, {256, 256}, {1024, 64}, {65536, 256},
}

type attnShape struct{ nq, T, hd, ldq, ldkv, ldo int }

var attnShapes = []attnShape{
	{1, 1, 1, 1, 1, 1},
	{1, 5, 3, 3, 3, 3},
	{2, 7, 16, 16, 16, 16},
	{3, 9, 20, 20, 20, 20},
	{5, 17, 23, 30, 25, 23},
	{2, 3, 64, 64, 64, 64},
	{4, 256, 64, 256, 256, 256},
	{256, 256, 64, 256, 128, 256},
	{7, 100, 32, 192, 64, 192},
	{4, 33, 40, 40, 40, 40},
	{6, 12, 24, 24, 24, 24},
	{9, 31, 17, 17, 19, 18},
	{3, 64, 64, 64, 64, 64},
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// randInt8s draws from [-128, 127], or from [-127, 127] (what quantisation
// produces, and the only range where the relaxed-SIMD kernel does its own
// work rather than handing it to the SIMD one) when symmetric.
func randInt8s(r *rand.Rand, n int, symmetric bool) []int8 {
	s := make([]int8, n)
	for i := range s {
		if symmetric {
			s[i] = int8(r.IntN(255) - 127)
		} else {
			s[i] = int8(r.IntN(256) - 128)
		}
	}
	return s
}

func randFloats(r *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64()) * scale
	}
	return s
}

// filled returns n copies of v: output buffers start with a sentinel so
// that writes outside the kernel's range show up.
func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

const sentinel = -12345.5

// sameBits reports whether a and b are the same float32 (any NaN matches any NaN).
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

func requireSameFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameBits(got[i], want[i]) {
			require.Failf(t, "different bits", "%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// sumBound is a bound on |computed - exact| for a float32 sum of n
// products whose absolute values sum to mag, in any order: γ_(n+1)·mag
// with γ_k = k·u/(1-k·u), u = 2^-24. Two implementations differ by at
// most twice that.
func sumBound(n int, mag float64) float64 {
	ku := float64(n+1) * 0x1p-24
	return 2 * ku / (1 - ku) * mag
}

func checkMatMulQ8(t *testing.T, k kernelSet, s q8Shape, seed uint64, symmetric bool) {
	t.Helper()
	r := newRand(seed)
	G := s.cols / s.group
	xq, wq := randInt8s(r, s.T*s.cols, symmetric), randInt8s(r, s.rows*s.cols, symmetric)
	xs, ws := randFloats(r, s.T*G, 0.01), randFloats(r, s.rows*G, 0.01)
	want, got := filled(s.T*s.rows, sentinel), filled(s.T*s.rows, sentinel)
	matMulQ8Generic(want, xq, xs, wq, ws, s.T, s.rows, s.cols, s.group, s.r0, s.r1)
	k.matMulQ8(got, xq, xs, wq, ws, s.T, s.rows, s.cols, s.group, s.r0, s.r1)
	requireSameFloats(t, "y", got, want)
}

func TestMatMulQ8Kernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for i, s := range q8Shapes {
			t.Run(fmt.Sprintf("%s/%+v", k.name, s), func(t *testing.T) {
				checkMatMulQ8(t, k, s, uint64(i), true)
				checkMatMulQ8(t, k, s, uint64(i), false)
			})
		}
	}
}

func checkMatMulF32(t *testing.T, k kernelSet, s f32Shape, x, w []float32) {
	t.Helper()
	want, got := filled(s.T*s.rows, sentinel), filled(s.T*s.rows, sentinel)
	matMulF32Generic(want, x, w, s.T, s.rows, s.cols, s.r0, s.r1)
	k.matMulF32(got, x, w, s.T, s.rows, s.cols, s.r0, s.r1)
	for tok := range s.T {
		for o := range s.rows {
			i := tok*s.rows + o
			if o < s.r0 || o >= s.r1 {
				requireSameFloats(t, "y outside [r0, r1)", got[i:i+1], want[i:i+1])
				continue
			}
			var mag float64
			for c := range s.cols {
				mag += math.Abs(float64(x[tok*s.cols+c]) * float64(w[o*s.cols+c]))
			}
			if d := math.Abs(float64(got[i]) - float64(want[i])); d > sumBound(s.cols, mag) {
				require.Failf(t, "outside the rounding bound", "y[%d] = %v, want %v (bound %g)", i, got[i], want[i], sumBound(s.cols, mag))
			}
		}
	}
}

func TestMatMulF32Kernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for i, s := range f32Shapes {
			t.Run(fmt.Sprintf("%s/%+v", k.name, s), func(t *testing.T) {
				r := newRand(uint64(i))
				checkMatMulF32(t, k, s, randFloats(r, s.T*s.cols, 1), randFloats(r, s.rows*s.cols, 1))
			})
		}
	}
}

func checkQuantize(t *testing.T, k kernelSet, x []float32, group int) {
	t.Helper()
	groups := len(x) / group
	wantQ, gotQ := make([]int8, len(x)), make([]int8, len(x))
	for i := range wantQ {
		wantQ[i], gotQ[i] = 99, 99 // beyond groups*group nothing is written
	}
	wantS, gotS := filled(groups, sentinel), filled(groups, sentinel)
	quantizeActivationsGeneric(wantQ, wantS, x, group)
	k.quantizeActivations(gotQ, gotS, x, group)
	requireSameFloats(t, "scales", gotS, wantS)
	for i := range wantQ {
		if gotQ[i] != wantQ[i] {
			require.Failf(t, "different int8", "q[%d] = %d, want %d (x = %v, scale %v)", i, gotQ[i], wantQ[i], x[i], wantS[min(i/group, groups-1)])
		}
	}
}

func TestQuantizeKernels(t *testing.T) {
	special := []struct {
		name  string
		x     []float32
		group int
	}{
		// scale 1: every x is its own rounding problem; ties go away from zero.
		{"ties", []float32{127, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5, -126.5, 0.49999997, -0.49999997,
			1.4999999, 3.5000002, -0, 0, 64}, 16},
		{"zeros", make([]float32, 37), 37},
		{"tiny", []float32{1e-45, -1e-45, 3e-45, 0, 1e-44, -2e-45, 1e-45}, 7},
		{"huge", []float32{3e38, -3.4e38, 1, -1, 2e38, 0.5}, 6},
		{"nan", []float32{1, float32(math.NaN()), -3, 2, 5, 6, 7, 8, 9}, 9},
		{"inf", []float32{1, float32(math.Inf(-1)), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, 17},
		{"zero group among others", append(make([]float32, 16), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), 16},
	}
	for _, k := range fastKernelSets(t) {
		for i, s := range quantShapes {
			t.Run(fmt.Sprintf("%s/%+v", k.name, s), func(t *testing.T) {
				checkQuantize(t, k, randFloats(newRand(uint64(i)), s.n, 3), s.group)
			})
		}
		for _, s := range special {
			t.Run(k.name+"/"+s.name, func(t *testing.T) { checkQuantize(t, k, s.x, s.group) })
		}
	}
}

func TestDotAxpyKernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for _, n := range []int{0, 1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 1000} {
			t.Run(fmt.Sprintf("%s/%d", k.name, n), func(t *testing.T) {
				r := newRand(uint64(n))
				a, b := randFloats(r, n, 1), randFloats(r, n+3, 1) // b longer than a: only len(a) counts
				var mag float64
				for i := range a {
					mag += math.Abs(float64(a[i]) * float64(b[i]))
				}
				got, want := k.dotF32(a, b), dotF32Generic(a, b)
				require.LessOrEqual(t, math.Abs(float64(got-want)), sumBound(n, mag), "dot = %v, want %v", got, want)
				// axpy does the same operations per element: exact.
				y1, y2 := append([]float32(nil), b...), append([]float32(nil), b...)
				k.axpyF32(0.37, a, y1)
				axpyF32Generic(0.37, a, y2)
				requireSameFloats(t, "y", y1, y2)
			})
		}
	}
}

func checkAttention(t *testing.T, k kernelSet, s attnShape, q, kk, v []float32, scale float32) {
	t.Helper()
	outLen := (s.nq-1)*s.ldo + s.hd
	want, got := filled(outLen, sentinel), filled(outLen, sentinel)
	attentionGeneric(want, s.ldo, q, s.ldq, kk, v, s.ldkv, make([]float32, s.T), s.nq, s.T, s.hd, scale)
	k.attention(got, s.ldo, q, s.ldq, kk, v, s.ldkv, make([]float32, AttentionScratch(s.nq, s.T, s.hd)), s.nq, s.T, s.hd, scale)
	requireSameFloats(t, "out", got, want) // rows and the gaps between them
}

func TestAttentionKernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for i, s := range attnShapes {
			t.Run(fmt.Sprintf("%s/%+v", k.name, s), func(t *testing.T) {
				r := newRand(uint64(i))
				q := randFloats(r, (s.nq-1)*s.ldq+s.hd, 1)
				kk := randFloats(r, (s.T-1)*s.ldkv+s.hd, 1)
				v := randFloats(r, (s.T-1)*s.ldkv+s.hd, 1)
				checkAttention(t, k, s, q, kk, v, float32(1/math.Sqrt(float64(s.hd))))
			})
		}
		// Sharp attention: one score far above the rest, and scores far below.
		t.Run(k.name+"/sharp", func(t *testing.T) {
			s := attnShape{3, 40, 8, 8, 8, 8}
			r := newRand(7)
			q, kk, v := randFloats(r, 24, 1), randFloats(r, 320, 1), randFloats(r, 320, 1)
			checkAttention(t, k, s, q, kk, v, 60)
		})
	}
}

func TestRMSNormKernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for i, s := range []struct{ rows, d int }{{1, 1}, {1, 3}, {2, 4}, {3, 7}, {2, 8}, {2, 9}, {1, 15}, {5, 16}, {4, 33}, {3, 100}, {256, 256}} {
			t.Run(fmt.Sprintf("%s/%+v", k.name, s), func(t *testing.T) {
				r := newRand(uint64(i))
				x, w := randFloats(r, s.rows*s.d, 2), randFloats(r, s.d, 1)
				want, got := filled(s.rows*s.d, sentinel), filled(s.rows*s.d, sentinel)
				rmsNormGeneric(want, x, w, 1e-5)
				k.rmsNorm(got, x, w, 1e-5)
				requireSameFloats(t, "out", got, want)
			})
		}
	}
}

func TestSiLUMulKernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 1001} {
			t.Run(fmt.Sprintf("%s/%d", k.name, n), func(t *testing.T) {
				r := newRand(uint64(n))
				gate, up := randFloats(r, n, 4), randFloats(r, n, 1)
				if n > 3 {
					gate[0], gate[1], gate[2] = 100, -100, 0
				}
				want, got := append([]float32(nil), gate...), append([]float32(nil), gate...)
				siluMulGeneric(want, up)
				k.siluMul(got, up)
				requireSameFloats(t, "gate", got, want)
			})
		}
	}
}

func TestRoPEKernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for i, s := range []struct{ T, heads, hd int }{{1, 1, 2}, {1, 1, 3}, {2, 3, 8}, {3, 2, 10}, {2, 2, 18}, {3, 1, 34}, {5, 4, 64}, {256, 4, 64}, {7, 6, 32}} {
			t.Run(fmt.Sprintf("%s/%+v", k.name, s), func(t *testing.T) {
				r := newRand(uint64(i))
				n := s.T * s.heads * s.hd
				buf := randFloats(r, n+3, 1) // 3 more values that nothing touches
				cos, sin := randFloats(r, s.T*(s.hd/2), 1), randFloats(r, s.T*(s.hd/2), 1)
				want, got := append([]float32(nil), buf...), append([]float32(nil), buf...)
				ropeGeneric(want, cos, sin, s.T, s.heads, s.hd)
				k.rope(got, cos, sin, s.T, s.heads, s.hd)
				requireSameFloats(t, "buf", got, want) // the same operations per element
			})
		}
	}
}

// fuzzBytes hands out the fuzzer's bytes, cycling (zeros when empty).
type fuzzBytes struct {
	data []byte
	i    int
}

func (f *fuzzBytes) next() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[f.i%len(f.data)]
	f.i++
	return b
}

func (f *fuzzBytes) intN(n int) int { return int(f.next()) % n }

func (f *fuzzBytes) int8s(n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(f.next())
	}
	return s
}

// floats are in [-8, 8) in steps of 1/16.
func (f *fuzzBytes) floats(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(f.next())/16 - 8
	}
	return s
}

// rawFloats are any float32 bit patterns, NaNs and infinities included.
func (f *fuzzBytes) rawFloats(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(uint32(f.next()) | uint32(f.next())<<8 | uint32(f.next())<<16 | uint32(f.next())<<24)
	}
	return s
}

func FuzzMatMulQ8(f *testing.F) {
	f.Add([]byte{3, 8, 20, 2, 1, 2, 5, 200, 17, 4, 99, 128, 127, 255, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 3, 7, 1, 2, 0, 9, 128, 128, 128, 128, 127, 127})
	sets := fastKernelSets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		T, rows, group := 1+fb.intN(5), 1+fb.intN(9), 1+fb.intN(24)
		cols := group*(1+fb.intN(3)) + fb.intN(3)
		r0 := fb.intN(rows)
		r1 := r0 + fb.intN(rows-r0+1)
		G := cols / group
		xq, wq := fb.int8s(T*cols), fb.int8s(rows*cols)
		xs, ws := fb.floats(T*G), fb.floats(rows*G)
		if fb.intN(2) == 0 { // the quantisers' range, [-127, 127]
			for _, s := range [][]int8{xq, wq} {
				for i := range s {
					s[i] = max(s[i], -127)
				}
			}
		}
		for _, k := range sets {
			want, got := filled(T*rows, sentinel), filled(T*rows, sentinel)
			matMulQ8Generic(want, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
			k.matMulQ8(got, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
			requireSameFloats(t, k.name+" y", got, want)
		}
	})
}

func FuzzQuantizeActivations(f *testing.F) {
	f.Add([]byte{16, 0, 0, 0x20, 0x40, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x7f, 1, 0, 0, 0})
	f.Add([]byte{5, 0, 0, 0, 0x3f, 0, 0, 0x20, 0xc0})
	sets := fastKernelSets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		group := 1 + fb.intN(40)
		x := fb.rawFloats(group * (1 + fb.intN(3)))
		for _, k := range sets {
			checkQuantize(t, k, x, group)
		}
	})
}

func FuzzMatMulF32(f *testing.F) {
	f.Add([]byte{2, 5, 9, 1, 3, 7, 200, 17, 4, 99})
	sets := fastKernelSets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		s := f32Shape{T: 1 + fb.intN(5), rows: 1 + fb.intN(9), cols: 1 + fb.intN(40)}
		s.r0 = fb.intN(s.rows)
		s.r1 = s.r0 + fb.intN(s.rows-s.r0+1)
		x, w := fb.floats(s.T*s.cols), fb.floats(s.rows*s.cols)
		for _, k := range sets {
			checkMatMulF32(t, k, s, x, w)
		}
	})
}

func FuzzAttention(f *testing.F) {
	f.Add([]byte{2, 9, 20, 3, 1, 0, 5, 77, 3, 250, 18})
	sets := fastKernelSets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		s := attnShape{nq: 1 + fb.intN(5), T: 1 + fb.intN(20), hd: 1 + fb.intN(40)}
		s.ldq, s.ldkv, s.ldo = s.hd+fb.intN(3), s.hd+fb.intN(3), s.hd+fb.intN(3)
		q := fb.floats((s.nq-1)*s.ldq + s.hd)
		kk, v := fb.floats((s.T-1)*s.ldkv+s.hd), fb.floats((s.T-1)*s.ldkv+s.hd)
		scale := float32(1+fb.intN(8)) / 16
		for _, k := range sets {
			checkAttention(t, k, s, q, kk, v, scale)
		}
	})
}

// Every kernel path the program offers can be selected, and selecting one
// routes the exported kernels through it.
func TestUseKernels(t *testing.T) {
	defer UseKernels("go")
	for _, name := range AvailableKernels() {
		got, err := UseKernels(name)
		require.NoError(t, err)
		require.Equal(t, name, got)
		require.Equal(t, name, KernelPath())
		y := make([]float32, 1)
		MatMulQ8(y, []int8{3, -4}, []float32{0.5}, []int8{5, 6}, []float32{2}, 1, 1, 2, 2, 0, 1)
		require.Equal(t, float32(-9), y[0], "%s: MatMulQ8", name)
	}
	_, err := UseKernels("no-such-path")
	require.Error(t, err, "an unknown path")
	path, err := UseKernels("auto")
	require.NoError(t, err)
	require.Equal(t, AvailableKernels()[len(AvailableKernels())-1], path)
}

func TestKernelBoundsPanic(t *testing.T) {
	cases := map[string]func(){
		"short y": func() {
			boundsMatMulQ8(make([]float32, 3), make([]int8, 8), make([]float32, 2), make([]int8, 8), make([]float32, 2), 2, 2, 4, 4, 0, 2)
		},
		"zero group": func() { boundsMatMulQ8(nil, nil, nil, nil, nil, 1, 1, 1, 0, 0, 1) },
		"short w":    func() { boundsMatMulF32(make([]float32, 4), make([]float32, 8), make([]float32, 7), 2, 2, 4, 0, 2) },
		"short scales": func() {
			boundsQuantize(make([]int8, 8), make([]float32, 1), make([]float32, 8), 4)
		},
		"short scores": func() {
			boundsAttention(make([]float32, 8), 4, make([]float32, 8), 4, make([]float32, 12), make([]float32, 12), 4,
				make([]float32, 5), 2, 3, 4)
		},
		"short scores for keys": func() {
			boundsAttention(make([]float32, 16), 4, make([]float32, 16), 4, make([]float32, 12), make([]float32, 12), 4,
				make([]float32, 51), 4, 3, 4)
		},
		"no keys":    func() { boundsAttention(make([]float32, 4), 4, make([]float32, 4), 4, nil, nil, 4, nil, 1, 0, 4) },
		"rms no w":   func() { boundsRMSNorm(make([]float32, 4), make([]float32, 4), nil) },
		"short pair": func() { boundsPair("DotF32", 5, 4) },
		"huge":       func() { sizesFit("x", 1<<31) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			require.Panics(t, f)
		})
	}
	// Exactly long enough passes.
	boundsMatMulQ8(make([]float32, 4), make([]int8, 8), make([]float32, 2), make([]int8, 8), make([]float32, 2), 2, 2, 4, 4, 0, 2)
	boundsAttention(make([]float32, 8), 4, make([]float32, 8), 4, make([]float32, 12), make([]float32, 12), 4,
		make([]float32, 52), 2, 3, 4)
	boundsAttention(make([]float32, 16), 4, make([]float32, 16), 4, make([]float32, 12), make([]float32, 12), 4,
		make([]float32, 52), 4, 3, 4)
}

func FuzzRowKernels(f *testing.F) {
	f.Add([]byte{9, 0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0x7f, 1, 0, 0, 0, 0xff, 0xff, 0x7f, 0x7f, 0, 0, 0xb0, 0xc2})
	f.Add([]byte{17, 0x3f, 0x80, 0, 0, 0x42, 0xb0, 0, 0, 0xc2, 0xb0, 0, 0, 0x80, 0, 0, 0})
	sets := fastKernelSets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		rows, d := 1+fb.intN(3), 1+fb.intN(40)
		x, w, up := fb.rawFloats(rows*d), fb.floats(d), fb.rawFloats(rows*d)
		cos, sin := fb.floats(rows*(d/2)), fb.floats(rows*(d/2))
		for _, k := range sets {
			want, got := filled(rows*d, sentinel), filled(rows*d, sentinel)
			rmsNormGeneric(want, x, w, 1e-5)
			k.rmsNorm(got, x, w, 1e-5)
			requireSameFloats(t, k.name+" rmsnorm", got, want)

			want, got = append([]float32(nil), x...), append([]float32(nil), x...)
			siluMulGeneric(want, up)
			k.siluMul(got, up)
			requireSameFloats(t, k.name+" silu", got, want)

			want, got = append([]float32(nil), x...), append([]float32(nil), x...)
			ropeGeneric(want, cos, sin, rows, 1, d)
			k.rope(got, cos, sin, rows, 1, d)
			requireSameFloats(t, k.name+" rope", got, want)

			want, got = append([]float32(nil), up...), append([]float32(nil), up...)
			axpyF32Generic(w[0], x, want)
			k.axpyF32(w[0], x, got)
			requireSameFloats(t, k.name+" axpy", got, want)
		}
	})
}

// expf is within 2 ulp of e^x where the result is a normal float32, 0
// below the clamp and finite at the top; it passes NaN through.
func TestExpf(t *testing.T) {
	ulp := func(v float64) float64 {
		f := float32(v)
		return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
	}
	for x := float32(-87); x <= 88; x += 0.0137 {
		want := math.Exp(float64(x))
		if d := math.Abs(float64(expf(x)) - want); d > 2*ulp(want) {
			require.Failf(t, "expf off by more than 2 ulp", "expf(%v) = %v, want %v (%.2f ulp)", x, expf(x), want, d/ulp(want))
		}
	}
	for _, c := range []struct{ x, want float32 }{{0, 1}, {-1000, 0}, {float32(math.Inf(-1)), 0}} {
		assert.Equal(t, c.want, expf(c.x), "expf(%v)", c.x)
	}
	big := expf(1000)
	assert.False(t, math.IsInf(float64(big), 0), "expf(1000) = %v, want the largest finite value near e^88", big)
	assert.GreaterOrEqual(t, big, float32(1e38), "expf(1000)")
	assert.True(t, math.IsNaN(float64(expf(float32(math.NaN())))), "expf(NaN) is NaN")
}

// sum4 adds in the lane order it documents.
func TestSum4(t *testing.T) {
	x := []float32{1e8, 1, -1e8, 1, 3, 0.5, 0.25, 0, 7}
	// lanes: 1e8+3, 1+0.5, -1e8+0.25, 1+0; (l0+l2) + (l1+l3) + 7
	l0, l1, l2, l3 := float32(1e8)+3, float32(1)+0.5, float32(-1e8)+0.25, float32(1)
	require.Equal(t, ((l0+l2)+(l1+l3))+7, sum4(x))
}

// Every kernel set implements every kernel of the generated kernelSet, so a
// kernel added to the list (quant/internal/kernelgen) without an
// implementation fails here rather than as a nil call.
func TestKernelSetsComplete(t *testing.T) {
	for _, k := range append([]kernelSet{genericKernels}, fastKernelSets(t)...) {
		v := reflect.ValueOf(k)
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.Func {
				assert.False(t, f.IsNil(), "%s has no %s", k.name, v.Type().Field(i).Name)
			}
		}
	}
}

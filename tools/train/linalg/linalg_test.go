package linalg

import (
	"fmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"math"
	"math/rand/v2"
	"testing"
)

// shape is one product of the test table: C is m×n, the inner size k;
// transA / transB read A or B through a transposed view.
type shape struct {
	m, n, k        int
	transA, transB bool
	accumulate     bool
}

var shapes = []shape{
	{1, 1, 1, false, false, false},
	{6, 16, 8, false, false, false},
	{5, 15, 7, false, false, true},
	{7, 17, 3, true, false, false},
	{13, 33, 300, false, true, true},
	{96, 128, 256, false, false, false},
	{97, 129, 257, true, true, true},
	{128, 32, 128, false, true, false},
	{2, 700, 64, true, false, true},
	{300, 5, 520, false, false, false},
	{64, 64, 0, false, false, true},
	{64, 64, 0, false, false, false},
}

func randomView(r *rand.Rand, rows, cols int, transposed bool) View {
	data := make([]float32, rows*cols+3)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	if transposed {
		return Dense(data, cols, rows).T()
	}
	return Dense(data, rows, cols)
}

// product runs mul on fresh copies and returns C.
func product(mul func(*Workspace, View, View, View, bool), s shape, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	a := randomView(r, s.m, s.k, s.transA)
	b := randomView(r, s.k, s.n, s.transB)
	// C is a window of a wider matrix, so row strides are exercised too.
	cdata := make([]float32, s.m*(s.n+2))
	for i := range cdata {
		cdata[i] = float32(r.NormFloat64())
	}
	c := Strided(cdata, s.m, s.n, s.n+2)
	var ws Workspace
	mul(&ws, c, a, b, s.accumulate)
	return cdata
}

// closeEnough compares two results of the same product summed in different
// orders: the tolerance grows with the inner size.
func closeEnough(t *testing.T, got, want []float32, k int) {
	t.Helper()
	tol := 1e-5 * math.Sqrt(float64(k+1)) * 4
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if d > tol*(1+math.Abs(float64(want[i]))) {
			require.Failf(t, "unexpected result", "element %d: got %v, want %v (tolerance %g)", i, got[i], want[i], tol)
		}
	}
}

func TestMulMatchesReference(t *testing.T) {
	for _, s := range shapes {
		t.Run(fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/acc=%v", s.m, s.n, s.k, s.transA, s.transB, s.accumulate), func(t *testing.T) {
			want := product(mulGeneric, s, 7)
			got := product(mulImpl, s, 7)
			closeEnough(t, got, want, s.k)
		})
	}
}

// TestMulDefinition checks the reference itself against a direct sum in
// float64, so the fast kernel is compared against the right thing.
func TestMulDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := randomView(r, 4, 5, true)
	b := randomView(r, 5, 3, false)
	c := Dense(make([]float32, 12), 4, 3)
	mulGeneric(nil, c, a, b, false)
	for i := range 4 {
		for j := range 3 {
			var s float64
			for k := range 5 {
				s += float64(a.At(i, k)) * float64(b.At(k, j))
			}
			if math.Abs(s-float64(c.At(i, j))) > 1e-5 {
				require.Failf(t, "unexpected result", "C(%d,%d) = %v, want %v", i, j, c.At(i, j), s)
			}
		}
	}
}

func TestPoolMulMatchesReference(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		for _, s := range shapes {
			p := NewPool(threads)
			want := product(mulGeneric, s, 11)
			got := product(func(_ *Workspace, c, a, b View, acc bool) { p.Mul(c, a, b, acc) }, s, 11)
			closeEnough(t, got, want, s.k)
			if flops := p.Flops(); flops != 2*int64(s.m*s.n*s.k) {
				require.Failf(t, "unexpected result", "threads %d shape %v: counted %d flops, want %d", threads, s, flops, 2*s.m*s.n*s.k)
			}
		}
	}
}

func TestMulRejectsMismatchedShapes(t *testing.T) {
	var ws Workspace
	require.Panics(t, func() {
		Mul(&ws, Dense(make([]float32, 4), 2, 2), Dense(make([]float32, 6), 2, 3), Dense(make([]float32, 8), 4, 2), false)
	}, "a 2x3 by 4x2 product")
}

func TestPoolForCoversRange(t *testing.T) {
	for _, n := range []int{0, 1, 5, 100} {
		p := NewPool(3)
		seen := make([]int, n)
		p.For(n, func(w int, _ *Workspace, lo, hi int) {
			if w < 0 || w >= p.Threads {
				assert.Failf(t, "unexpected result", "worker %d of %d", w, p.Threads)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, v := range seen {
			if v != 1 {
				require.Failf(t, "unexpected result", "n=%d: index %d visited %d times", n, i, v)
			}
		}
	}
}

func FuzzMul(f *testing.F) {
	f.Add(uint8(6), uint8(16), uint16(8), uint8(0), uint64(1))
	f.Add(uint8(13), uint8(31), uint16(300), uint8(7), uint64(2))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, flags uint8, seed uint64) {
		s := shape{int(m%70) + 1, int(n%70) + 1, int(k % 600), flags&1 != 0, flags&2 != 0, flags&4 != 0}
		closeEnough(t, product(mulImpl, s, seed), product(mulGeneric, s, seed), s.k)
	})
}

// BenchmarkMul reports GFLOPS for the shapes of a d_model 256 training
// step: a forward projection, its input gradient, its weight gradient
// (read through a transposed view, as the trainer does: dW = dYᵀ·X).
func BenchmarkMul(b *testing.B) {
	cases := []struct {
		name    string
		m, n, k int
		threads int
		transA  bool
	}{
		{"proj-4096x768x256", 4096, 768, 256, 1, false},
		{"proj-4096x768x256", 4096, 768, 256, 2, false},
		{"head-2048x4096x256", 2048, 4096, 256, 2, false},
		{"wgrad-256x704x4096-At", 256, 704, 4096, 2, true},
		{"attn-128x128x32", 128, 128, 32, 1, false},
	}
	for _, c := range cases {
		for _, impl := range []struct {
			name string
			f    func(*Workspace, View, View, View, bool)
		}{{"go", mulGeneric}, {Path(), mulImpl}} {
			if impl.name == "go" && c.m*c.n*c.k > 1<<28 && testing.Short() {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s/threads=%d", c.name, impl.name, c.threads), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				a := randomView(r, c.m, c.k, c.transA)
				w := randomView(r, c.k, c.n, false)
				out := Dense(make([]float32, c.m*c.n), c.m, c.n)
				p := NewPool(c.threads)
				b.ResetTimer()
				for b.Loop() {
					if c.threads == 1 {
						impl.f(&p.ws[0], out, a, w, false)
					} else {
						parallelWith(p, impl.f, out, a, w)
					}
				}
				b.ReportMetric(2*float64(c.m*c.n*c.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

// parallelWith splits rows like Pool.Mul but with a chosen kernel.
func parallelWith(p *Pool, f func(*Workspace, View, View, View, bool), c, a, b View) {
	done := make(chan struct{}, p.Threads)
	for w := range p.Threads {
		lo, hi := split(c.Rows, 6, p.Threads, w)
		go func() {
			f(&p.ws[w], rowsOf(c, lo, hi), rowsOf(a, lo, hi), b, false)
			done <- struct{}{}
		}()
	}
	for range p.Threads {
		<-done
	}
}

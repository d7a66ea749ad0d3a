package linalg

import (
	"fmt"
	"github.com/stretchr/testify/require"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestExpAccuracy(t *testing.T) {
	for x := float32(-87); x <= 88; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(Exp(x))
		if math.Abs(got-want) > 3e-7*want {
			require.Failf(t, "unexpected result", "Exp(%v) = %v, want %v", x, got, want)
		}
	}
	if Exp(-1000) <= 0 || Exp(-1000) > 1e-37 {
		require.Failf(t, "unexpected result", "Exp(-1000) = %v, want a tiny normal number", Exp(-1000))
	}
}

// pointwiseLengths cover empty-ish rows, odd tails and several vectors.
var pointwiseLengths = []int{1, 3, 7, 8, 9, 16, 31, 128, 1000}

func randomSlice(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

func assertClose(t *testing.T, what string, got, want []float32, rel float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > rel*(math.Abs(float64(want[i]))+1e-2) {
			require.Failf(t, "unexpected result", "%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestPointwiseMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range pointwiseLengths {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := randomSlice(r, n, 5)
			a, b := slices.Clone(x), slices.Clone(x)
			softmaxImpl(a, 0.3)
			softmaxGeneric(b, 0.3)
			assertClose(t, "softmax", a, b, 1e-5)
			var sum float64
			for _, v := range a {
				sum += float64(v)
			}
			if math.Abs(sum-1) > 1e-5 {
				require.Failf(t, "unexpected result", "softmax sums to %v", sum)
			}

			if maxImpl(x) != maxGeneric(x) {
				require.Failf(t, "unexpected result", "max %v, want %v", maxImpl(x), maxGeneric(x))
			}
			a, b = make([]float32, n), make([]float32, n)
			sa, sb := expScaledImpl(a, x, -0.7, 2), expScaledGeneric(b, x, -0.7, 2)
			assertClose(t, "expscaled", a, b, 1e-6)
			assertClose(t, "sum", []float32{sa}, []float32{sb}, 1e-5)
			a, b = slices.Clone(x), slices.Clone(x)
			scaleImpl(a, 1.5)
			scaleGeneric(b, 1.5)
			assertClose(t, "scale", a, b, 0)

			gate, up, dact := randomSlice(r, n, 3), randomSlice(r, n, 1), randomSlice(r, n, 1)
			act, want := make([]float32, n), make([]float32, n)
			siluMulImpl(act, gate, up)
			siluMulGeneric(want, gate, up)
			assertClose(t, "silu", act, want, 1e-6)
			dg1, dg2 := slices.Clone(dact), slices.Clone(dact)
			du1, du2 := make([]float32, n), make([]float32, n)
			siluMulBackImpl(dg1, du1, gate, up)
			siluMulBackGeneric(dg2, du2, gate, up)
			assertClose(t, "dgate", dg1, dg2, 1e-5)
			assertClose(t, "dup", du1, du2, 1e-5)
		})
	}
}

// TestSiLUMulBackIsDerivative checks the reference derivative against
// central differences in float64.
func TestSiLUMulBackIsDerivative(t *testing.T) {
	silu := func(g float64) float64 { return g / (1 + math.Exp(-g)) }
	for _, g := range []float32{-4, -0.5, 0, 0.3, 2.5} {
		dg, du := []float32{1}, []float32{0}
		siluMulBackGeneric(dg, du, []float32{g}, []float32{1.7})
		const h = 1e-5
		want := 1.7 * (silu(float64(g)+h) - silu(float64(g)-h)) / (2 * h)
		if math.Abs(float64(dg[0])-want) > 1e-5 || math.Abs(float64(du[0])-silu(float64(g))) > 1e-6 {
			require.Failf(t, "unexpected result", "g=%v: dgate %v want %v, dup %v want %v", g, dg[0], want, du[0], silu(float64(g)))
		}
	}
}

func BenchmarkSoftmax(b *testing.B) {
	x := randomSlice(rand.New(rand.NewPCG(1, 1)), 128, 1)
	for _, impl := range []struct {
		name string
		f    func([]float32, float32)
	}{{"go", softmaxGeneric}, {Path(), softmaxImpl}} {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.f(x, 0.1)
			}
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds()/1e6, "Mexp/s")
		})
	}
}

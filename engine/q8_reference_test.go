package engine

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"unmask/quant"
	"unmask/quant/quanttest"
)

// The int8 engine against a reference written here from the definitions
// alone: float64 arithmetic on the dequantised weights (checked to be the
// nearest int8 steps of the float32 weights) and on activations quantised
// as the engine defines them (per token and group, scale = max|x|/127 in
// float32, q = round(x/scale) with ties away from zero). With the same
// quantised operands the two differ only in the order and precision of
// their float sums, so the comparison is tight; the golden files of package
// quant only pin what the code under test once wrote.

// quantizeActivationsRef is the engine's activation quantiser, written
// from its definition: float32 scale and reciprocal, round half away from
// zero, clamp to ±127.
func quantizeActivationsRef(x []float32, group int) (q []int8, scales []float32) {
	q = make([]int8, len(x))
	for g := range len(x) / group {
		xs := x[g*group : (g+1)*group]
		var amax float32
		for _, v := range xs {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		scale := amax / 127
		scales = append(scales, scale)
		if amax == 0 {
			continue
		}
		inv := 1 / scale
		for i, v := range xs {
			r := v * inv
			n := math.Floor(math.Abs(float64(r)) + 0.5)
			q[g*group+i] = int8(math.Copysign(min(n, 127), float64(r)))
		}
	}
	return q, scales
}

// matMulQ8Ref is y = x·Wᵀ for int8 W: x quantised per token, every
// product and sum in float64 on the dequantised operands.
func matMulQ8Ref(w *quant.Matrix, x []float64, T int) []float64 {
	deq := w.Dequantize()
	y := make([]float64, T*w.Rows)
	for t := range T {
		xt := make([]float32, w.Cols)
		for i := range xt {
			xt[i] = float32(x[t*w.Cols+i])
		}
		q, s := quantizeActivationsRef(xt, w.Group)
		for o := range w.Rows {
			var sum float64
			for i := range w.Cols {
				sum += float64(s[i/w.Group]) * float64(q[i]) * float64(deq[o*w.Cols+i])
			}
			y[t*w.Rows+o] = sum
		}
	}
	return y
}

func rmsNormRef(x []float64, w []float32, eps float64) []float64 {
	d := len(w)
	out := make([]float64, len(x))
	for r := range len(x) / d {
		var ss float64
		for _, v := range x[r*d : (r+1)*d] {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(d)+eps)
		for i := range d {
			out[r*d+i] = float64(w[i]) * x[r*d+i] * inv
		}
	}
	return out
}

// ropeRef rotates (T, heads, hd) NeoX style with angle pos·theta^(-2i/hd).
func ropeRef(buf []float64, T, heads, hd int, theta float64) {
	half := hd / 2
	for t := range T {
		for h := range heads {
			head := buf[(t*heads+h)*hd:][:hd]
			for i := range half {
				angle := float64(t) * math.Pow(theta, -2*float64(i)/float64(hd))
				a, b := head[i], head[half+i]
				head[i] = a*math.Cos(angle) - b*math.Sin(angle)
				head[half+i] = b*math.Cos(angle) + a*math.Sin(angle)
			}
		}
	}
}

// forwardQ8Ref is the bidirectional LLaDA forward pass in float64.
func forwardQ8Ref(m *Model, tokens []int) []float64 {
	c := &m.Config
	T, d, hd, kv, hidden := len(tokens), c.DModel, c.HeadDim(), c.KVDim(), c.MLPHiddenSize
	x := make([]float64, T*d)
	row := make([]float32, d)
	for t, id := range tokens {
		m.Weights.Embed.Row(id, row)
		for i, v := range row {
			x[t*d+i] = float64(v)
		}
	}
	for l := range m.Weights.Layers {
		layer := &m.Weights.Layers[l]
		n := rmsNormRef(x, layer.AttnNorm, c.RMSNormEps)
		q, k, v := matMulQ8Ref(&layer.Q, n, T), matMulQ8Ref(&layer.K, n, T), matMulQ8Ref(&layer.V, n, T)
		ropeRef(q, T, c.NHeads, hd, c.RopeTheta)
		ropeRef(k, T, c.NKVHeads, hd, c.RopeTheta)
		att := make([]float64, T*d)
		for h := range c.NHeads {
			kvh := h / (c.NHeads / c.NKVHeads)
			for u := range T {
				scores := make([]float64, T)
				top := math.Inf(-1)
				for p := range T {
					var s float64
					for i := range hd {
						s += q[u*d+h*hd+i] * k[p*kv+kvh*hd+i]
					}
					scores[p] = s / math.Sqrt(float64(hd))
					top = max(top, scores[p])
				}
				var sum float64
				for p := range scores {
					scores[p] = math.Exp(scores[p] - top)
					sum += scores[p]
				}
				for p := range T {
					for i := range hd {
						att[u*d+h*hd+i] += scores[p] / sum * v[p*kv+kvh*hd+i]
					}
				}
			}
		}
		for i, o := range matMulQ8Ref(&layer.AttnOut, att, T) {
			x[i] += o
		}
		n = rmsNormRef(x, layer.FFNorm, c.RMSNormEps)
		gate, up := matMulQ8Ref(&layer.FFProj, n, T), matMulQ8Ref(&layer.Up, n, T)
		for i := range T * hidden {
			gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
		}
		for i, o := range matMulQ8Ref(&layer.FFOut, gate, T) {
			x[i] += o
		}
	}
	return matMulQ8Ref(&m.Weights.Head, rmsNormRef(x, m.Weights.NormF, c.RMSNormEps), T)
}

// TestQuantizeRoundsToNearest: every int8 weight is the nearest step of
// its float32 weight (|w - q·s| <= s/2), with s the float16 rounding of the
// group's max|w|/127, and the activation quantiser gives what its
// definition does.
func TestQuantizeRoundsToNearest(t *testing.T) {
	m := RandomModel(samplerConfig(), 3)
	for _, group := range []int{0, 8} {
		q := m.Quantize(group)
		ft, qt := m.Weights.Tensors(), q.Weights.Tensors()
		for i := range ft {
			if ft[i].Matrix == nil {
				continue
			}
			w, qm := ft[i].Matrix.F32, qt[i].Matrix
			deq := qm.Dequantize()
			for j, v := range w {
				s := qm.Scales[j/qm.Group]
				require.LessOrEqual(t, math.Abs(float64(v)-float64(deq[j])), float64(s)/2*(1+1e-6),
					"%s group %d value %d: %v stored as %v (step %v)", ft[i].Name, group, j, v, deq[j], s)
			}
		}
	}
	x := make([]float32, 4*24)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*1.7)) * float32(i%5)
	}
	x[7] = 0.5 * 127 / 127 // a tie in the group of max 1: rounds away from zero
	for _, group := range []int{8, 24} {
		wantQ, wantS := quantizeActivationsRef(x, group)
		gotQ, gotS := make([]int8, len(x)), make([]float32, len(x)/group)
		quant.QuantizeActivations(gotQ, gotS, x, group)
		require.Equal(t, wantQ, gotQ, "group %d", group)
		require.Equal(t, wantS, gotS, "group %d", group)
	}
}

// TestQ8ForwardMatchesReference compares the int8 forward pass with the
// float64 reference on every kernel path of this build, for grouped and per-row scales
// and grouped-query attention. The logits agree to within 1e-5 of the
// largest; truncating instead of rounding in either quantiser moves them
// by far more.
func TestQ8ForwardMatchesReference(t *testing.T) {
	cfg := samplerConfig()
	tokens := []int{1, 7, 49, 49, 12, 30, 49, 3, 48, 22, 5, 49}
	for _, group := range []int{0, 8} {
		m := RandomModel(cfg, 5).Quantize(group)
		want := forwardQ8Ref(m, tokens)
		var scale float64
		for _, v := range want {
			scale = max(scale, math.Abs(v))
		}
		for _, path := range quanttest.Paths(t) {
			t.Run(fmt.Sprintf("group=%d/%s", group, path), func(t *testing.T) {
				quanttest.Use(t, path)
				got, err := NewState(m, len(tokens)).Forward(tokens)
				require.NoError(t, err)
				var worst float64
				for i, v := range got {
					worst = max(worst, math.Abs(float64(v)-want[i]))
				}
				t.Logf("max |engine - reference| %.3g of largest logit %.3g", worst, scale)
				require.Less(t, worst, 1e-5*scale)
			})
		}
	}
}

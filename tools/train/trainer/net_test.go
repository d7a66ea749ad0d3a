package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	"unmask/engine"
	"unmask/tools/train/linalg"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyConfig is small enough for finite differences yet has every feature:
// grouped KV heads, two blocks, a hidden size that is not a multiple of the
// kernel tiles.
func tinyConfig() engine.Config {
	return engine.Config{DModel: 8, NHeads: 2, NKVHeads: 1, NLayers: 2, MLPHiddenSize: 12,
		VocabSize: 11, EmbeddingSize: 11, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 16, MaskTokenID: 10, EOSTokenID: 9, PadTokenID: 9}
}

func tinyNet(t *testing.T, B, T, threads int) *Net {
	t.Helper()
	p, err := NewParams(tinyConfig())
	require.NoError(t, err)
	p.Init(1, 0.4)
	// Norm weights away from 1 so their gradients are exercised fully.
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range p.Segments() {
		if !s.Decay {
			for i := range s.Len {
				p.Data[s.Offset+i] = float32(1 + 0.3*r.NormFloat64())
			}
		}
	}
	n, err := NewNet(p, B, T, linalg.NewPool(threads))
	require.NoError(t, err)
	return n
}

// randomBatch has masks, several targets per sequence with unequal
// weights, and one sequence cut short.
func randomBatch(B, T int, causal bool, seed uint64) *Batch {
	r := rand.New(rand.NewPCG(seed, 9))
	b := NewBatch(B, T)
	b.Causal = causal
	for s := range B {
		b.Lens[s] = int32(T)
		for t := range T {
			i := s*T + t
			b.Tokens[i] = int32(r.IntN(10))
			b.Targets[i] = -1
			if r.Float64() < 0.5 {
				b.Targets[i] = b.Tokens[i]
				b.Tokens[i] = 10
				b.Weights[i] = float32(0.5 + r.Float64())
			}
		}
	}
	b.Lens[B-1] = int32(T - 2)
	return b
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name   string
		causal bool
	}{{"llada", false}, {"ar", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := tinyNet(t, 3, 6, 2)
			b := randomBatch(3, 6, tc.causal, 2)
			_, err := n.LossAndGrad(b)
			require.NoError(t, err)
			r := rand.New(rand.NewPCG(7, 8))
			const h = 1e-3
			for _, seg := range n.P.Segments() {
				for range 2 {
					// Directional derivative along a random direction u of
					// this tensor: (L(θ+hu) - L(θ-hu)) / 2h against g·u.
					u := make([]float32, seg.Len)
					var analytic float64
					for i := range u {
						u[i] = float32(r.NormFloat64())
						analytic += float64(u[i]) * float64(n.G.Data[seg.Offset+i])
					}
					theta := append([]float32(nil), n.P.Data[seg.Offset:seg.Offset+seg.Len]...)
					lossAt := func(sign float32) float64 {
						for i := range u {
							n.P.Data[seg.Offset+i] = theta[i] + sign*h*u[i]
						}
						l, err := n.Loss(b)
						require.NoError(t, err)
						return l
					}
					numeric := (lossAt(1) - lossAt(-1)) / (2 * h)
					copy(n.P.Data[seg.Offset:], theta)
					if math.Abs(numeric-analytic) > 2e-2*math.Max(math.Abs(numeric), math.Abs(analytic))+2e-3 {
						assert.Failf(t, "unexpected result", "%s: analytic %.6f, finite difference %.6f", seg.Name, analytic, numeric)
					}
				}
			}
		})
	}
}

// TestGradientOfPaddingIsZero: a sequence's padding positions may not
// influence the loss, so tokens there get no embedding gradient.
func TestGradientOfPaddingIsZero(t *testing.T) {
	n := tinyNet(t, 2, 6, 1)
	b := randomBatch(2, 6, false, 3)
	b.Lens[1] = 2
	// Padding positions see token 3 only, used nowhere else.
	for i := range b.Tokens {
		if b.Tokens[i] == 3 {
			b.Tokens[i] = 4
		}
	}
	for t := 2; t < 6; t++ {
		b.Tokens[6+t] = 3
	}
	_, err := n.LossAndGrad(b)
	require.NoError(t, err)
	d := n.cfg.DModel
	for _, v := range n.G.Weights.Embed.F32[3*d : 4*d] {
		if v != 0 {
			require.Failf(t, "unexpected result", "padding token got embedding gradient %v", v)
		}
	}
}

func TestForwardMatchesEngine(t *testing.T) {
	c := tinyConfig()
	c.DModel, c.NHeads, c.NKVHeads, c.MLPHiddenSize, c.VocabSize, c.EmbeddingSize = 64, 4, 2, 96, 50, 50
	c.MaskTokenID, c.EOSTokenID, c.PadTokenID = 49, 48, 48
	p, err := NewParams(c)
	require.NoError(t, err)
	p.Init(3, 0.1)
	const B, T = 2, 16
	n, err := NewNet(p, B, T, linalg.NewPool(2))
	require.NoError(t, err)
	b := NewBatch(B, T)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range b.Tokens {
		b.Tokens[i] = int32(r.IntN(c.EmbeddingSize))
	}
	for s := range B {
		b.Lens[s] = T
	}
	_, err = n.Loss(b)
	require.NoError(t, err)
	got := n.Logits()
	st := engine.NewState(p.Model(nil), T)
	V := c.EmbeddingSize
	for s := range B {
		ids := make([]int, T)
		for i := range ids {
			ids[i] = int(b.Tokens[s*T+i])
		}
		want, err := st.Forward(ids)
		require.NoError(t, err)
		for i, w := range want {
			if g := got[s*T*V+i]; math.Abs(float64(g-w)) > 1e-4 {
				require.Failf(t, "unexpected result", "sequence %d logit %d: trainer %v, engine %v", s, i, g, w)
			}
		}
	}
}

// TestGenerateMatchesEngine: the trainer's batched sampler commits the same
// tokens as the engine's greedy low-confidence Generate.
func TestGenerateMatchesEngine(t *testing.T) {
	c := tinyConfig()
	c.DModel, c.NHeads, c.NKVHeads, c.MLPHiddenSize, c.VocabSize, c.EmbeddingSize = 32, 4, 2, 48, 40, 40
	c.MaskTokenID, c.EOSTokenID, c.PadTokenID, c.MaxSequenceLen = 39, 38, 38, 32
	p, err := NewParams(c)
	require.NoError(t, err)
	p.Init(4, 0.5)
	n, err := NewNet(p, 3, 24, linalg.NewPool(2))
	require.NoError(t, err)
	prompts := [][]int32{{1, 2, 3}, {5}, {7, 8, 9, 10, 11}}
	got, err := n.Generate(prompts, 16, 8, 8)
	require.NoError(t, err)
	t.Logf("generated %v", got)
	st := engine.NewState(p.Model(nil), 32)
	opts := engine.DefaultOptions()
	opts.GenLength, opts.BlockLength, opts.Steps = 16, 8, 8
	for s, pr := range prompts {
		ids := make([]int, len(pr))
		for i, v := range pr {
			ids[i] = int(v)
		}
		want, err := st.Generate(t.Context(), ids, opts, nil)
		require.NoError(t, err)
		for i, v := range got[s] {
			if int(v) != want[len(pr)+i] {
				require.Failf(t, "unexpected result", "prompt %d: trainer generated %v, engine %v", s, got[s], want[len(pr):])
			}
		}
	}
}

package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// passCanvas is a canvas of the sampler model, masks in its second half.
func passCanvas(T int) []int {
	ids := make([]int, T)
	for i := range ids {
		ids[i] = (i*17 + 3) % 48
		if i >= T/2 && i%3 != 0 {
			ids[i] = 49 // the mask
		}
	}
	return ids
}

// The exact property of the cached pass: with a cache filled by a pass
// over the same canvas, computing only some positions gives the logits of
// the full pass there (within float32 rounding of a different order of
// work: none is expected, 1e-5 is allowed).
func TestCachedPassMatchesFullPass(t *testing.T) {
	const T = 40
	ids := passCanvas(T)
	tests := []struct {
		name     string
		from, to int
		logits   []int
	}{
		{"prefix: block to the end", 24, T, nil},
		{"dual: the block", 24, 32, []int{24, 26, 31}},
		{"one position", 17, 18, nil},
		{"first position", 0, 1, nil},
		{"last block", 32, T, []int{39, 33}},
		{"whole canvas", 0, T, nil},
	}
	for _, q8 := range []bool{false, true} {
		m := RandomModel(samplerConfig(), 7)
		if q8 {
			m = m.Quantize(16)
		}
		for _, threads := range []int{1, 2} {
			st := NewState(m, T)
			st.Threads = threads
			V := m.Config.EmbeddingSize
			full, err := st.Forward(ids)
			require.NoError(t, err)
			full = append([]float32(nil), full...)
			cache := NewKVCache(&m.Config, T)
			_, err = st.ForwardPass(ids, Pass{From: 0, To: T, Cache: cache})
			require.NoError(t, err)
			for _, tt := range tests {
				got, err := st.ForwardPass(ids, Pass{From: tt.from, To: tt.to, Cache: cache, Logits: tt.logits})
				require.NoError(t, err, tt.name)
				positions := tt.logits
				if positions == nil {
					for p := tt.from; p < tt.to; p++ {
						positions = append(positions, p)
					}
				}
				require.Len(t, got, len(positions)*V, tt.name)
				worst := 0.0
				for i, p := range positions {
					for j := range V {
						worst = max(worst, math.Abs(float64(got[i*V+j]-full[p*V+j])))
					}
				}
				assert.LessOrEqual(t, worst, 1e-5, "%s, q8 %v, %d threads", tt.name, q8, threads)
			}
		}
	}
}

// A causal pass over the canvas equals, position by position, one new
// position at a time against the cached keys and values of those before
// it: the pass an autoregressive model decodes with.
func TestCausalPassOnePositionAtATime(t *testing.T) {
	const T = 24
	ids := passCanvas(T)
	st := NewState(RandomModel(samplerConfig(), 5), T)
	V := st.Model.Config.EmbeddingSize
	whole, err := st.ForwardPass(ids, Pass{From: 0, To: T, Cache: NewKVCache(&st.Model.Config, T), Causal: true})
	require.NoError(t, err)
	whole = append([]float32(nil), whole...)
	bidirectional, err := st.Forward(ids)
	require.NoError(t, err)
	assert.NotEqual(t, whole[:V], bidirectional[:V], "the first position sees only itself")

	cache := NewKVCache(&st.Model.Config, T)
	for p := range T {
		got, err := st.ForwardPass(ids[:p+1], Pass{From: p, To: p + 1, Cache: cache, Causal: true})
		require.NoError(t, err)
		worst := 0.0
		for j := range V {
			worst = max(worst, math.Abs(float64(got[j]-whole[p*V+j])))
		}
		assert.LessOrEqual(t, worst, 1e-5, "position %d", p)
	}
}

func TestForwardPassRefusesBadPasses(t *testing.T) {
	st := samplerState(t)
	ids := passCanvas(10)
	cache := NewKVCache(&st.Model.Config, 10)
	small := NewKVCache(&st.Model.Config, 4)
	tests := []struct {
		name string
		pass Pass
	}{
		{"empty range", Pass{From: 3, To: 3, Cache: cache}},
		{"past the canvas", Pass{From: 5, To: 11, Cache: cache}},
		{"negative start", Pass{From: -1, To: 4, Cache: cache}},
		{"partial without a cache", Pass{From: 2, To: 10}},
		{"cache too small", Pass{From: 0, To: 10, Cache: small}},
		{"cache of another model", Pass{From: 0, To: 10, Cache: &KVCache{Cap: 10}}},
		{"logits outside the range", Pass{From: 5, To: 10, Cache: cache, Logits: []int{4}}},
	}
	for _, tt := range tests {
		_, err := st.ForwardPass(ids, tt.pass)
		assert.Error(t, err, tt.name)
	}
	_, err := st.ForwardPass(ids, Pass{From: 0, To: 10, Cache: cache})
	assert.NoError(t, err)
}

func TestCachedPassAllocatesNothing(t *testing.T) {
	st := samplerState(t)
	st.Threads = 1
	ids := passCanvas(12)
	cache := NewKVCache(&st.Model.Config, 12)
	_, err := st.ForwardPass(ids, Pass{From: 0, To: 12, Cache: cache})
	require.NoError(t, err)
	logits := []int{8, 9}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := st.ForwardPass(ids, Pass{From: 6, To: 12, Cache: cache, Logits: logits}); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// cachedReference is Fast-dLLM's cached generator with guidance, written
// plainly over ForwardPass: argmax, low confidence, the linear schedule,
// a fresh cache per block for each of the two passes. It returns the
// canvas before every step, then the final one.
func cachedReference(t *testing.T, st *State, prompt []int, o Options) [][]int {
	t.Helper()
	c := &st.Model.Config
	mask, V := c.MaskTokenID, c.EmbeddingSize
	x := append(append([]int(nil), prompt...), make([]int, o.GenLength)...)
	for i := len(prompt); i < len(x); i++ {
		x[i] = mask
	}
	T := len(x)
	var trace [][]int
	for b := range o.Blocks() {
		start, end := len(prompt)+b*o.BlockLength, len(prompt)+(b+1)*o.BlockLength
		schedule := TransferSchedule(o.BlockLength, o.Steps/o.Blocks())
		cond, uncond := NewKVCache(c, T), NewKVCache(c, T)
		for i, k := range schedule {
			trace = append(trace, append([]int(nil), x...))
			from, to := 0, T
			if i > 0 {
				from = start
				if o.Cache == DualCache {
					to = end
				}
			}
			var eligible []int
			for p := start; p < end; p++ {
				if x[p] == mask {
					eligible = append(eligible, p)
				}
			}
			lc, err := st.ForwardPass(x, Pass{From: from, To: to, Cache: cond, Logits: eligible})
			require.NoError(t, err)
			lc = append([]float32(nil), lc...)
			u := append([]int(nil), x...)
			for p := range prompt {
				u[p] = mask
			}
			lu, err := st.ForwardPass(u, Pass{From: from, To: to, Cache: uncond, Logits: eligible})
			require.NoError(t, err)
			type pick struct {
				pos, token int
				conf       float64
			}
			var picks []pick
			for e, p := range eligible {
				row := make([]float64, V)
				best := 0
				for j := range V {
					row[j] = float64(lu[e*V+j] + float32(o.CFGScale+1)*(lc[e*V+j]-lu[e*V+j]))
					if row[j] > row[best] {
						best = j
					}
				}
				sum := 0.0
				for j := range V {
					sum += math.Exp(row[j] - row[best])
				}
				picks = append(picks, pick{p, best, 1 / sum})
			}
			for range k { // the k most confident, first by position on ties
				bi := 0
				for j := range picks {
					if picks[j].conf > picks[bi].conf {
						bi = j
					}
				}
				x[picks[bi].pos] = picks[bi].token
				picks = append(picks[:bi], picks[bi+1:]...)
			}
		}
	}
	return append(trace, x)
}

// With guidance, the conditional and the unconditional pass each keep their
// own cache: the sampler's steps are those of the plain cached generator.
func TestGenerateCachedWithGuidance(t *testing.T) {
	st := samplerState(t)
	prompt := []int{1, 2, 3, 4, 5}
	for _, cache := range []Cache{PrefixCache, DualCache} {
		o := Options{Steps: 8, GenLength: 16, BlockLength: 8, Remasking: LowConfidence, CFGScale: 1.5, Cache: cache}
		want := cachedReference(t, st, prompt, o)
		out, steps := run(t, st, prompt, o)
		var got [][]int
		for _, s := range steps {
			got = append(got, s.Canvas)
			assert.Equal(t, 2, s.Passes)
		}
		assert.Equal(t, want, append(got, out), "%s", cache)
	}
}

// Masks inside the prompt belong to the first block: its cached steps run
// from the first of them, so they are filled as without a cache.
func TestGenerateCachedInfill(t *testing.T) {
	st := samplerState(t)
	mask := st.Model.Config.MaskTokenID
	prompt := []int{1, mask, mask, 3, mask, mask, 5, 6}
	for _, cache := range []Cache{PrefixCache, DualCache} {
		for _, genLength := range []int{0, 8} {
			o := Options{Steps: 4, GenLength: genLength, BlockLength: 4, Remasking: LowConfidence, Cache: cache}
			out, steps := run(t, st, prompt, o)
			assert.NotContains(t, out, mask, "%s, gen_length %d", cache, genLength)
			for _, s := range steps {
				if s.Block == 0 && s.Passes > 0 {
					if masked := slices.Index(s.Canvas, mask); masked >= 0 {
						assert.LessOrEqual(t, s.ComputedFrom, masked, "%s step %d", cache, s.Index)
					}
				}
			}
		}
	}
}

package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/quant"
)

// causalConfig is samplerConfig marked autoregressive.
func causalConfig() Config {
	c := samplerConfig()
	c.Causal = true
	return c
}

// referenceForward64 is the mask predictor written from its formulas in
// float64, for checking the engine's attention masks: RMSNorm(x) = x /
// sqrt(mean(x²) + eps) · w; NeoX RoPE at angle pos · theta^(-2i/head_dim);
// attention softmax(q·k / sqrt(head_dim)) over every key (causal: the keys
// at and before the query), KV head h / (n_heads / n_kv_heads); SiLU-gated
// MLP; untied head. It returns (T, embedding_size) logits.
func referenceForward64(m *Model, ids []int, causal bool) [][]float64 {
	c := &m.Config
	T, d, hd := len(ids), c.DModel, c.HeadDim()
	mat := func(w *quant.Matrix) func(x []float64) []float64 {
		vals := w.Dequantize()
		return func(x []float64) []float64 {
			y := make([]float64, w.Rows)
			for r := range w.Rows {
				for k := range w.Cols {
					y[r] += float64(vals[r*w.Cols+k]) * x[k]
				}
			}
			return y
		}
	}
	rms := func(x []float64, w []float32) []float64 {
		ss := 0.0
		for _, v := range x {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(len(x))+c.RMSNormEps)
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = v * inv * float64(w[i])
		}
		return y
	}
	rope := func(v []float64, pos int) {
		half := hd / 2
		for h := 0; h < len(v)/hd; h++ {
			head := v[h*hd : (h+1)*hd]
			for i := range half {
				angle := float64(pos) * math.Pow(c.RopeTheta, -2*float64(i)/float64(hd))
				a, b := head[i], head[i+half]
				head[i] = a*math.Cos(angle) - b*math.Sin(angle)
				head[i+half] = b*math.Cos(angle) + a*math.Sin(angle)
			}
		}
	}
	embed := m.Weights.Embed.Dequantize()
	x := make([][]float64, T) // (T, d_model)
	for t, id := range ids {
		x[t] = make([]float64, d)
		for i := range d {
			x[t][i] = float64(embed[id*d+i])
		}
	}
	for l := range m.Weights.Layers {
		L := &m.Weights.Layers[l]
		q, k, v := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := range T {
			n := rms(x[t], L.AttnNorm)
			q[t], k[t], v[t] = mat(&L.Q)(n), mat(&L.K)(n), mat(&L.V)(n)
			rope(q[t], t)
			rope(k[t], t)
		}
		for t := range T {
			att := make([]float64, d)
			for h := range c.NHeads {
				kvh := h / (c.NHeads / c.NKVHeads)
				keys := T
				if causal {
					keys = t + 1
				}
				scores := make([]float64, keys)
				best := math.Inf(-1)
				for j := range keys {
					for i := range hd {
						scores[j] += q[t][h*hd+i] * k[j][kvh*hd+i]
					}
					scores[j] /= math.Sqrt(float64(hd))
					best = max(best, scores[j])
				}
				sum := 0.0
				for j := range scores {
					scores[j] = math.Exp(scores[j] - best)
					sum += scores[j]
				}
				for j := range keys {
					for i := range hd {
						att[h*hd+i] += scores[j] / sum * v[j][kvh*hd+i]
					}
				}
			}
			out := mat(&L.AttnOut)(att)
			for i := range d {
				x[t][i] += out[i]
			}
			n := rms(x[t], L.FFNorm)
			gate, up := mat(&L.FFProj)(n), mat(&L.Up)(n)
			for i := range gate {
				gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
			}
			down := mat(&L.FFOut)(gate)
			for i := range d {
				x[t][i] += down[i]
			}
		}
	}
	logits := make([][]float64, T)
	for t := range T {
		logits[t] = mat(&m.Weights.Head)(rms(x[t], m.Weights.NormF))
	}
	return logits
}

// The engine's causal and bidirectional masks against the float64 forward
// written from the formulas: the same logits within float32 rounding, and
// the two masks give different logits (so the comparison can tell them
// apart).
func TestForwardMasksMatchFloat64Reference(t *testing.T) {
	const T = 12
	m := RandomModel(samplerConfig(), 11)
	ids := passCanvas(T)
	V := m.Config.EmbeddingSize
	for _, causal := range []bool{true, false} {
		want := referenceForward64(m, ids, causal)
		other := referenceForward64(m, ids, !causal)
		for _, threads := range []int{1, 2} {
			st := NewState(m, T)
			st.Threads = threads
			got, err := st.ForwardPass(ids, Pass{From: 0, To: T, Causal: causal})
			require.NoError(t, err)
			worst, gap := 0.0, 0.0
			for p := range T {
				for j := range V {
					worst = max(worst, math.Abs(float64(got[p*V+j])-want[p][j]))
					gap = max(gap, math.Abs(want[p][j]-other[p][j]))
				}
			}
			assert.LessOrEqual(t, worst, 1e-4, "causal %v, %d threads", causal, threads)
			assert.Greater(t, gap, 1e-2, "the masks must change the logits")
		}
	}
}

// The pass an autoregressive model decodes with, the prompt at once and
// then one position at a time against the cached keys and values, gives
// the logits of a full causal pass over each prefix (float32: within 1e-5;
// int8: bit for bit, checked on every kernel path in package quant).
func TestCausalIncrementalPassMatchesFullPass(t *testing.T) {
	const T, P = 20, 6
	ids := passCanvas(T)
	for _, tt := range []struct {
		name    string
		group   int // 0: float32
		threads int
		tol     float64
	}{
		{"f32, 1 thread", 0, 1, 1e-5},
		{"f32, 2 threads", 0, 2, 1e-5},
		{"q8, 1 thread", 16, 1, 0},
		{"q8, 2 threads", 16, 2, 0},
	} {
		m := RandomModel(causalConfig(), 5)
		if tt.group > 0 {
			m = m.Quantize(tt.group)
		}
		V := m.Config.EmbeddingSize
		st := NewState(m, T)
		st.Threads = tt.threads
		cache := NewKVCache(&m.Config, T)
		for pos := P; pos <= T; pos++ {
			from := pos - 1
			if pos == P {
				from = 0
			}
			got, err := st.ForwardPass(ids[:pos], Pass{From: from, To: pos, Cache: cache, Causal: true, Logits: []int{pos - 1}})
			require.NoError(t, err)
			got = append([]float32(nil), got...)
			full, err := NewState(m, T).ForwardPass(ids[:pos], Pass{From: 0, To: pos, Causal: true})
			require.NoError(t, err)
			worst := 0.0
			for j := range V {
				worst = max(worst, math.Abs(float64(got[j]-full[(pos-1)*V+j])))
			}
			assert.LessOrEqual(t, worst, tt.tol, "%s, prefix of %d", tt.name, pos)
		}
	}
}

// referenceCausalDecode decodes without a cache: at each position a full
// causal pass over the prefix, the token chosen from the last row (argmax,
// or Gumbel-max u_i ~ the sampler's PCG in vocabulary order, g = l -
// T·log(-log u)), never the mask; it stops at EOS. It returns the canvas
// before each step, then the final one.
func referenceCausalDecode(t *testing.T, m *Model, prompt []int, genLength int, temperature float64, seed uint64) [][]int {
	t.Helper()
	c := &m.Config
	V := c.EmbeddingSize
	pcg := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	x := append([]int(nil), prompt...)
	for range genLength {
		x = append(x, c.MaskTokenID)
	}
	var trace [][]int
	for pos := len(prompt); pos < len(x); pos++ {
		trace = append(trace, append([]int(nil), x...))
		logits, err := NewState(m, 0).ForwardPass(x[:pos], Pass{From: 0, To: pos, Causal: true})
		require.NoError(t, err)
		row := logits[(pos-1)*V : pos*V]
		best, token := math.Inf(-1), -1
		for j, l := range row {
			g := float64(l)
			if temperature > 0 {
				u := float64(pcg.Uint64()<<11>>11) / (1 << 53)
				g -= temperature * math.Log(-math.Log(u))
			}
			if j != c.MaskTokenID && g > best {
				best, token = g, j
			}
		}
		x[pos] = token
		if token == c.EOSTokenID {
			for p := pos + 1; p < len(x); p++ {
				x[p] = c.EOSTokenID
			}
			break
		}
	}
	return append(trace, x)
}

func TestGenerateCausalMatchesReference(t *testing.T) {
	m := RandomModel(causalConfig(), 3)
	prompt := []int{4, 8, 15, 16, 23}
	for _, tt := range []struct {
		name        string
		group       int
		temperature float64
		seed        uint64
	}{
		{"greedy f32", 0, 0, 0},
		{"temperature 1 f32", 0, 1, 7},
		{"temperature 0.5 q8", 16, 0.5, 2},
		{"greedy q8", 16, 0, 0},
	} {
		mm := m
		if tt.group > 0 {
			mm = m.Quantize(tt.group)
		}
		want := referenceCausalDecode(t, mm, prompt, 12, tt.temperature, tt.seed)
		// Diffusion-only settings are ignored.
		o := Options{GenLength: 12, Temperature: tt.temperature, Seed: tt.seed, Steps: 3, BlockLength: 5, Remasking: Random, Cache: DualCache}
		out, steps := run(t, NewState(mm, 0), prompt, o)
		var got [][]int
		for i, s := range steps {
			got = append(got, s.Canvas)
			pos := len(prompt) + i
			assert.Equal(t, pos, s.BlockStart, tt.name)
			assert.Equal(t, pos+1, s.BlockEnd, tt.name)
			assert.Equal(t, 1, s.Passes, tt.name)
			assert.Equal(t, pos, s.ComputedTo, tt.name)
			assert.Equal(t, map[bool]int{true: 0, false: pos - 1}[i == 0], s.ComputedFrom, tt.name)
			require.NotEmpty(t, s.Committed, tt.name)
			assert.Equal(t, pos, s.Committed[0].Pos, tt.name)
			assert.Equal(t, out[pos], s.Committed[0].Token, tt.name)
			require.Contains(t, s.Candidates, pos, tt.name)
			assert.Len(t, s.Candidates, 1, tt.name)
			if tt.temperature == 0 {
				assert.Equal(t, s.Committed[0].Token, s.Candidates[pos][0].Token, "%s: greedy takes the top candidate", tt.name)
			}
		}
		assert.Equal(t, want, append(got, out), tt.name)
	}
}

// At EOS the decoding stops and the rest of the canvas is EOS padding,
// committed by the last step; with SuppressEOS it runs to the end.
func TestGenerateCausalStopsAtEOS(t *testing.T) {
	m := RandomModel(causalConfig(), 3)
	prompt := []int{4, 8, 15, 16, 23}
	plain := referenceCausalDecode(t, m, prompt, 12, 0, 0)
	free := plain[len(plain)-1]
	// Call the token the model writes third "EOS" (the arithmetic does not
	// depend on which id is EOS), choosing one not written before.
	stop := -1
	for i := len(prompt); i < len(free) && stop < 0; i++ {
		if i >= len(prompt)+2 && !contains(free[len(prompt):i], free[i]) {
			stop = i
		}
	}
	require.GreaterOrEqual(t, stop, 0, "no fresh token to call EOS")
	m.Config.EOSTokenID = free[stop]
	out, steps := run(t, NewState(m, 0), prompt, Options{GenLength: 12})
	require.Len(t, steps, stop-len(prompt)+1)
	assert.Equal(t, free[:stop+1], out[:stop+1])
	for p := stop; p < len(out); p++ {
		assert.Equal(t, m.Config.EOSTokenID, out[p], "position %d", p)
	}
	last := steps[len(steps)-1]
	assert.Len(t, last.Committed, len(out)-stop)

	out, steps = run(t, NewState(m, 0), prompt, Options{GenLength: 12, SuppressEOS: true})
	assert.Len(t, steps, 12)
	assert.NotContains(t, out[len(prompt):], m.Config.EOSTokenID)
}

func contains(ids []int, id int) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func TestGenerateCausalSeeded(t *testing.T) {
	st := NewState(RandomModel(causalConfig(), 3), 0)
	prompt := []int{1, 2, 3}
	o := Options{GenLength: 16, Temperature: 1, Seed: 5, SuppressEOS: true}
	a, _ := run(t, st, prompt, o)
	b, _ := run(t, st, prompt, o)
	assert.Equal(t, a, b, "same seed, same tokens")
	o.Seed = 6
	c, _ := run(t, st, prompt, o)
	assert.NotEqual(t, a, c, "another seed, other tokens")
}

// The decoder runs its one-position passes on one thread and gives the
// State back with the threads it was given.
func TestGenerateCausalKeepsThreads(t *testing.T) {
	st := NewState(RandomModel(causalConfig(), 3), 0)
	st.Threads = 3
	run(t, st, []int{1, 2, 3}, Options{GenLength: 8, SuppressEOS: true})
	assert.Equal(t, 3, st.Threads)
}

func TestGenerateCausalRefuses(t *testing.T) {
	st := NewState(RandomModel(causalConfig(), 3), 16)
	tests := []struct {
		name   string
		prompt []int
		opts   Options
		err    error
	}{
		{"guidance", []int{1, 2}, Options{GenLength: 4, CFGScale: 1}, ErrCausalOptions},
		{"threshold", []int{1, 2}, Options{GenLength: 4, Threshold: 0.9}, ErrCausalOptions},
		{"a mask to infill", []int{1, 49, 2}, Options{GenLength: 4}, ErrCausalOptions},
		{"nothing to generate", []int{1, 2}, Options{}, ErrOptions},
		{"no prompt", nil, Options{GenLength: 4}, ErrOptions},
		{"negative temperature", []int{1}, Options{GenLength: 4, Temperature: -1}, ErrOptions},
		{"token outside the vocabulary", []int{50}, Options{GenLength: 4}, ErrToken},
		{"too long", []int{1, 2}, Options{GenLength: 15}, ErrTooLong},
	}
	for _, tt := range tests {
		_, err := st.Generate(context.Background(), tt.prompt, tt.opts, nil)
		assert.ErrorIs(t, err, tt.err, tt.name)
	}
}

// CausalNLL is the cross-entropy of each next token under the float64
// reference's causal logits, summed; a diffusion model is refused.
func TestCausalNLLMatchesFloat64Reference(t *testing.T) {
	const T = 14
	m := RandomModel(causalConfig(), 5)
	ids := passCanvas(T)
	ref := referenceForward64(m, ids, true)
	want, wantCorrect := 0.0, 0
	for i := range T - 1 {
		row := ref[i]
		best, hi := 0, math.Inf(-1)
		for j, l := range row {
			if l > hi && j != m.Config.MaskTokenID {
				best, hi = j, l
			}
		}
		top := math.Inf(-1)
		for _, l := range row {
			top = max(top, l)
		}
		sum := 0.0
		for _, l := range row {
			sum += math.Exp(l - top)
		}
		want += math.Log(sum) + top - row[ids[i+1]]
		if best == ids[i+1] {
			wantCorrect++
		}
	}
	st := NewState(m, T)
	got, correct, err := st.CausalNLL(ids)
	require.NoError(t, err)
	assert.InDelta(t, want, got, 1e-3)
	assert.Equal(t, wantCorrect, correct)

	_, _, err = NewState(RandomModel(samplerConfig(), 5), T).CausalNLL(ids)
	require.ErrorIs(t, err, ErrNotCausal)
	_, _, err = st.CausalNLL(ids[:1])
	require.ErrorIs(t, err, ErrOptions)
}

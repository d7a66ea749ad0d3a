package trainer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/tools/train/linalg"
)

func TestCausalAttentionIgnoresLaterTokens(t *testing.T) {
	n := tinyNet(t, 1, 6, 1)
	b := randomBatch(1, 6, true, 4)
	b.Lens[0] = 6
	for i := range b.Targets {
		b.Targets[i], b.Weights[i] = 0, 1
	}
	_, err := n.Loss(b)
	require.NoError(t, err)
	before := slices.Clone(n.Logits())
	b.Tokens[5] = (b.Tokens[5] + 1) % 10
	_, err = n.Loss(b)
	require.NoError(t, err)
	after := n.Logits()
	V := n.cfg.EmbeddingSize
	assert.Equal(t, before[:5*V], after[:5*V], "positions 0..4 changed when token 5 did")
	assert.NotEqual(t, before[5*V:], after[5*V:], "position 5 did not see its own token")
}

func TestFillPretrain(t *testing.T) {
	const B, T = 64, 32
	rng := rand.New(rand.NewPCG(1, 2))
	clean := make([]int32, B*T)
	for i := range clean {
		clean[i] = int32(i % 7)
	}
	b := NewBatch(B, T)
	FillPretrain(b, clean, 99, 0, rng)
	var ratios []float64
	for s := range B {
		require.EqualValues(t, T, b.Lens[s])
		masked := 0
		var w float32
		for i := s * T; i < (s+1)*T; i++ {
			if b.Tokens[i] == 99 {
				masked++
				assert.Equal(t, clean[i], b.Targets[i])
				w = b.Weights[i]
			} else {
				assert.Equal(t, clean[i], b.Tokens[i])
				assert.EqualValues(t, -1, b.Targets[i])
				assert.Zero(t, b.Weights[i])
			}
		}
		if masked > 0 {
			// weight = 1/(p·B·T)  =>  p = 1/(w·B·T)
			ratios = append(ratios, 1/(float64(w)*B*T))
		}
	}
	// Stratified: one ratio in each of most of the B strata of (0, 1).
	strata := map[int]bool{}
	for _, p := range ratios {
		strata[int(p*B)] = true
	}
	assert.Greater(t, len(strata), B*3/4, "mask ratios cluster: %v", ratios)

	// Random lengths: every sequence cut when the share is 1.
	FillPretrain(b, clean, 99, 1, rng)
	cut := 0
	for s := range B {
		if b.Lens[s] < T {
			cut++
			for i := s*T + int(b.Lens[s]); i < (s+1)*T; i++ {
				assert.EqualValues(t, -1, b.Targets[i], "padding carries a loss")
			}
		}
	}
	assert.Greater(t, cut, B/2)
}

func TestFillAR(t *testing.T) {
	b := NewBatch(2, 3)
	FillAR(b, []int32{1, 2, 3, 4, 5, 6, 7, 8})
	assert.True(t, b.Causal)
	assert.Equal(t, []int32{1, 2, 3, 5, 6, 7}, b.Tokens)
	assert.Equal(t, []int32{2, 3, 4, 6, 7, 8}, b.Targets)
	for _, w := range b.Weights {
		assert.InDelta(t, 1.0/6, w, 1e-7)
	}
}

// Pairs for next-token training: prompt, response, EOS, padding; a loss on
// every prediction up to the first EOS, averaged over them.
func TestFillARPairs(t *testing.T) {
	const eos = 9
	b := NewBatch(2, 4)
	require.NoError(t, FillARPairs(b, []Example{{Prompt: []int32{1, 2}, Response: []int32{3}}, {Response: []int32{5, 6, 7}}}, eos))
	assert.True(t, b.Causal)
	assert.Equal(t, []int32{1, 2, 3, eos, 5, 6, 7, eos}, b.Tokens)
	assert.Equal(t, []int32{2, 3, eos, -1, 6, 7, eos, -1}, b.Targets)
	w := float32(1.0 / 6)
	assert.InDeltaSlice(t, []float32{w, w, w, 0, w, w, w, 0}, b.Weights, 1e-7)

	assert.ErrorIs(t, FillARPairs(b, []Example{{Prompt: []int32{1, 2, 3}, Response: []int32{4, 5}}, {Response: []int32{1}}}, eos), ErrBatch, "no room for the EOS")
	assert.ErrorIs(t, FillARPairs(b, []Example{{Response: []int32{1}}}, eos), ErrBatch, "fewer examples than sequences")
}

// With respLen 0 the response fills the canvas after the prompt: an empty
// prompt makes every position maskable, and every sequence is full.
func TestFillSFTToCanvasEnd(t *testing.T) {
	const B, T, mask, eos = 64, 8, 99, 98
	rng := rand.New(rand.NewPCG(1, 2))
	examples := make([]Example, B)
	for i := range examples {
		if i%2 == 0 {
			examples[i] = Example{Response: []int32{1, 2, 3, 4, 5, 6}}
		} else {
			examples[i] = Example{Prompt: []int32{7, 8, 9, 10, 11}, Response: []int32{12}}
		}
	}
	b := NewBatch(B, T)
	require.NoError(t, FillSFT(b, examples, 0, mask, eos, rng))
	maskedAt := make([]int, T)
	for s := range B {
		assert.EqualValues(t, T, b.Lens[s])
		for t0 := range T {
			i := s*T + t0
			if b.Tokens[i] == mask {
				maskedAt[t0]++
				assert.Positive(t, b.Weights[i])
			}
			if s%2 == 1 && t0 < 5 {
				assert.NotEqual(t, int32(mask), b.Tokens[i], "the prompt is never masked")
			}
		}
	}
	assert.Positive(t, maskedAt[0], "an empty prompt lets the first token be masked")
	tooLong := []Example{{Prompt: []int32{1, 2, 3, 4, 5, 6, 7}, Response: []int32{8}}}
	assert.ErrorIs(t, FillSFT(NewBatch(1, T), tooLong, 0, mask, eos, rng), ErrBatch, "no room for the EOS")
}

func TestFillSFT(t *testing.T) {
	const B, T, resp = 8, 12, 6
	rng := rand.New(rand.NewPCG(3, 4))
	ex := make([]Example, B)
	for s := range ex {
		ex[s] = Example{Prompt: []int32{1, 2, int32(3 + s%3)}[:2+s%2], Response: []int32{7, 8}}
	}
	b := NewBatch(B, T)
	require.NoError(t, FillSFT(b, ex, resp, 99, 50, rng))
	for s := range B {
		np := len(ex[s].Prompt)
		assert.EqualValues(t, np+resp, b.Lens[s])
		for t2 := range T {
			i := s*T + t2
			switch {
			case t2 < np:
				assert.Equal(t, ex[s].Prompt[t2], b.Tokens[i], "prompt changed")
				assert.EqualValues(t, -1, b.Targets[i])
			case t2 < np+resp:
				want := int32(50)
				if t2-np < 2 {
					want = ex[s].Response[t2-np]
				}
				if b.Tokens[i] == 99 {
					assert.Equal(t, want, b.Targets[i])
					assert.Greater(t, b.Weights[i], float32(1/float64(resp*B)), "weight is 1/(p·len·B) with p < 1")
				} else {
					assert.Equal(t, want, b.Tokens[i], "response or EOS padding wrong")
				}
			default:
				assert.EqualValues(t, -1, b.Targets[i])
			}
		}
	}
	assert.Error(t, FillSFT(b, ex, T, 99, 50, rng), "prompt + response longer than the canvas")
}

func TestAdamWMatchesDefinition(t *testing.T) {
	p, err := NewParams(tinyConfig())
	require.NoError(t, err)
	p.Init(1, 0.1)
	start := slices.Clone(p.Data)
	opt := NewAdamW(len(p.Data), 0.9, 0.95, 0.1)
	r := rand.New(rand.NewPCG(1, 1))
	grads := make([][]float32, 3)
	for s := range grads {
		grads[s] = make([]float32, len(p.Data))
		for i := range grads[s] {
			grads[s][i] = float32(r.NormFloat64())
		}
	}
	pool := linalg.NewPool(2)
	lrs := []float64{1e-3, 2e-3, 5e-4}
	for s, g := range grads {
		opt.Update(pool, p, g, lrs[s])
	}
	// The same three steps in float64, element by element.
	for _, seg := range p.Segments() {
		for _, i := range []int{seg.Offset, seg.Offset + seg.Len - 1} {
			w, m, v := float64(start[i]), 0.0, 0.0
			for s, g := range grads {
				lr := lrs[s]
				if seg.Decay {
					w -= lr * 0.1 * w
				}
				gi := float64(g[i])
				m = 0.9*m + 0.1*gi
				v = 0.95*v + 0.05*gi*gi
				tt := float64(s + 1)
				w -= lr / (1 - math.Pow(0.9, tt)) * m / (math.Sqrt(v/(1-math.Pow(0.95, tt))) + 1e-8)
			}
			assert.InDelta(t, w, p.Data[i], 1e-6, "%s element %d", seg.Name, i)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []float32{3, 4}
	assert.InDelta(t, 5, ClipGradNorm(g, 1), 1e-9)
	assert.InDelta(t, 0.6, g[0], 1e-6)
	assert.InDelta(t, 0.8, g[1], 1e-6)
	g = []float32{0.3, 0.4}
	ClipGradNorm(g, 1)
	assert.Equal(t, []float32{0.3, 0.4}, g)
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1, Warmup: 10, Total: 110, MinFrac: 0.1}
	assert.InDelta(t, 0.1, s.LR(0), 1e-12)
	assert.InDelta(t, 1, s.LR(9), 1e-12)
	assert.InDelta(t, 1, s.LR(10), 1e-12)
	assert.InDelta(t, 0.55, s.LR(60), 1e-12)
	assert.InDelta(t, 0.1, s.LR(110), 1e-12)
	assert.InDelta(t, 0.1, s.LR(500), 1e-12)
}

func TestStateRoundTrip(t *testing.T) {
	p, err := NewParams(tinyConfig())
	require.NoError(t, err)
	p.Init(2, 0.1)
	opt := NewAdamW(len(p.Data), 0.9, 0.95, 0.1)
	opt.M[3], opt.V[5] = 1.5, 2.5
	rng := rand.NewPCG(9, 9)
	rngState, err := rng.MarshalBinary()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "state.bin")
	in := &State{Config: p.Config, Step: 42, AdamSteps: 40, RNG: rngState, Run: []byte(`{"lr":0.001}`),
		Params: p.Data, M: opt.M, V: opt.V}
	require.NoError(t, WriteState(path, in))
	out, err := ReadState(path)
	require.NoError(t, err)
	assert.Equal(t, in.Config, out.Config)
	assert.Equal(t, 42, out.Step)
	assert.Equal(t, 40, out.AdamSteps)
	assert.Equal(t, rngState, out.RNG)
	assert.JSONEq(t, `{"lr":0.001}`, string(out.Run))
	assert.Equal(t, p.Data, out.Params)
	assert.Equal(t, opt.M, out.M)
	assert.Equal(t, opt.V, out.V)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[len(data)-1] ^= 1
	require.NoError(t, os.WriteFile(path, data, 0o644))
	_, err = ReadState(path)
	assert.ErrorIs(t, err, ErrState)
}

// TestLossFallsOnToyCorpus trains a tiny model on a corpus with an obvious
// structure (a repeating phrase) with each objective and expects the
// held-out loss to fall by more than half.
func TestLossFallsOnToyCorpus(t *testing.T) {
	corpus := make([]int32, 4000)
	phrase := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i := range corpus {
		corpus[i] = phrase[i%len(phrase)]
	}
	for _, objective := range []string{AR, LLaDA} {
		t.Run(objective, func(t *testing.T) {
			const B, T, steps = 8, 12, 600
			n := tinyNet(t, B, T, 2)
			n.P.Init(1, 0.02)
			opt := NewAdamW(len(n.P.Data), 0.9, 0.95, 0.01)
			sched := Schedule{Peak: 1e-2, Warmup: 10, Total: steps, MinFrac: 0.1}
			rng := rand.New(rand.NewPCG(1, 2))
			b := NewBatch(B, T)
			windows := make([]int32, B*(T+1))
			fill := func(r *rand.Rand) {
				for s := range B {
					start := r.IntN(len(corpus) - T - 1)
					copy(windows[s*(T+1):(s+1)*(T+1)], corpus[start:])
				}
				if objective == AR {
					FillAR(b, windows)
					return
				}
				clean := make([]int32, B*T)
				for s := range B {
					copy(clean[s*T:(s+1)*T], windows[s*(T+1):])
				}
				FillPretrain(b, clean, 10, 0.01, r)
			}
			heldout := func() float64 {
				r := rand.New(rand.NewPCG(5, 5))
				var sum float64
				for range 4 {
					fill(r)
					l, err := n.Loss(b)
					require.NoError(t, err)
					sum += l
				}
				return sum / 4
			}
			first := heldout()
			for step := range steps {
				fill(rng)
				clear(n.G.Data)
				_, err := n.LossAndGrad(b)
				require.NoError(t, err)
				ClipGradNorm(n.G.Data, 1)
				opt.Update(n.Pool, n.P, n.G.Data, sched.LR(step))
			}
			last := heldout()
			t.Logf("%s: held-out loss %.3f -> %.3f", objective, first, last)
			assert.Less(t, last, first/2)
		})
	}
}

// A state file that is damaged, foreign or endless is refused with
// ErrState, and before anything is allocated from the sizes it declares.
func TestReadStateRefusesBadFiles(t *testing.T) {
	p, err := NewParams(tinyConfig())
	require.NoError(t, err)
	good := filepath.Join(t.TempDir(), "state.bin")
	require.NoError(t, WriteState(good, &State{Config: p.Config, Params: p.Data,
		M: make([]float32, len(p.Data)), V: make([]float32, len(p.Data))}))
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	hl := int(binary.LittleEndian.Uint32(data[12:]))

	// withHeader rewrites the JSON header through edit, keeping the arrays.
	withHeader := func(edit func(h map[string]any)) []byte {
		var h map[string]any
		require.NoError(t, json.Unmarshal(data[16:16+hl], &h))
		edit(h)
		header, err := json.Marshal(h)
		require.NoError(t, err)
		out := append([]byte(nil), data[:16]...)
		binary.LittleEndian.PutUint32(out[12:], uint32(len(header)))
		return append(append(out, header...), data[16+hl:]...)
	}
	hugeHeader := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(hugeHeader[12:], 0xffffffff)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"zeros", make([]byte, 1<<16), "not a training state"},
		{"empty", nil, "not a training state"},
		{"header length past the limit", hugeHeader, "limit"},
		{"header past the end", data[:16+hl/2], "past the end"},
		{"arrays cut short", data[:len(data)-5], "fewer than"},
		{"a byte too many", append(append([]byte(nil), data...), 0), "more than"},
		{"size of a huge model", withHeader(func(h map[string]any) { h["size"] = 1 << 40 }), "values per array"},
		{"layers 1e9", withHeader(func(h map[string]any) {
			h["config"].(map[string]any)["n_layers"] = 1e9
			h["size"] = 1e9
		}), "values per array"},
		{"no heads", withHeader(func(h map[string]any) { h["config"].(map[string]any)["n_heads"] = 0 }), "bad training state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.bin")
			require.NoError(t, os.WriteFile(path, tc.file, 0o644))
			_, err := ReadState(path)
			require.ErrorIs(t, err, ErrState)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

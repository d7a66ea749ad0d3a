package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// samplerConfig is a small random model for sampler tests.
func samplerConfig() Config {
	return Config{DModel: 32, NHeads: 4, NKVHeads: 2, NLayers: 2, MLPHiddenSize: 48,
		VocabSize: 50, EmbeddingSize: 50, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 64, MaskTokenID: 49, EOSTokenID: 48, PadTokenID: 48}
}

func samplerState(t *testing.T) *State {
	t.Helper()
	m := RandomModel(samplerConfig(), 7)
	require.NoError(t, m.Validate())
	return NewState(m, 0)
}

func TestTransferSchedule(t *testing.T) {
	tests := []struct {
		n, steps int
		want     []int
	}{
		{16, 16, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{8, 4, []int{2, 2, 2, 2}},
		{10, 4, []int{3, 3, 2, 2}},
		{3, 5, []int{1, 1, 1, 0, 0}},
		{0, 2, []int{0, 0}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, TransferSchedule(tt.n, tt.steps), "%d over %d", tt.n, tt.steps)
	}
}

func TestOptionsValidate(t *testing.T) {
	base := Options{Steps: 8, GenLength: 16, BlockLength: 8, Remasking: LowConfidence}
	tests := []struct {
		name string
		edit func(*Options)
		ok   bool
	}{
		{"reference example", func(*Options) {}, true},
		{"infill only", func(o *Options) { o.GenLength = 0 }, true},
		{"negative length", func(o *Options) { o.GenLength = -1 }, false},
		{"block does not divide", func(o *Options) { o.BlockLength = 5 }, false},
		{"zero block", func(o *Options) { o.BlockLength = 0 }, false},
		{"steps not a multiple of blocks", func(o *Options) { o.Steps = 7 }, false},
		{"zero steps", func(o *Options) { o.Steps = 0 }, false},
		{"steps unused with a threshold", func(o *Options) { o.Steps, o.Threshold = 0, 0.9 }, true},
		{"steps not a multiple, unused with a threshold", func(o *Options) { o.Steps, o.Threshold = 7, 0.9 }, true},
		{"negative temperature", func(o *Options) { o.Temperature = -0.1 }, false},
		{"negative cfg", func(o *Options) { o.CFGScale = -1 }, false},
		{"threshold above 1", func(o *Options) { o.Threshold = 1.5 }, false},
		{"unknown remasking", func(o *Options) { o.Remasking = "greedy" }, false},
		{"huge top-k", func(o *Options) { o.TopK = 1000 }, false},
		{"dual cache", func(o *Options) { o.Cache = DualCache }, true},
		{"no cache named", func(o *Options) { o.Cache = NoCache }, true},
		{"unknown cache", func(o *Options) { o.Cache = "full" }, false},
		{"steps 2^62", func(o *Options) { o.Steps = 1 << 62 }, false},
		{"steps 1e9", func(o *Options) { o.Steps = 1e9 }, false},
	}
	for _, tt := range tests {
		o := base
		tt.edit(&o)
		err := o.Validate()
		if tt.ok {
			assert.NoError(t, err, tt.name)
		} else {
			assert.ErrorIs(t, err, ErrOptions, tt.name)
		}
	}
}

// run generates and returns the output and the steps observed.
func run(t *testing.T, st *State, prompt []int, o Options) ([]int, []Step) {
	t.Helper()
	var steps []Step
	out, err := st.Generate(context.Background(), prompt, o, func(s Step) { steps = append(steps, s) })
	require.NoError(t, err)
	return out, steps
}

func TestGenerateFillsEveryMask(t *testing.T) {
	st := samplerState(t)
	prompt := []int{1, 2, 3, 4}
	for _, r := range Remaskings {
		for _, temp := range []float64{0, 0.8} {
			o := Options{Steps: 8, GenLength: 16, BlockLength: 8, Remasking: r, Temperature: temp, CFGScale: 0.5, Seed: 3}
			out, steps := run(t, st, prompt, o)
			assert.Len(t, steps, 8, "%s", r)
			assert.Equal(t, prompt, out[:4])
			assert.NotContains(t, out, st.Model.Config.MaskTokenID, "%s temperature %v", r, temp)
			committed := 0
			for i, s := range steps {
				assert.Equal(t, i, s.Index)
				assert.Equal(t, i/4, s.Block)
				assert.Equal(t, 4+8*s.Block, s.BlockStart)
				assert.Len(t, s.Committed, 2, "linear schedule: 8 masks over 4 steps")
				for _, c := range s.Committed {
					assert.GreaterOrEqual(t, c.Pos, s.BlockStart)
					assert.Less(t, c.Pos, s.BlockEnd)
					assert.Equal(t, c.Token, out[c.Pos])
				}
				committed += len(s.Committed)
			}
			assert.Equal(t, 16, committed)
		}
	}
}

func TestGenerateTraceCandidates(t *testing.T) {
	st := samplerState(t)
	_, steps := run(t, st, []int{5, 6}, Options{Steps: 4, GenLength: 8, BlockLength: 8, Remasking: LowConfidence, TopK: 3})
	for _, s := range steps {
		masked := 0
		for p := range s.BlockEnd {
			if s.Canvas[p] == st.Model.Config.MaskTokenID {
				masked++
				require.Contains(t, s.Candidates, p)
			}
		}
		assert.Len(t, s.Candidates, masked)
		for _, c := range s.Committed {
			top := s.Candidates[c.Pos]
			require.Len(t, top, 3)
			assert.Equal(t, c.Token, top[0].Token, "argmax is the top candidate")
			assert.InDelta(t, c.Prob, top[0].Prob, 1e-12)
			assert.GreaterOrEqual(t, top[0].Prob, top[1].Prob)
			assert.GreaterOrEqual(t, top[1].Prob, top[2].Prob)
		}
	}
}

func TestGenerateSeeded(t *testing.T) {
	st := samplerState(t)
	o := Options{Steps: 8, GenLength: 16, BlockLength: 16, Remasking: Random, Temperature: 1, Seed: 11}
	a, _ := run(t, st, []int{1}, o)
	b, _ := run(t, st, []int{1}, o)
	assert.Equal(t, a, b, "same seed, same output")
	o.Seed = 12
	c, _ := run(t, st, []int{1}, o)
	assert.NotEqual(t, a, c, "another seed, another output")
}

// With a threshold the step rule is Fast-dLLM's get_transfer_index: the
// most confident prediction, plus every other that reaches the threshold;
// Steps and the linear schedule are not used.
func TestGenerateThreshold(t *testing.T) {
	st := samplerState(t)
	o := Options{Steps: 16, GenLength: 16, BlockLength: 8, Remasking: LowConfidence}
	plain, _ := run(t, st, []int{1, 2}, o)

	o.Steps = 2     // the schedule would commit 4 a step
	o.Threshold = 1 // nothing reaches it: one a step, whatever Steps says
	same, steps := run(t, st, []int{1, 2}, o)
	assert.Equal(t, plain, same, "one a step is the 16-step schedule")
	require.Len(t, steps, 16)
	for _, s := range steps {
		assert.Len(t, s.Committed, 1)
	}

	o.Steps = 0        // Steps is not even needed
	o.Threshold = 1e-9 // everything reaches it: one step per block
	out, steps := run(t, st, []int{1, 2}, o)
	assert.Len(t, steps, 2)
	assert.NotContains(t, out, st.Model.Config.MaskTokenID)
	assert.Len(t, steps[0].Committed, 8)

	// In between, a step commits exactly the most confident and those at
	// or above the threshold.
	o.Threshold = 0.05
	_, steps = run(t, st, []int{1, 2}, o)
	for _, s := range steps {
		above := 0
		for _, c := range s.Committed {
			if c.Confidence >= o.Threshold {
				above++
			}
		}
		assert.Equal(t, max(above, 1), len(s.Committed), "step %d", s.Index)
	}
}

func TestGenerateInfill(t *testing.T) {
	st := samplerState(t)
	mask := st.Model.Config.MaskTokenID
	prompt := []int{1, mask, mask, 4, mask, 6}
	out, steps := run(t, st, prompt, Options{Steps: 3, Remasking: LowConfidence})
	assert.Len(t, out, len(prompt))
	assert.NotContains(t, out, mask)
	assert.Len(t, steps, 3)
	for i, id := range prompt {
		if id != mask {
			assert.Equal(t, id, out[i])
		}
	}
	// Prompt masks count towards the first block's schedule.
	out, _ = run(t, st, prompt, Options{Steps: 4, GenLength: 4, BlockLength: 2, Remasking: LowConfidence})
	assert.NotContains(t, out, mask)
}

// eosEverywhere makes EOS the most likely token at every position: the
// residual stream's first coordinate is a large constant (every token's
// embedding starts with 100), so after the final norm it dominates, and
// EOS's head row reads it with weight 100.
func eosEverywhere(t *testing.T) *State {
	t.Helper()
	st := samplerState(t)
	w, c := &st.Model.Weights, &st.Model.Config
	d := c.DModel
	for id := range c.EmbeddingSize {
		w.Embed.F32[id*d] = 100
	}
	w.Head.F32[c.EOSTokenID*d] = 100
	return st
}

func TestGenerateSuppressEOS(t *testing.T) {
	o := Options{Steps: 8, GenLength: 8, BlockLength: 8, Remasking: LowConfidence}
	eos := samplerConfig().EOSTokenID
	out, _ := run(t, eosEverywhere(t), []int{1}, o)
	require.Equal(t, []int{eos, eos, eos, eos, eos, eos, eos, eos}, out[1:], "EOS is the most likely token")
	for _, temp := range []float64{0, 1} {
		o.SuppressEOS, o.Temperature = true, temp
		out, steps := run(t, eosEverywhere(t), []int{1}, o)
		assert.NotContains(t, out, eos, "temperature %v", temp)
		for _, s := range steps {
			for pos, cands := range s.Candidates {
				for _, cd := range cands {
					assert.NotEqual(t, eos, cd.Token, "step %d position %d offers EOS", s.Index, pos)
				}
			}
		}
	}
}

func TestGenerateStops(t *testing.T) {
	st := samplerState(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	out, err := st.Generate(ctx, []int{1}, Options{Steps: 16, GenLength: 16, BlockLength: 16, Remasking: LowConfidence},
		func(Step) { n++; cancel() })
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, n, "stops before the next step")
	assert.Len(t, out, 17)
}

func TestGenerateErrors(t *testing.T) {
	st := samplerState(t)
	o := Options{Steps: 4, GenLength: 8, BlockLength: 8, Remasking: LowConfidence}
	_, err := st.Generate(context.Background(), make([]int, 60), o, nil)
	assert.ErrorIs(t, err, ErrTooLong)
	_, err = st.Generate(context.Background(), []int{1, 99}, o, nil)
	assert.ErrorIs(t, err, ErrToken)
	_, err = st.Generate(context.Background(), []int{1}, Options{Steps: 4, Remasking: LowConfidence}, nil)
	assert.ErrorIs(t, err, ErrOptions, "nothing to infill")
	_, err = st.Generate(context.Background(), []int{1}, Options{Steps: 16, GenLength: 8, BlockLength: 8, Remasking: LowConfidence}, nil)
	assert.ErrorIs(t, err, ErrOptions, "more steps than masks")
	assert.ErrorContains(t, err, "16 steps for 8 masked positions")
	_, err = st.Generate(context.Background(), []int{1, 49, 2}, Options{Steps: 2, Remasking: LowConfidence}, nil)
	assert.ErrorIs(t, err, ErrOptions, "more steps than the prompt's masks")
	_, err = st.Generate(context.Background(), []int{1, 49, 2}, Options{Steps: 9, GenLength: 8, BlockLength: 8, Remasking: LowConfidence}, nil)
	assert.NoError(t, err, "as many steps as masks, the prompt's included")
	_, err = st.Forward(nil)
	assert.Error(t, err)
	_, err = st.Forward([]int{-1})
	assert.True(t, errors.Is(err, ErrToken))
}

func TestForwardAllocatesNothing(t *testing.T) {
	st := samplerState(t)
	st.Threads = 1
	ids := []int{1, 2, 3, 49, 49, 49}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := st.ForwardAt(ids, []int{3, 4, 5}); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	q := NewState(st.Model.Quantize(16), 0)
	q.Threads = 1
	q.Forward(ids) // sizes the quantisation scratch once
	allocs = testing.AllocsPerRun(10, func() { q.Forward(ids) })
	assert.Zero(t, allocs)
}

func TestForwardAtMatchesForward(t *testing.T) {
	st := samplerState(t)
	ids := []int{1, 2, 3, 49, 49, 49, 7}
	all, err := st.Forward(ids)
	require.NoError(t, err)
	all = append([]float32(nil), all...)
	V := st.Model.Config.EmbeddingSize
	some, err := st.ForwardAt(ids, []int{5, 0})
	require.NoError(t, err)
	assert.Equal(t, all[5*V:6*V], some[:V])
	assert.Equal(t, all[:V], some[V:2*V])
}

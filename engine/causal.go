package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrCausalOptions reports generation options that only mean something for
// a diffusion model, given to a causal one.
var ErrCausalOptions = errors.New("option not available for a causal (autoregressive) model")

// validateCausal checks the options an autoregressive decoder uses:
// GenLength, Temperature, SuppressEOS, Seed and TopK. Steps, BlockLength,
// Remasking and Cache describe a denoising schedule and are ignored;
// guidance and the Fast-dLLM threshold would change the result and are
// refused.
func (o *Options) validateCausal() error {
	switch {
	case o.GenLength <= 0:
		return fmt.Errorf("%w: gen_length %d, want > 0", ErrOptions, o.GenLength)
	case o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("%w: temperature %v, want a finite value >= 0", ErrOptions, o.Temperature)
	case o.TopK < 0 || o.TopK > 64:
		return fmt.Errorf("%w: top-k %d, want 0..64", ErrOptions, o.TopK)
	case o.CFGScale != 0:
		return fmt.Errorf("%w: classifier-free guidance", ErrCausalOptions)
	case o.Threshold != 0:
		return fmt.Errorf("%w: a parallel-decoding threshold", ErrCausalOptions)
	}
	return nil
}

// generateCausal decodes an autoregressive model left to right with a KV
// cache: the first forward pass runs the prompt causally and keeps every
// position's keys and values; each later pass runs only the token the
// previous step committed, against the cache. The logits at the last
// position predict the next token, chosen as the diffusion sampler chooses
// one (argmax, or Gumbel-max with temperature from the same seeded
// generator; the mask token never).
//
// The trace has the diffusion sampler's shape on the same canvas (prompt
// followed by GenLength masks): step i commits position len(prompt)+i, its
// "block" is that one position, Candidates holds its top-k. When the model
// writes EOS (and SuppressEOS is off) decoding stops and the rest of the
// canvas becomes EOS padding, committed by that last step with confidence
// and probability 1, as the padding of a diffusion answer.
func (s *State) generateCausal(ctx context.Context, prompt []int, opts Options, obs Observer) ([]int, error) {
	if err := opts.validateCausal(); err != nil {
		return nil, err
	}
	c := &s.Model.Config
	mask, eos := c.MaskTokenID, c.EOSTokenID
	if len(prompt) == 0 {
		return nil, fmt.Errorf("%w: a causal model needs a prompt of at least one token", ErrOptions)
	}
	for _, id := range prompt {
		if id < 0 || id >= c.EmbeddingSize {
			return nil, fmt.Errorf("%w: %d (vocabulary %d)", ErrToken, id, c.EmbeddingSize)
		}
		if id == mask {
			return nil, fmt.Errorf("%w: masks in the prompt (a left-to-right model cannot infill)", ErrCausalOptions)
		}
	}
	P, T := len(prompt), len(prompt)+opts.GenLength
	if T > s.Cap {
		return nil, fmt.Errorf("%w: prompt %d + gen_length %d = %d tokens, limit %d", ErrTooLong, P, opts.GenLength, T, s.Cap)
	}
	if opts.TopK == 0 {
		opts.TopK = 5
	}
	opts.Remasking = LowConfidence // a commit's confidence is its probability
	opts.Cache = NoCache           // the stepper's caches are for diffusion blocks

	// x (T): the canvas, masks where tokens are still to come.
	x := make([]int, T)
	copy(x, prompt)
	for i := P; i < T; i++ {
		x[i] = mask
	}
	sp := newStepper(s, opts, nil, obs != nil)
	cache := s.kvCache(0)
	last := []int{0} // (1) the position whose logits are read
	// A pass over one position is too little work to share: starting and
	// joining goroutines for each product costs more than it saves (the
	// base's twin decodes about 1.7 times as fast natively on two threads
	// once these passes keep to one). The prompt's pass keeps them.
	threads := s.Threads
	defer func() { s.Threads = threads }()

	for pos := P; pos < T; pos++ {
		if err := ctx.Err(); err != nil {
			return x, err
		}
		// The first pass runs the prompt; later ones the token committed last.
		last[0] = pos - 1
		pass := Pass{From: pos - 1, To: pos, Cache: cache, Causal: true, Logits: last}
		s.Threads = 1
		if pos == P {
			pass.From, s.Threads = 0, threads
		}
		step := Step{Index: pos - P, Block: pos - P, BlockStart: pos, BlockEnd: pos + 1,
			Passes: 1, ComputedFrom: pass.From, ComputedTo: pass.To}
		if obs != nil {
			step.Canvas = slices.Clone(x)
		}
		row, err := s.ForwardPass(x[:pos], pass)
		if err != nil {
			return x, err
		}
		if opts.SuppressEOS {
			row[eos] = float32(math.Inf(-1))
		}
		cd := sp.predict(pos, row)
		x[pos] = cd.token
		done := cd.token == eos && !opts.SuppressEOS
		if obs != nil {
			step.Candidates = map[int][]Candidate{pos: cd.top}
			step.Committed = []Commit{{Pos: pos, Token: cd.token, Confidence: cd.confidence, Prob: cd.prob}}
		}
		if done {
			for p := pos + 1; p < T; p++ {
				x[p] = eos
				if obs != nil {
					step.Committed = append(step.Committed, Commit{Pos: p, Token: eos, Confidence: 1, Prob: 1})
				}
			}
		}
		if obs != nil {
			obs(step)
		}
		if done {
			break
		}
	}
	return x, nil
}

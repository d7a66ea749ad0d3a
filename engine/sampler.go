package engine

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Generate runs LLaDA's reverse process and returns the final canvas:
// prompt followed by opts.GenLength generated tokens.
//
// It follows the reference generate() step for step: the canvas is the
// prompt plus GenLength masks, filled in blocks of BlockLength from left to
// right, each block in Steps/blocks steps. Each step predicts every masked
// token up to the end of the current block (argmax, or Gumbel-max with
// temperature), scores the predictions with the remasking rule, and
// commits the best k, with k from the linear schedule: n masks over s steps
// give n/s per step and the first n%s steps one more.
//
// Two generalisations reduce to the reference when unused:
//   - Infilling: masks inside the prompt are filled too. They count towards
//     the first block's schedule (the reference would leave some masked),
//     and with GenLength 0 the whole canvas is one block.
//   - Threshold (Fast-dLLM): a step commits every prediction of the block
//     whose confidence reaches the threshold, and never fewer than the
//     schedule's k, so a block ends early but never late.
//
// obs, when not nil, receives every step. ctx is checked before each
// forward pass; on cancellation Generate returns the canvas so far and
// ctx.Err().
func (s *State) Generate(ctx context.Context, prompt []int, opts Options, obs Observer) ([]int, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &s.Model.Config
	mask := c.MaskTokenID
	promptMasks := 0
	for _, id := range prompt {
		if id < 0 || id >= c.EmbeddingSize {
			return nil, fmt.Errorf("%w: %d (vocabulary %d)", ErrToken, id, c.EmbeddingSize)
		}
		if id == mask {
			promptMasks++
		}
	}
	if opts.GenLength == 0 && promptMasks == 0 {
		return nil, fmt.Errorf("%w: gen_length 0 needs masks in the prompt to infill", ErrOptions)
	}
	T := len(prompt) + opts.GenLength
	if T > s.Cap {
		return nil, fmt.Errorf("%w: prompt %d + gen_length %d = %d tokens, limit %d", ErrTooLong, len(prompt), opts.GenLength, T, s.Cap)
	}
	if opts.TopK == 0 {
		opts.TopK = 5
	}

	// x (T): the canvas. isPrompt marks positions given unmasked, which the
	// unconditional pass of classifier-free guidance hides.
	x := make([]int, T)
	copy(x, prompt)
	for i := len(prompt); i < T; i++ {
		x[i] = mask
	}
	isPrompt := make([]bool, T)
	for i, id := range x {
		isPrompt[i] = id != mask
	}
	sp := newStepper(s, opts, isPrompt, obs != nil)

	blocks := opts.Blocks()
	stepsPerBlock := opts.Steps / blocks
	blockLen := opts.BlockLength
	if opts.GenLength == 0 {
		blockLen = 0
	}
	index := 0
	for b := range blocks {
		start := len(prompt) + b*blockLen
		end := start + blockLen
		if opts.GenLength == 0 {
			start, end = 0, T
		}
		n := countMasks(x[start:end], mask)
		if b == 0 && opts.GenLength > 0 {
			n += promptMasks
		}
		schedule := transferSchedule(n, stepsPerBlock)
		for i := range stepsPerBlock {
			if opts.Threshold > 0 && countMasks(x[:end], mask) == 0 {
				break // Fast-dLLM: the block filled early
			}
			if err := ctx.Err(); err != nil {
				return x, err
			}
			step := Step{Index: index, Block: b, BlockStart: start, BlockEnd: end}
			if obs != nil {
				step.Canvas = slices.Clone(x)
			}
			if err := sp.step(x, end, schedule[i], &step); err != nil {
				return x, err
			}
			if obs != nil {
				obs(step)
			}
			index++
		}
	}
	return x, nil
}

// transferSchedule is the reference get_num_transfer_tokens: n tokens over
// steps steps, n/steps each and the first n%steps steps one more.
func transferSchedule(n, steps int) []int {
	k := make([]int, steps)
	for i := range k {
		k[i] = n / steps
		if i < n%steps {
			k[i]++
		}
	}
	return k
}

func countMasks(ids []int, mask int) int {
	n := 0
	for _, id := range ids {
		if id == mask {
			n++
		}
	}
	return n
}

// stepper holds the per-generation buffers of the sampler, allocated once
// per Generate call for the largest case.
type stepper struct {
	s        *State
	opts     Options
	isPrompt []bool
	trace    bool
	rng      *rand.Rand
	eligible []int       // masked positions before the block end
	uncond   []int       // (T) canvas with the prompt masked, for CFG
	cond     []float32   // (T, vocab) conditional logits, copied out of the state
	probs    []float64   // (vocab) softmax of one position
	scored   []candidate // (T) one prediction per eligible position
}

// candidate is one position's prediction and its score.
type candidate struct {
	pos, token       int
	confidence, prob float64
	top              []Candidate
}

func newStepper(s *State, opts Options, isPrompt []bool, trace bool) *stepper {
	T, V := len(isPrompt), s.Model.Config.EmbeddingSize
	sp := &stepper{
		s: s, opts: opts, isPrompt: isPrompt, trace: trace,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		eligible: make([]int, 0, T),
		probs:    make([]float64, V),
		scored:   make([]candidate, 0, T),
	}
	if opts.CFGScale > 0 {
		sp.uncond = make([]int, T)
		sp.cond = make([]float32, T*V)
	}
	return sp
}

// step runs one forward pass and commits k (or, with a threshold, at least
// k) of the predictions at masked positions before end, updating x in place
// and filling in the step's record.
func (sp *stepper) step(x []int, end, k int, rec *Step) error {
	s, c, opts := sp.s, &sp.s.Model.Config, &sp.opts
	mask, V := c.MaskTokenID, c.EmbeddingSize

	sp.eligible = sp.eligible[:0]
	for p := range end {
		if x[p] == mask {
			sp.eligible = append(sp.eligible, p)
		}
	}
	if len(sp.eligible) == 0 || (k == 0 && opts.Threshold == 0 && !sp.trace) {
		return nil // nothing this step may commit: skip the forward pass
	}

	// logits (eligible, vocab), with guidance u + (cfg+1)(c-u).
	logits, err := s.ForwardAt(x, sp.eligible)
	if err != nil {
		return err
	}
	if opts.CFGScale > 0 {
		copy(sp.cond, logits)
		cond := sp.cond[:len(logits)]
		for p, id := range x {
			sp.uncond[p] = id
			if sp.isPrompt[p] {
				sp.uncond[p] = mask
			}
		}
		uncond, err := s.ForwardAt(sp.uncond, sp.eligible)
		if err != nil {
			return err
		}
		w := float32(opts.CFGScale + 1)
		for i := range cond {
			uncond[i] += w * (cond[i] - uncond[i])
		}
		logits = uncond
	}

	sp.scored = sp.scored[:0]
	for i, pos := range sp.eligible {
		row := logits[i*V : (i+1)*V]
		if opts.SuppressEOS {
			row[c.EOSTokenID] = float32(math.Inf(-1))
		}
		sp.scored = append(sp.scored, sp.predict(pos, row))
	}

	// Keep the k most confident (ties by position, as a stable top-k).
	slices.SortStableFunc(sp.scored, func(a, b candidate) int {
		return cmp.Compare(b.confidence, a.confidence)
	})
	n := min(k, len(sp.scored))
	if opts.Threshold > 0 {
		n = max(n, 1)
		for n < len(sp.scored) && sp.scored[n].confidence >= opts.Threshold {
			n++
		}
	}
	if sp.trace {
		rec.Candidates = make(map[int][]Candidate, len(sp.scored))
		for _, cd := range sp.scored {
			rec.Candidates[cd.pos] = cd.top
		}
	}
	for _, cd := range sp.scored[:n] {
		x[cd.pos] = cd.token
		if sp.trace {
			rec.Committed = append(rec.Committed, Commit{Pos: cd.pos, Token: cd.token, Confidence: cd.confidence, Prob: cd.prob})
		}
	}
	slices.SortFunc(rec.Committed, func(a, b Commit) int { return cmp.Compare(a.Pos, b.Pos) })
	return nil
}

// predict chooses the token at one position and scores it. The softmax is
// in float64, as the reference's float64 logits; Gumbel-max sampling uses
// the log form of exp(l)/(-log u)^T, which picks the same token without
// overflowing exp.
func (sp *stepper) predict(pos int, row []float32) candidate {
	opts := &sp.opts
	probs := sp.probs[:len(row)]
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	var sum float64
	for i, v := range row {
		e := math.Exp(float64(v) - mx)
		probs[i] = e
		sum += e
	}
	for i := range probs {
		probs[i] /= sum
	}

	// The mask token is never a prediction: committing it would leave a
	// hole that the schedule already counts as filled. The reference relies
	// on trained models never predicting it; its probability still counts
	// in the softmax above, as there.
	mask := sp.s.Model.Config.MaskTokenID
	token, best := -1, math.Inf(-1)
	for i, v := range row {
		g := float64(v)
		if opts.Temperature > 0 {
			g -= opts.Temperature * math.Log(-math.Log(sp.rng.Float64()))
		}
		if i != mask && (g > best || token < 0) {
			best, token = g, i
		}
	}

	cd := candidate{pos: pos, token: token, prob: probs[token]}
	switch opts.Remasking {
	case LowConfidence:
		cd.confidence = probs[token]
	case Random:
		cd.confidence = sp.rng.Float64()
	case Margin:
		top1, top2 := topTwo(probs)
		cd.confidence = top1 - top2
	case Entropy:
		for _, p := range probs {
			if p > 0 {
				cd.confidence += p * math.Log(p)
			}
		}
	}
	if sp.trace {
		cd.top = topK(probs, opts.TopK)
	}
	return cd
}

func topTwo(p []float64) (float64, float64) {
	a, b := math.Inf(-1), math.Inf(-1)
	for _, v := range p {
		if v > a {
			a, b = v, a
		} else if v > b {
			b = v
		}
	}
	return a, b
}

// topK returns the k most probable tokens, most probable first.
func topK(p []float64, k int) []Candidate {
	top := make([]Candidate, 0, k+1)
	for id, v := range p {
		if len(top) == k && v <= top[k-1].Prob {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, v, func(c Candidate, v float64) int { return cmp.Compare(v, c.Prob) })
		top = slices.Insert(top, i, Candidate{Token: id, Prob: v})
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

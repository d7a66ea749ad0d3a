package engine

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"unmask/quant"
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
// Fast-dLLM's two speed-ups, as its reference generators do them:
//   - Threshold: a step commits the block's most confident prediction and
//     every other one whose confidence reaches the threshold; the linear
//     schedule is not used and the block runs until it has no mask.
//   - Cache (prefix or dual): the first step of each block runs the whole
//     canvas and keeps every position's keys and values; the block's later
//     steps run only the block and what follows it (prefix) or only the
//     block (dual), reading the other positions' keys and values from the
//     cache. With guidance the unconditional pass keeps a cache of its own.
//
// Infilling, beyond the reference, reduces to it when unused: masks inside
// the prompt are filled too. They count towards the first block's schedule
// (the reference would leave some masked), a cached step of that block
// also runs them, and with GenLength 0 the whole canvas is one block.
//
// A causal (autoregressive) model is decoded left to right instead, one
// token per step with a KV cache; see generateCausal.
//
// obs, when not nil, receives every step. ctx is checked before each
// forward pass; on cancellation Generate returns the canvas so far and
// ctx.Err().
func (s *State) Generate(ctx context.Context, prompt []int, opts Options, obs Observer) ([]int, error) {
	if s.Model.Config.Causal {
		return s.generateCausal(ctx, prompt, opts, obs)
	}
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
	if masked := opts.GenLength + promptMasks; opts.Threshold == 0 && opts.Steps > masked { // a threshold does not use Steps
		return nil, fmt.Errorf("%w: %d steps for %d masked positions (at most one step per masked position)", ErrOptions, opts.Steps, masked)
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
		var schedule []int // with a threshold, none
		if opts.Threshold == 0 {
			schedule = TransferSchedule(n, stepsPerBlock)
		}
		sp.cached = false // the block's first pass fills the caches
		for i := 0; ; i++ {
			if opts.Threshold > 0 && countMasks(x[:end], mask) == 0 {
				break // Fast-dLLM: with a threshold the block runs until it is filled
			}
			if opts.Threshold == 0 && i == stepsPerBlock {
				break
			}
			k := 0 // with a threshold: the most confident, then all that reach it
			if opts.Threshold == 0 {
				k = schedule[i]
			}
			if err := ctx.Err(); err != nil {
				return x, err
			}
			step := Step{Index: index, Block: b, BlockStart: start, BlockEnd: end}
			if obs != nil {
				step.Canvas = slices.Clone(x)
			}
			if err := sp.step(x, start, end, k, &step); err != nil {
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
	rng      *rand.Rand // draws from pcg
	pcg      *rand.PCG
	eligible []int       // masked positions before the block end
	uncond   []int       // (T) canvas with the prompt masked, for CFG
	cond     []float32   // (T, vocab) conditional logits, copied out of the state
	groupMax []float32   // (quant.LogitGroups(vocab)) group maxima of one row, for the trace
	top      []int       // (TopK) the trace's candidates of one row
	scored   []candidate // (T) one prediction per eligible position
	// caches hold the keys and values of the conditional and the
	// unconditional pass (Cache prefix or dual); cached says they hold the
	// current block's first pass.
	caches [2]*KVCache
	cached bool
}

// candidate is one position's prediction and its score.
type candidate struct {
	pos, token       int
	confidence, prob float64
	top              []Candidate
}

func newStepper(s *State, opts Options, isPrompt []bool, trace bool) *stepper {
	T, V := len(isPrompt), s.Model.Config.EmbeddingSize
	pcg := rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)
	sp := &stepper{
		s: s, opts: opts, isPrompt: isPrompt, trace: trace,
		rng:      rand.New(pcg),
		pcg:      pcg,
		eligible: make([]int, 0, T),
		scored:   make([]candidate, 0, T),
	}
	if trace {
		sp.groupMax = make([]float32, quant.LogitGroups(V))
		sp.top = make([]int, opts.TopK)
	}
	if opts.CFGScale > 0 {
		sp.uncond = make([]int, T)
		sp.cond = make([]float32, T*V)
	}
	if opts.Cache == PrefixCache || opts.Cache == DualCache {
		sp.caches[0] = s.kvCache(0)
		if opts.CFGScale > 0 {
			sp.caches[1] = s.kvCache(1)
		}
	}
	return sp
}

// step runs one forward pass (two with guidance) and commits k of the
// predictions at masked positions before end, or with a threshold the
// most confident one and every other that reaches it, updating x in place
// and filling in the step's record. start is the block's first position.
func (sp *stepper) step(x []int, start, end, k int, rec *Step) error {
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

	// The positions this step computes: the whole canvas, unless the
	// block's first pass has filled the caches. Then prefix runs from the
	// block (or an earlier masked position of the prompt) to the end of
	// the canvas, dual only to the end of the block.
	pass := Pass{From: 0, To: len(x), Logits: sp.eligible}
	if sp.caches[0] != nil {
		pass.Cache = sp.caches[0]
		if sp.cached {
			pass.From = min(start, sp.eligible[0])
			if opts.Cache == DualCache {
				pass.To = end
			}
		}
		sp.cached = true
	}
	rec.ComputedFrom, rec.ComputedTo = pass.From, pass.To

	// logits (eligible, vocab), with guidance u + (cfg+1)(c-u).
	logits, err := s.ForwardPass(x, pass)
	if err != nil {
		return err
	}
	rec.Passes = 1
	if opts.CFGScale > 0 {
		copy(sp.cond, logits)
		cond := sp.cond[:len(logits)]
		for p, id := range x {
			sp.uncond[p] = id
			if sp.isPrompt[p] {
				sp.uncond[p] = mask
			}
		}
		pass.Cache = sp.caches[1]
		uncond, err := s.ForwardPass(sp.uncond, pass)
		if err != nil {
			return err
		}
		rec.Passes = 2
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
	if opts.Threshold > 0 { // Fast-dLLM's get_transfer_index
		n = 1
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

// predict chooses the token at one position and scores it, with the
// softmax p = softmax(row): p[i] = expf(row[i] - max) / Σ expf(row[j] - max),
// the exponentials in float32 (quant.Expf) and their sum in float64 (a
// quant.ScanLogits kernel: the same bits on every kernel path). Argmax
// takes the first of equal maxima; Gumbel-max sampling uses the log form
// of exp(l)/(-log u)^T, which picks the same token without overflowing
// exp, with float64 noise for every token of the row in order. The
// remasking rule's confidence is p[token] (low_confidence), a uniform
// draw after the row's noise (random), top1 - top2 probability (margin;
// top2 is 0 with no runner-up) or Σ p log p = SumED/Sum - log Sum
// (entropy, the negated entropy: larger is surer). NaN logits never win.
func (sp *stepper) predict(pos int, row []float32) candidate {
	opts := &sp.opts
	want := 0
	switch opts.Remasking {
	case Margin:
		want = quant.LogitSecond
	case Entropy:
		want = quant.LogitEntropy
	}
	var groupMax []float32
	if sp.trace {
		groupMax = sp.groupMax
	}
	st := quant.ScanLogits(groupMax, row, want)
	sum := st.Sum
	prob := func(i int) float64 {
		if i < 0 || st.Best < 0 {
			return 0
		}
		return float64(quant.Expf(row[i]-row[st.Best])) / sum
	}

	// The mask token is never a prediction: committing it would leave a
	// hole that the schedule already counts as filled. The reference relies
	// on trained models never predicting it; its probability still counts
	// in the softmax, as there.
	mask := sp.s.Model.Config.MaskTokenID
	var token int
	if opts.Temperature > 0 {
		token = sp.gumbelMax(row, mask)
	} else {
		token = st.Best
		if token == mask {
			// The runner-up is the first largest of the others.
			token = st.Second
			if want&quant.LogitSecond == 0 {
				token = quant.ScanLogits(nil, row, quant.LogitSecond).Second
			}
		}
		if token < 0 { // every logit NaN: any token but the mask
			token = 0
			if mask == 0 && len(row) > 1 {
				token = 1
			}
		}
	}

	cd := candidate{pos: pos, token: token, prob: math.NaN()}
	if st.Best >= 0 {
		cd.prob = prob(token)
	}
	switch opts.Remasking {
	case LowConfidence:
		cd.confidence = cd.prob
	case Random:
		cd.confidence = sp.rng.Float64()
	case Margin:
		cd.confidence = prob(st.Best) - prob(st.Second)
	case Entropy:
		cd.confidence = st.SumED/sum - math.Log(sum)
	}
	if sp.trace {
		top := sp.top[:quant.TopLogits(sp.top[:opts.TopK], row, groupMax)]
		cd.top = make([]Candidate, len(top))
		for i, id := range top {
			cd.top[i] = Candidate{Token: id, Prob: prob(id)}
		}
	}
	return cd
}

// gumbelMax is the Gumbel-max choice with temperature T: the first token
// other than mask with the largest g = row[i] - T·log(-log u_i), u_i the
// row's uniform draws in order (one per token, the mask's included). It
// computes the two logarithms only for tokens that may beat the best so
// far: -log(-log u) <= -log(1-u) (as -log u >= 1-u) <= -e·ln 2 where
// 2^e <= 1-u is a power of two read from its bits, so a token whose
// bound row[i] + T·(-e·ln 2), less a margin far above the rounding of g,
// stays below the best cannot win.
func (sp *stepper) gumbelMax(row []float32, mask int) int {
	T := sp.opts.Temperature
	token, best := -1, math.Inf(-1)
	for i, v := range row {
		u := float64(sp.pcg.Uint64()<<11>>11) / (1 << 53) // sp.rng.Float64(), without its interface call
		if i == mask {
			continue
		}
		if token >= 0 {
			e := float64(int(math.Float64bits(1-u)>>52) - 1023) // 1-u in (0, 1]: e <= 0
			bound := float64(v) - T*e*math.Ln2
			if bound+1e-12*(math.Abs(float64(v))+T*(64-e)+1) < best {
				continue
			}
		}
		g := float64(v) - T*math.Log(-math.Log(u))
		if g > best || token < 0 {
			best, token = g, i
		}
	}
	return token
}

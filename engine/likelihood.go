package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"unmask/quant"
)

// ErrNaNLogits reports logits that are not numbers, so no likelihood can
// be computed from them.
var ErrNaNLogits = errors.New("the model's logits are not numbers")

// StratifiedCounts is how many of l target tokens each of b samples masks
// in the reference forward_process: one k ~ U{1..l} for the batch, then
// round(linspace(k, k + (b-1)·l/b, b)) (half to even, as torch.round)
// wrapped into 1..l, so the batch's mask ratios spread evenly over (0, 1].
func StratifiedCounts(k, l, b int) []int {
	out := make([]int, b)
	for j := range out {
		x := int(math.RoundToEven(float64(k) + float64(j)*float64(l)/float64(b)))
		out[j] = (x-1)%l + 1
	}
	return out
}

// NegativeELBO is the reference get_log_likelihood, negated: the Monte
// Carlo estimate, in nats summed over the target, of LLaDA's bound on
// -log p(seq[promptLen:] | seq[:promptLen]). The mc samples come in
// batches of batch; each batch draws its mask counts with
// StratifiedCounts, each sample masks that many target positions chosen
// uniformly (the prompt never), and its cross-entropy on the masked
// tokens is weighted by l/k, the inverse of its mask ratio.
func (s *State) NegativeELBO(seq []int, promptLen, mc, batch int, rng *rand.Rand) (float64, error) {
	l := len(seq) - promptLen
	if promptLen < 0 || l < 1 {
		return 0, fmt.Errorf("%w: nothing to score: %d tokens, prompt %d", ErrOptions, len(seq), promptLen)
	}
	if batch <= 0 || mc < batch || mc%batch != 0 {
		return 0, fmt.Errorf("%w: %d Monte Carlo samples are not a positive multiple of the batch of %d", ErrOptions, mc, batch)
	}
	batches := mc / batch
	var total float64
	for range batches {
		var sum float64
		for _, k := range StratifiedCounts(1+rng.IntN(l), l, batch) {
			positions := rng.Perm(l)[:k]
			for i := range positions {
				positions[i] += promptLen
			}
			ce, _, err := s.ScoreMasked(seq, positions)
			if err != nil {
				return 0, err
			}
			sum += ce * float64(l) / float64(k)
		}
		total += sum / float64(batch)
	}
	return total / float64(batches), nil
}

// ScoreMasked masks seq at positions, runs the model once and returns the
// summed cross-entropy (nats) of the original tokens there and how many of
// them the argmax restores (never predicting the mask token, as the
// sampler). The softmax is the sampler's: quant.ScanLogits' sum of
// expf(l - max) in float64.
func (s *State) ScoreMasked(seq, positions []int) (ce float64, correct int, err error) {
	c := &s.Model.Config
	noisy := slices.Clone(seq)
	for _, p := range positions {
		if p < 0 || p >= len(seq) {
			return 0, 0, fmt.Errorf("position %d outside the sequence of %d", p, len(seq))
		}
		noisy[p] = c.MaskTokenID
	}
	logits, err := s.ForwardAt(noisy, positions)
	if err != nil {
		return 0, 0, err
	}
	V := c.EmbeddingSize
	for i, p := range positions {
		row := logits[i*V : (i+1)*V]
		st := quant.ScanLogits(nil, row, 0)
		if st.Best < 0 || math.IsNaN(st.Sum) {
			return 0, 0, fmt.Errorf("%w: at position %d", ErrNaNLogits, p)
		}
		// -log p = log Σ exp(l - m) - (l[target] - m)
		ce += math.Log(st.Sum) - float64(row[seq[p]]-row[st.Best])
		best := st.Best
		if best == c.MaskTokenID {
			best = quant.ScanLogits(nil, row, quant.LogitSecond).Second
		}
		if best == seq[p] {
			correct++
		}
	}
	return ce, correct, nil
}

// ErrNotCausal reports a left-to-right likelihood asked of a diffusion
// model, which does not factorise the text that way.
var ErrNotCausal = errors.New("the model is not causal (autoregressive)")

// CausalNLL is an autoregressive model's exact negative log-likelihood of
// seq[1:] given the tokens before each: one causal pass over seq, the
// logits at position i predicting token i+1. It returns the summed
// cross-entropy in nats over the len(seq)-1 predicted tokens and how many
// of them the argmax names (never the mask token). The first token has no
// context and is not scored: a diffusion model's bound over the same
// tokens is NegativeELBO(seq, 1, ...). The softmax is the sampler's, as in
// ScoreMasked.
func (s *State) CausalNLL(seq []int) (nll float64, correct int, err error) {
	c := &s.Model.Config
	if !c.Causal {
		return 0, 0, ErrNotCausal
	}
	if len(seq) < 2 {
		return 0, 0, fmt.Errorf("%w: nothing to score: %d tokens", ErrOptions, len(seq))
	}
	// (len-1, V): the last token predicts nothing here.
	logits, err := s.ForwardPass(seq[:len(seq)-1], Pass{From: 0, To: len(seq) - 1, Causal: true})
	if err != nil {
		return 0, 0, err
	}
	V := c.EmbeddingSize
	for i, next := range seq[1:] {
		row := logits[i*V : (i+1)*V]
		st := quant.ScanLogits(nil, row, 0)
		if st.Best < 0 || math.IsNaN(st.Sum) {
			return 0, 0, fmt.Errorf("%w: at position %d", ErrNaNLogits, i)
		}
		nll += math.Log(st.Sum) - float64(row[next]-row[st.Best])
		best := st.Best
		if best == c.MaskTokenID {
			best = quant.ScanLogits(nil, row, quant.LogitSecond).Second
		}
		if best == next {
			correct++
		}
	}
	return nll, correct, nil
}

package main

import (
	"context"
	"fmt"
	"math"

	"unmask/engine"
)

// accuracyRatios are the mask ratios t of the masked-token accuracy.
var accuracyRatios = []float64{0.15, 0.5, 0.9}

// heldoutReport: for a diffusion model the LLaDA bound on the negative
// log-likelihood of held-out windows, and how often the model's argmax
// restores a masked token; for a causal model the exact negative
// log-likelihood of each window's tokens after its first, and how often
// its argmax names the next token.
type heldoutReport struct {
	Windows      int `json:"windows"`
	WindowTokens int `json:"window_tokens"`
	MC           int `json:"mc,omitempty"`
	MCBatch      int `json:"mc_batch,omitempty"`
	// NELBO is the Monte Carlo negative ELBO in nats per token, averaged
	// over the windows; NELBOStderr its standard error across windows.
	NELBO           float64          `json:"nelbo_per_token,omitempty"`
	NELBOStderr     float64          `json:"nelbo_stderr,omitempty"`
	PerplexityBound float64          `json:"perplexity_bound,omitempty"`
	Accuracy        []maskedAccuracy `json:"masked_accuracy,omitempty"`
	// GivenFirst (--given-first) is the bound on the tokens a causal model
	// scores: each window's tokens after its first, given the first.
	GivenFirst *perToken `json:"nelbo_given_first,omitempty"`
	// NLL is a causal model's exact negative log-likelihood of each
	// window's tokens after its first (nats per token).
	NLL               *perToken `json:"nll,omitempty"`
	NextTokenAccuracy float64   `json:"next_token_accuracy,omitempty"`
}

// perToken is a mean over the windows of nats per scored token, its
// standard error across windows, and exp of the mean.
type perToken struct {
	Mean       float64 `json:"per_token"`
	Stderr     float64 `json:"stderr"`
	Perplexity float64 `json:"perplexity"`
}

func newPerToken(v []float64) *perToken {
	mean, stderr := meanStderr(v)
	return &perToken{Mean: mean, Stderr: stderr, Perplexity: math.Exp(mean)}
}

type maskedAccuracy struct {
	T        float64 `json:"t"`
	Masked   int     `json:"masked"`   // tokens masked over all windows
	Accuracy float64 `json:"accuracy"` // share of them the argmax restores
	NLL      float64 `json:"nll"`      // their mean cross-entropy, nats
}

// windows cuts the held-out stream into consecutive windows of seq tokens
// and takes n of them evenly spaced, so they span every held-out document.
func (ev *evaluator) windows() ([][]int, error) {
	seq, tokens := ev.cfg.seq, ev.data.tokens
	total := len(tokens) / seq
	if total == 0 {
		return nil, fmt.Errorf("the held-out split has %d tokens, fewer than one window of %d", len(tokens), seq)
	}
	n := min(ev.cfg.windows, total)
	out := make([][]int, n)
	for i := range out {
		w := i * total / n
		out[i] = tokens[w*seq : (w+1)*seq]
	}
	return out, nil
}

func (ev *evaluator) heldoutELBO(ctx context.Context, windows [][]int, rep *heldoutReport) error {
	all, err := ev.nelbo(ctx, windows, 0, streamELBO)
	if err != nil {
		return err
	}
	rep.NELBO, rep.NELBOStderr = meanStderr(all)
	rep.PerplexityBound = math.Exp(rep.NELBO)
	if ev.cfg.givenFirst {
		afterFirst, err := ev.nelbo(ctx, windows, 1, streamELBOGivenFirst)
		if err != nil {
			return err
		}
		rep.GivenFirst = newPerToken(afterFirst)
	}
	return nil
}

// nelbo is each window's negative ELBO per scored token, the first
// prompt tokens given.
func (ev *evaluator) nelbo(ctx context.Context, windows [][]int, prompt, stream int) ([]float64, error) {
	perToken := make([]float64, len(windows))
	err := ev.pool.run(ctx, ev.cfg.seq, len(windows), func(st *engine.State, i int) error {
		v, err := st.NegativeELBO(windows[i], prompt, ev.cfg.mc, ev.cfg.mcBatch, ev.rng(stream, i))
		perToken[i] = v / float64(len(windows[i])-prompt)
		return err
	})
	return perToken, err
}

// heldoutNLL scores a causal model: the exact negative log-likelihood of
// every window's tokens after its first, one causal pass per window.
func (ev *evaluator) heldoutNLL(ctx context.Context, windows [][]int, rep *heldoutReport) error {
	perToken := make([]float64, len(windows))
	correct := make([]int, len(windows))
	err := ev.pool.run(ctx, ev.cfg.seq, len(windows), func(st *engine.State, i int) error {
		nll, ok, err := st.CausalNLL(windows[i])
		perToken[i], correct[i] = nll/float64(len(windows[i])-1), ok
		return err
	})
	if err != nil {
		return err
	}
	rep.NLL = newPerToken(perToken)
	scored, right := 0, 0
	for i, w := range windows {
		scored += len(w) - 1
		right += correct[i]
	}
	rep.NextTokenAccuracy = float64(right) / float64(scored)
	return nil
}

// maskedAccuracy masks each token of every window with probability t and
// scores the argmax at the masked positions.
func (ev *evaluator) maskedAccuracy(ctx context.Context, windows [][]int, rep *heldoutReport) error {
	type counts struct {
		masked, correct int
		ce              float64
	}
	res := make([]counts, len(windows)*len(accuracyRatios))
	err := ev.pool.run(ctx, ev.cfg.seq, len(res), func(st *engine.State, job int) error {
		i, r := job/len(accuracyRatios), job%len(accuracyRatios)
		rng := ev.rng(streamAccuracy+r, i)
		var positions []int
		for p := range windows[i] {
			if rng.Float64() < accuracyRatios[r] {
				positions = append(positions, p)
			}
		}
		if len(positions) == 0 {
			return nil
		}
		ce, correct, err := st.ScoreMasked(windows[i], positions)
		res[job] = counts{len(positions), correct, ce}
		return err
	})
	if err != nil {
		return err
	}
	for r, t := range accuracyRatios {
		var sum counts
		for i := range windows {
			c := res[i*len(accuracyRatios)+r]
			sum.masked += c.masked
			sum.correct += c.correct
			sum.ce += c.ce
		}
		a := maskedAccuracy{T: t, Masked: sum.masked}
		if sum.masked > 0 {
			a.Accuracy = float64(sum.correct) / float64(sum.masked)
			a.NLL = sum.ce / float64(sum.masked)
		}
		rep.Accuracy = append(rep.Accuracy, a)
	}
	return nil
}

func meanStderr(v []float64) (float64, float64) {
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

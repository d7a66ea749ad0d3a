package main

import (
	"context"
	"fmt"
	"math"

	"unmask/engine"
)

// accuracyRatios are the mask ratios t of the masked-token accuracy.
var accuracyRatios = []float64{0.15, 0.5, 0.9}

// heldoutReport: the LLaDA bound on the negative log-likelihood of
// held-out windows, and how often the model's argmax restores a masked
// token.
type heldoutReport struct {
	Windows      int `json:"windows"`
	WindowTokens int `json:"window_tokens"`
	MC           int `json:"mc"`
	MCBatch      int `json:"mc_batch"`
	// NELBO is the Monte Carlo negative ELBO in nats per token, averaged
	// over the windows; NELBOStderr its standard error across windows.
	NELBO           float64          `json:"nelbo_per_token"`
	NELBOStderr     float64          `json:"nelbo_stderr"`
	PerplexityBound float64          `json:"perplexity_bound"`
	Accuracy        []maskedAccuracy `json:"masked_accuracy"`
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
	perToken := make([]float64, len(windows))
	err := ev.pool.run(ctx, ev.cfg.seq, len(windows), func(st *engine.State, i int) error {
		v, err := st.NegativeELBO(windows[i], 0, ev.cfg.mc, ev.cfg.mcBatch, ev.rng(streamELBO, i))
		perToken[i] = v / float64(len(windows[i]))
		return err
	})
	if err != nil {
		return err
	}
	rep.NELBO, rep.NELBOStderr = meanStderr(perToken)
	rep.PerplexityBound = math.Exp(rep.NELBO)
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

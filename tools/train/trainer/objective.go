package trainer

import (
	"fmt"
	"math/rand/v2"
)

// Objectives a batch can be built for.
const (
	LLaDA = "llada" // masked-diffusion pre-training
	SFT   = "sft"   // masked-diffusion supervised fine-tuning
	AR    = "ar"    // causal next-token prediction (warm-up of the same network)
	// ARSFT is causal next-token prediction on the SFT pairs (prompt,
	// response and its EOS): the autoregressive counterpart of SFT.
	ARSFT = "ar-sft"
)

// Causal reports whether an objective trains an autoregressive model.
func Causal(objective string) bool { return objective == AR || objective == ARSFT }

// MaskEps is LLaDA's floor on the mask ratio: p = (1-eps)·t + eps.
const MaskEps = 1e-3

// maskRatios draws one t per sequence with stratified ("low-discrepancy")
// sampling, t_s = (u + s)/B for one u ~ U(0,1), so every batch covers the
// whole range of noise levels, and returns p = (1-eps)·t + eps.
func maskRatios(rng *rand.Rand, B int, p []float64) {
	u := rng.Float64()
	for s := range B {
		t := (u + float64(s)) / float64(B)
		p[s] = (1-MaskEps)*t + MaskEps
	}
	// Shuffle so the noise level is not tied to the slot in the batch.
	rng.Shuffle(B, func(i, j int) { p[i], p[j] = p[j], p[i] })
}

// FillPretrain builds a LLaDA pre-training batch from B clean windows of
// T tokens (clean is (B, T)). Each sequence gets its own mask ratio p; each
// token is masked with probability p and then carries the loss
// CE/(p·B·T), so the batch loss is the paper's bound on the negative
// log-likelihood per token. A share randomLength of the sequences is cut
// to a length drawn uniformly from 1..T.
func FillPretrain(b *Batch, clean []int32, mask int32, randomLength float64, rng *rand.Rand) {
	B, T := b.B, b.T
	b.Causal = false
	p := make([]float64, B)
	maskRatios(rng, B, p)
	norm := 1 / float64(B*T)
	for s := range B {
		length := T
		if rng.Float64() < randomLength {
			length = 1 + rng.IntN(T)
		}
		b.Lens[s] = int32(length)
		w := float32(norm / p[s])
		for t := range T {
			i := s*T + t
			b.Tokens[i], b.Targets[i], b.Weights[i] = clean[i], -1, 0
			if t < length && rng.Float64() < p[s] {
				b.Tokens[i], b.Targets[i], b.Weights[i] = mask, clean[i], w
			}
		}
	}
}

// FillAR builds a next-token batch from B windows of T+1 tokens (windows
// is (B, T+1)): input tokens 0..T-1, targets 1..T, causal attention, mean
// cross-entropy over the B·T predictions.
func FillAR(b *Batch, windows []int32) {
	B, T := b.B, b.T
	b.Causal = true
	w := float32(1 / float64(B*T))
	for s := range B {
		b.Lens[s] = int32(T)
		win := windows[s*(T+1) : (s+1)*(T+1)]
		for t := range T {
			i := s*T + t
			b.Tokens[i], b.Targets[i], b.Weights[i] = win[t], win[t+1], w
		}
	}
}

// Example is one SFT pair, already tokenised (the prompt with its chat
// template).
type Example struct {
	Prompt   []int32
	Response []int32
}

// FillSFT builds a LLaDA SFT batch from B examples. The response is padded
// with EOS (or cut) to respLen tokens (0: to the end of the canvas, T minus
// the prompt), and the padding counts as response, so the model learns
// where answers end. The prompt is never masked (an empty prompt makes the
// pair a plain text whose every token may be); each response token is
// masked with the sequence's probability p and carries the loss
// CE/(p·respLen·B). Positions past prompt+respLen are padding.
func FillSFT(b *Batch, examples []Example, respLen int, mask, eos int32, rng *rand.Rand) error {
	B, T := b.B, b.T
	if len(examples) < B {
		return fmt.Errorf("%w: %d examples for %d sequences", ErrBatch, len(examples), B)
	}
	b.Causal = false
	p := make([]float64, B)
	maskRatios(rng, B, p)
	for s := range B {
		ex := examples[s]
		resp := respLen
		if resp == 0 {
			resp = T - len(ex.Prompt)
		}
		n := len(ex.Prompt) + resp
		if n > T || resp <= len(ex.Response) && respLen == 0 {
			return fmt.Errorf("%w: prompt of %d tokens + response of %d (with its EOS) exceeds %d", ErrBatch, len(ex.Prompt), max(resp, len(ex.Response)+1), T)
		}
		b.Lens[s] = int32(n)
		w := float32(1 / (p[s] * float64(resp) * float64(B)))
		for t := range T {
			i := s*T + t
			b.Targets[i], b.Weights[i] = -1, 0
			switch {
			case t < len(ex.Prompt):
				b.Tokens[i] = ex.Prompt[t]
			case t < n:
				tok := eos
				if r := t - len(ex.Prompt); r < len(ex.Response) {
					tok = ex.Response[r]
				}
				b.Tokens[i] = tok
				if rng.Float64() < p[s] {
					b.Tokens[i], b.Targets[i], b.Weights[i] = mask, tok, w
				}
			default:
				b.Tokens[i] = eos
			}
		}
	}
	return nil
}

// FillARPairs builds a next-token batch from B examples: each sequence is
// prompt, response, then EOS to T+1 tokens; inputs are its first T tokens,
// targets the next ones, causal attention. Every prediction up to and
// including the first EOS carries the loss (the EOS padding after it
// teaches nothing), averaged over the batch's predictions.
func FillARPairs(b *Batch, examples []Example, eos int32) error {
	B, T := b.B, b.T
	if len(examples) < B {
		return fmt.Errorf("%w: %d examples for %d sequences", ErrBatch, len(examples), B)
	}
	b.Causal = true
	seq := make([]int32, T+1) // (T+1) one sequence
	counted := 0
	for s := range B {
		ex := examples[s]
		n := len(ex.Prompt) + len(ex.Response) // the first EOS is at n
		if n+1 > T+1 || n == 0 {
			return fmt.Errorf("%w: prompt of %d tokens + response of %d + EOS exceeds %d", ErrBatch, len(ex.Prompt), len(ex.Response), T+1)
		}
		for t := range seq {
			seq[t] = eos
		}
		copy(seq, ex.Prompt)
		copy(seq[len(ex.Prompt):], ex.Response)
		b.Lens[s] = int32(T)
		for t := range T {
			i := s*T + t
			b.Tokens[i], b.Targets[i], b.Weights[i] = seq[t], -1, 0
			if t < n {
				b.Targets[i], b.Weights[i] = seq[t+1], 1
				counted++
			}
		}
	}
	w := float32(1 / float64(counted))
	for i := range b.Weights {
		b.Weights[i] *= w
	}
	return nil
}

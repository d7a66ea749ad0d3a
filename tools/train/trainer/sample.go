package trainer

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"unmask/engine"
)

// Generate runs LLaDA's reverse process for a batch of prompts at once,
// greedy with low-confidence remasking, as engine.State.Generate does with
// Temperature 0 and the low_confidence rule: canvas = prompt + genLen
// masks, filled in blocks of blockLen from left to right, each block in
// steps/blocks steps that commit the most probable predictions by the
// linear schedule. The trainer uses it to watch samples while training
// without leaving its batched kernels. It returns the generated tokens of
// each prompt.
func (n *Net) Generate(prompts [][]int32, genLen, blockLen, steps int) ([][]int32, error) {
	c := n.cfg
	if len(prompts) == 0 || len(prompts) > n.B {
		return nil, fmt.Errorf("%w: %d prompts, net takes 1..%d", ErrBatch, len(prompts), n.B)
	}
	if genLen <= 0 || blockLen <= 0 || genLen%blockLen != 0 || steps%(genLen/blockLen) != 0 {
		return nil, fmt.Errorf("%w: gen_length %d, block_length %d, steps %d", ErrBatch, genLen, blockLen, steps)
	}
	T := 0
	for _, p := range prompts {
		T = max(T, len(p)+genLen)
	}
	if T > n.T {
		return nil, fmt.Errorf("%w: canvas of %d tokens, net takes %d", ErrBatch, T, n.T)
	}
	B, V, mask := len(prompts), c.EmbeddingSize, int32(c.MaskTokenID)
	b := NewBatch(B, T)
	for s, p := range prompts {
		row := b.Tokens[s*T : (s+1)*T]
		copy(row, p)
		for i := len(p); i < T; i++ {
			row[i] = mask
		}
		b.Lens[s] = int32(len(p) + genLen)
	}
	blocks := genLen / blockLen
	perBlock := steps / blocks
	type candidate struct {
		pos, token int
		conf       float64
	}
	var scored [][]candidate = make([][]candidate, B)
	schedules := make([][]int, B)
	for blk := range blocks {
		// The engine's linear schedule over the masks each block holds.
		for s, p := range prompts {
			start := s*T + len(p) + blk*blockLen
			masks := 0
			for _, id := range b.Tokens[start : start+blockLen] {
				if id == mask {
					masks++
				}
			}
			schedules[s] = engine.TransferSchedule(masks, perBlock)
		}
		for step := range perBlock {
			// Predict every masked position up to the end of the block.
			for s, p := range prompts {
				end := len(p) + (blk+1)*blockLen
				for t := range T {
					i := s*T + t
					b.Targets[i] = -1
					if t < end && b.Tokens[i] == mask {
						b.Targets[i] = 0
					}
				}
			}
			if _, err := n.Loss(b); err != nil {
				return nil, err
			}
			logits := n.Logits()
			for s := range scored {
				scored[s] = scored[s][:0]
			}
			for r, i := range n.sel[:n.nsel] {
				row := logits[r*V : (r+1)*V]
				token, prob := argmaxProb(row, int(mask))
				s := int(i) / T
				scored[s] = append(scored[s], candidate{pos: int(i) % T, token: token, conf: prob})
			}
			for s := range B {
				k := schedules[s][step]
				slices.SortStableFunc(scored[s], func(a, b candidate) int { return cmp.Compare(b.conf, a.conf) })
				for _, cd := range scored[s][:min(k, len(scored[s]))] {
					b.Tokens[s*T+cd.pos] = int32(cd.token)
				}
			}
		}
	}
	out := make([][]int32, B)
	for s, p := range prompts {
		out[s] = slices.Clone(b.Tokens[s*T+len(p) : s*T+len(p)+genLen])
	}
	return out, nil
}

// argmaxProb is the most probable token other than the mask and its
// probability (softmax over the whole row in float64).
func argmaxProb(row []float32, mask int) (int, float64) {
	best := -1
	for i, v := range row {
		if i != mask && (best < 0 || v > row[best]) {
			best = i
		}
	}
	mx := float64(row[best])
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - mx)
	}
	return best, math.Exp(float64(row[best])-mx) / sum
}

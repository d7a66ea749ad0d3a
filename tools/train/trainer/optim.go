package trainer

import (
	"math"

	"unmask/tools/train/linalg"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as
// PyTorch's torch.optim.AdamW computes it. Norm weights are not decayed.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	M, V                           []float32 // first and second moments, laid out as the parameters
	Steps                          int       // updates applied so far
}

// NewAdamW makes an optimiser for n parameters.
func NewAdamW(n int, beta1, beta2, weightDecay float64) *AdamW {
	return &AdamW{Beta1: beta1, Beta2: beta2, Eps: 1e-8, WeightDecay: weightDecay,
		M: make([]float32, n), V: make([]float32, n)}
}

// Update applies one step at learning rate lr to p from the gradients g:
//
//	p -= lr·wd·p (decayed tensors only)
//	m = β1·m + (1-β1)·g,  v = β2·v + (1-β2)·g²
//	p -= lr/(1-β1^t) · m / (sqrt(v/(1-β2^t)) + eps)
func (o *AdamW) Update(pool *linalg.Pool, p *Params, g []float32, lr float64) {
	o.Steps++
	t := float64(o.Steps)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	step := float32(lr / bc1)
	invBC2 := float32(1 / math.Sqrt(bc2))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	eps := float32(o.Eps)
	for _, seg := range p.Segments() {
		decay := float32(1)
		if seg.Decay {
			decay = float32(1 - lr*o.WeightDecay)
		}
		w := p.Data[seg.Offset : seg.Offset+seg.Len]
		gs := g[seg.Offset : seg.Offset+seg.Len]
		m := o.M[seg.Offset : seg.Offset+seg.Len]
		v := o.V[seg.Offset : seg.Offset+seg.Len]
		pool.For(seg.Len, func(_ int, _ *linalg.Workspace, lo, hi int) {
			for i := lo; i < hi; i++ {
				gi := gs[i]
				m[i] = b1*m[i] + (1-b1)*gi
				v[i] = b2*v[i] + (1-b2)*gi*gi
				denom := float32(math.Sqrt(float64(v[i])))*invBC2 + eps
				w[i] = w[i]*decay - step*m[i]/denom
			}
		})
	}
}

// ClipGradNorm scales g so its global L2 norm is at most maxNorm (no clip
// when maxNorm <= 0) and returns the norm before clipping.
func ClipGradNorm(g []float32, maxNorm float64) float64 {
	var ss float64
	for _, v := range g {
		ss += float64(v) * float64(v)
	}
	norm := math.Sqrt(ss)
	if maxNorm > 0 && norm > maxNorm {
		s := float32(maxNorm / norm)
		for i := range g {
			g[i] *= s
		}
	}
	return norm
}

// Schedule is linear warm-up to Peak over Warmup steps, then cosine decay
// to Peak·MinFrac at step Total.
type Schedule struct {
	Peak    float64
	Warmup  int
	Total   int
	MinFrac float64
}

// LR is the learning rate of step (0-based).
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	span := max(1, s.Total-s.Warmup)
	progress := min(1, float64(step-s.Warmup)/float64(span))
	lo := s.Peak * s.MinFrac
	return lo + (s.Peak-lo)*0.5*(1+math.Cos(math.Pi*progress))
}

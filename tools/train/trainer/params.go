// Package trainer trains LLaDA mask predictors of the engine's exact
// architecture: a forward pass that keeps its activations, a hand-written
// backward pass, the pre-training, SFT and autoregressive warm-up
// objectives, AdamW with a warm-up + cosine schedule, and resumable
// training state.
//
// Parameters live in one flat float32 buffer viewed as engine.Weights, so a
// trained network is an engine.Model without any conversion.
package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"unmask/engine"
	"unmask/quant"
)

// Params are a model's parameters (or their gradients, or optimiser
// moments) in one buffer, in the order of engine.Weights.Tensors.
type Params struct {
	Config  engine.Config
	Data    []float32      // (Size) every tensor back to back
	Weights engine.Weights // float32 views into Data
}

// Size is the number of parameters of a model with configuration c.
func Size(c *engine.Config) int {
	d, kv, h, v := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	perLayer := 2*d + 2*d*d + 2*kv*d + 3*h*d
	return 2*v*d + d + c.NLayers*perLayer
}

// NewParams allocates zeroed parameters for c.
func NewParams(c engine.Config) (*Params, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &Params{Config: c, Data: make([]float32, Size(&c))}
	p.Weights = carve(&c, p.Data)
	return p, nil
}

// carve lays the tensors of c over buf in the order of Weights.Tensors.
func carve(c *engine.Config, buf []float32) engine.Weights {
	d, kv, h, v := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	take := func(n int) []float32 {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}
	mat := func(rows, cols int) quant.Matrix { return quant.NewF32(take(rows*cols), rows, cols) }
	var w engine.Weights
	w.Embed = mat(v, d)
	w.Layers = make([]engine.Layer, c.NLayers)
	for i := range w.Layers {
		l := &w.Layers[i]
		l.AttnNorm = take(d)
		l.Q, l.K, l.V, l.AttnOut = mat(d, d), mat(kv, d), mat(kv, d), mat(d, d)
		l.FFNorm = take(d)
		l.FFProj, l.Up, l.FFOut = mat(h, d), mat(h, d), mat(d, h)
	}
	w.NormF = take(d)
	w.Head = mat(v, d)
	if len(buf) != 0 {
		panic("trainer: parameter layout does not add up")
	}
	return w
}

// Tensors lists the views by LLaDA name (engine.Weights.Tensors order).
func (p *Params) Tensors() []engine.Tensor { return p.Weights.Tensors() }

// Segment is a run of Data holding one tensor.
type Segment struct {
	Name   string
	Offset int
	Len    int
	Decay  bool // weight decay applies (matrices, not norm weights)
}

// Segments lists where each tensor lies in Data.
func (p *Params) Segments() []Segment {
	var out []Segment
	off := 0
	for _, t := range p.Tensors() {
		var n int
		if t.Vector != nil {
			n = len(*t.Vector)
		}
		if t.Matrix != nil {
			n = t.Matrix.Rows * t.Matrix.Cols
		}
		out = append(out, Segment{Name: t.Name, Offset: off, Len: n, Decay: t.Matrix != nil})
		off += n
	}
	return out
}

// Init fills the parameters as OLMo/LLaDA's normal initialisation does:
// matrices from N(0, std²), the two output projections of each block
// scaled down by sqrt(2·layers) so the residual stream does not grow with
// depth, norm weights 1.
func (p *Params) Init(seed uint64, std float64) {
	rng := rand.New(rand.NewPCG(seed, 0x756e6d61736b))
	residual := std / math.Sqrt(2*float64(p.Config.NLayers))
	fill := func(w []float32, s float64) {
		for i := range w {
			w[i] = float32(rng.NormFloat64() * s)
		}
	}
	for _, t := range p.Tensors() {
		if t.Vector != nil {
			for i := range *t.Vector {
				(*t.Vector)[i] = 1
			}
			continue
		}
		s := std
		if isResidualOut(t.Name) {
			s = residual
		}
		fill(t.Matrix.F32, s)
	}
}

// isResidualOut tells the projections that write into the residual stream
// (a block's attn_out and ff_out; not the LM head, also named ff_out).
func isResidualOut(name string) bool {
	return strings.Contains(name, ".blocks.") &&
		(strings.HasSuffix(name, ".attn_out.weight") || strings.HasSuffix(name, ".ff_out.weight"))
}

// Model wraps the parameters as an engine.Model that shares their memory:
// training steps change it in place.
func (p *Params) Model(tok engine.Tokenizer) *engine.Model {
	return &engine.Model{Config: p.Config, Weights: p.Weights, Tokenizer: tok}
}

// FromModel copies a model's weights (dequantised if int8) into new
// Params.
func FromModel(m *engine.Model) (*Params, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	p, err := NewParams(m.Config)
	if err != nil {
		return nil, err
	}
	src, dst := m.Weights.Tensors(), p.Tensors()
	for i := range src {
		if src[i].Matrix != nil {
			copy(dst[i].Matrix.F32, src[i].Matrix.Dequantize())
		} else {
			copy(*dst[i].Vector, *src[i].Vector)
		}
	}
	return p, nil
}

// CopyFrom copies q's values into p (same configuration).
func (p *Params) CopyFrom(q *Params) error {
	if len(p.Data) != len(q.Data) {
		return fmt.Errorf("parameter count %d, want %d", len(q.Data), len(p.Data))
	}
	copy(p.Data, q.Data)
	return nil
}

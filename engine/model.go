package engine

import (
	"fmt"

	"unmask/quant"
)

// Model is a LLaDA mask predictor: configuration, weights and tokenizer.
type Model struct {
	Config    Config
	Weights   Weights
	Tokenizer Tokenizer // nil when the model file carries none
}

// Weights are the parameters of the mask predictor. Every projection is a
// quant.Matrix, so float32 and int8 models share one forward pass.
type Weights struct {
	Embed  quant.Matrix // wte: (embedding_size, d_model)
	Layers []Layer      // (n_layers)
	NormF  []float32    // ln_f: (d_model)
	Head   quant.Matrix // ff_out, the untied LM head: (embedding_size, d_model)
}

// Layer is one LLaMA-style Transformer block.
type Layer struct {
	AttnNorm []float32    // (d_model)
	Q        quant.Matrix // q_proj: (d_model, d_model)
	K        quant.Matrix // k_proj: (kv_dim, d_model)
	V        quant.Matrix // v_proj: (kv_dim, d_model)
	AttnOut  quant.Matrix // attn_out: (d_model, d_model)
	FFNorm   []float32    // (d_model)
	FFProj   quant.Matrix // ff_proj, the gate: (mlp_hidden, d_model)
	Up       quant.Matrix // up_proj: (mlp_hidden, d_model)
	FFOut    quant.Matrix // ff_out: (d_model, mlp_hidden)
}

// Tensor is one named weight of a model, as stored in checkpoints.
type Tensor struct {
	Name  string
	Shape []int
	// Exactly one of these is set; they point into the Weights, so a
	// loader fills a model by assigning through them.
	Matrix *quant.Matrix
	Vector *[]float32
}

// Tensors lists every weight under its LLaDA checkpoint name, in a fixed
// order; the model file, the converter and the exporter all use it.
func (w *Weights) Tensors() []Tensor {
	const p = "model.transformer."
	mat := func(name string, m *quant.Matrix) Tensor {
		return Tensor{Name: name, Shape: []int{m.Rows, m.Cols}, Matrix: m}
	}
	vec := func(name string, v *[]float32) Tensor {
		return Tensor{Name: name, Shape: []int{len(*v)}, Vector: v}
	}
	ts := []Tensor{mat(p+"wte.weight", &w.Embed)}
	for i := range w.Layers {
		l := &w.Layers[i]
		b := fmt.Sprintf("%sblocks.%d.", p, i)
		ts = append(ts,
			vec(b+"attn_norm.weight", &l.AttnNorm),
			mat(b+"q_proj.weight", &l.Q),
			mat(b+"k_proj.weight", &l.K),
			mat(b+"v_proj.weight", &l.V),
			mat(b+"attn_out.weight", &l.AttnOut),
			vec(b+"ff_norm.weight", &l.FFNorm),
			mat(b+"ff_proj.weight", &l.FFProj),
			mat(b+"up_proj.weight", &l.Up),
			mat(b+"ff_out.weight", &l.FFOut),
		)
	}
	return append(ts, vec(p+"ln_f.weight", &w.NormF), mat(p+"ff_out.weight", &w.Head))
}

// ExpectedShapes gives the shape every tensor must have under c, by name.
func (c *Config) ExpectedShapes() map[string][]int {
	w := Weights{Layers: make([]Layer, c.NLayers)}
	shapes := map[string][]int{}
	d, kv, h, v := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	w.Embed = quant.Matrix{Rows: v, Cols: d}
	w.Head = quant.Matrix{Rows: v, Cols: d}
	w.NormF = make([]float32, d)
	for i := range w.Layers {
		w.Layers[i] = Layer{
			AttnNorm: make([]float32, d), FFNorm: make([]float32, d),
			Q: quant.Matrix{Rows: d, Cols: d}, K: quant.Matrix{Rows: kv, Cols: d},
			V: quant.Matrix{Rows: kv, Cols: d}, AttnOut: quant.Matrix{Rows: d, Cols: d},
			FFProj: quant.Matrix{Rows: h, Cols: d}, Up: quant.Matrix{Rows: h, Cols: d},
			FFOut: quant.Matrix{Rows: d, Cols: h},
		}
	}
	for _, t := range w.Tensors() {
		shapes[t.Name] = t.Shape
	}
	return shapes
}

// Validate checks every tensor against the configuration.
func (m *Model) Validate() error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if len(m.Weights.Layers) != m.Config.NLayers {
		return fmt.Errorf("model has %d layers, config says %d", len(m.Weights.Layers), m.Config.NLayers)
	}
	want := m.Config.ExpectedShapes()
	for _, t := range m.Weights.Tensors() {
		ws := want[t.Name]
		if t.Matrix != nil {
			if t.Matrix.Rows != ws[0] || t.Matrix.Cols != ws[1] {
				return fmt.Errorf("tensor %s is %dx%d, want %v", t.Name, t.Matrix.Rows, t.Matrix.Cols, ws)
			}
			if err := t.Matrix.Validate(); err != nil {
				return fmt.Errorf("tensor %s: %w", t.Name, err)
			}
		} else if len(*t.Vector) != ws[0] {
			return fmt.Errorf("tensor %s has %d values, want %d", t.Name, len(*t.Vector), ws[0])
		}
	}
	return nil
}

// Quantize returns a copy of the model with every matrix in int8, one scale
// per group of group columns (0, or a group that does not divide a
// matrix's columns: one per row). Norm weights stay float32.
func (m *Model) Quantize(group int) *Model {
	return m.mapMatrices(func(w *quant.Matrix) quant.Matrix {
		g := group
		if g <= 0 || w.Cols%g != 0 {
			g = w.Cols
		}
		return quant.Quantize(w.Dequantize(), w.Rows, w.Cols, g)
	})
}

// Dequantize returns a copy of the model with every matrix in float32.
func (m *Model) Dequantize() *Model {
	return m.mapMatrices(func(w *quant.Matrix) quant.Matrix {
		return quant.NewF32(w.Dequantize(), w.Rows, w.Cols)
	})
}

// DType is the storage of the model's matrices: F32, or Q8 when any is int8.
func (m *Model) DType() quant.DType {
	for _, t := range m.Weights.Tensors() {
		if t.Matrix != nil && t.Matrix.DType == quant.Q8 {
			return quant.Q8
		}
	}
	return quant.F32
}

// mapMatrices copies the model, replacing every matrix with f of it and
// sharing the norm vectors and the tokenizer.
func (m *Model) mapMatrices(f func(*quant.Matrix) quant.Matrix) *Model {
	out := &Model{Config: m.Config, Tokenizer: m.Tokenizer}
	out.Weights.Layers = make([]Layer, len(m.Weights.Layers))
	src, dst := m.Weights.Tensors(), out.Weights.Tensors()
	for i := range src {
		if src[i].Matrix != nil {
			*dst[i].Matrix = f(src[i].Matrix)
		} else {
			*dst[i].Vector = *src[i].Vector
		}
	}
	return out
}

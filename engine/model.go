package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

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
// It allocates in proportion to n_layers: check c against the tensors of a
// file with CheckTensors first.
func (c *Config) ExpectedShapes() map[string][]int {
	shapes := map[string][]int{}
	for name, shape := range c.tensorShapes {
		shapes[name] = shape
	}
	return shapes
}

// tensorShapes yields every tensor's name and shape under c, in the order
// of Weights.Tensors, allocating nothing sized by c.
func (c *Config) tensorShapes(yield func(string, []int) bool) {
	const p = "model.transformer."
	d, kv, h, v := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	if !yield(p+"wte.weight", []int{v, d}) {
		return
	}
	for i := range c.NLayers {
		b := fmt.Sprintf("%sblocks.%d.", p, i)
		for _, t := range []struct {
			name  string
			shape []int
		}{
			{"attn_norm.weight", []int{d}}, {"q_proj.weight", []int{d, d}},
			{"k_proj.weight", []int{kv, d}}, {"v_proj.weight", []int{kv, d}},
			{"attn_out.weight", []int{d, d}}, {"ff_norm.weight", []int{d}},
			{"ff_proj.weight", []int{h, d}}, {"up_proj.weight", []int{h, d}},
			{"ff_out.weight", []int{d, h}},
		} {
			if !yield(b+t.name, t.shape) {
				return
			}
		}
	}
	if yield(p+"ln_f.weight", []int{d}) {
		yield(p+"ff_out.weight", []int{v, d})
	}
}

// Tensors per layer and outside the layers (embedding, final norm, head).
const tensorsPerLayer, tensorsOutsideLayers = 9, 3

// ErrShape reports tensors that do not match the configuration.
var ErrShape = errors.New("tensors do not match the config")

// CheckTensors checks c against the tensors a file holds (name to shape)
// before anything is sized from c: the file must hold exactly the tensors
// c implies, each of the shape c implies. The work is bounded by the number
// of tensors present, however large the numbers in c.
func (c *Config) CheckTensors(present map[string][]int) error {
	// A few layers short is reported below as the first missing tensor;
	// far more layers than there are tensors is refused before any work.
	if c.NLayers <= 0 || c.NLayers > len(present)/tensorsPerLayer+1 {
		return fmt.Errorf("%w: n_layers %d needs %.0f tensors, there are %d", ErrShape,
			c.NLayers, float64(tensorsPerLayer)*float64(c.NLayers)+tensorsOutsideLayers, len(present))
	}
	expected := make(map[string]bool, len(present))
	for name, want := range c.tensorShapes {
		got, ok := present[name]
		if !ok {
			return fmt.Errorf("%w: missing tensor %s", ErrShape, name)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%w: tensor %s has shape %v, the config implies %v", ErrShape, name, got, want)
		}
		expected[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(present)) {
		if !expected[name] {
			return fmt.Errorf("%w: unexpected tensor %s (%d more than the model uses)", ErrShape, name, len(present)-len(expected))
		}
	}
	return nil
}

// ErrNonFinite reports a NaN or infinite weight.
var ErrNonFinite = errors.New("weight is NaN or infinite")

// CheckFinite refuses NaN and infinite weights (float32 values and int8
// scales), naming the first tensor that holds one.
func (m *Model) CheckFinite() error {
	for _, t := range m.Weights.Tensors() {
		var v []float32
		what := "value"
		switch {
		case t.Vector != nil:
			v = *t.Vector
		case t.Matrix.DType == quant.Q8:
			v, what = t.Matrix.Scales, "scale"
		default:
			v = t.Matrix.F32
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%w: tensor %s has %s %v at index %d", ErrNonFinite, t.Name, what, x, i)
			}
		}
	}
	return nil
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

package engine

import (
	"math"
	"math/rand/v2"

	"unmask/quant"
)

// RandomModel builds a float32 model with seeded random weights (normal,
// standard deviation 1/sqrt(fan-in); norms near 1), for tests and
// benchmarks that need a model of a given shape rather than a trained one.
func RandomModel(c Config, seed uint64) *Model {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	m := &Model{Config: c}
	m.Weights.Layers = make([]Layer, c.NLayers)
	shapes := c.ExpectedShapes()
	for _, t := range m.Weights.Tensors() {
		shape := shapes[t.Name]
		if len(shape) == 2 {
			w := make([]float32, shape[0]*shape[1])
			std := 1 / math.Sqrt(float64(shape[1]))
			for i := range w {
				w[i] = float32(rng.NormFloat64() * std)
			}
			*t.Matrix = quant.NewF32(w, shape[0], shape[1])
			continue
		}
		v := make([]float32, shape[0])
		for i := range v {
			v[i] = float32(1 + 0.1*rng.NormFloat64())
		}
		*t.Vector = v
	}
	return m
}

// BenchConfig is the ~5.4M-parameter shape used by the benchmarks: d_model
// 256, 6 layers, vocabulary 4096, 256-token canvas.
func BenchConfig() Config {
	return Config{DModel: 256, NHeads: 4, NKVHeads: 4, NLayers: 6, MLPHiddenSize: 384,
		VocabSize: 4096, EmbeddingSize: 4096, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 256, MaskTokenID: 4095, EOSTokenID: 4094, PadTokenID: 4094}
}

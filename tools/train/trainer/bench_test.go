package trainer

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"unmask/engine"
	"unmask/tools/train/linalg"
)

// BenchmarkTrainStep measures one LLaDA training step (forward, backward,
// AdamW) of the d_model 256, 6-block shape on 16 sequences of 128 tokens,
// reporting tokens/s and the GFLOPS of the matrix products.
func BenchmarkTrainStep(b *testing.B) {
	c := engine.Config{DModel: 256, NHeads: 8, NKVHeads: 8, NLayers: 6, MLPHiddenSize: 704,
		VocabSize: 4096, EmbeddingSize: 4096, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 256, MaskTokenID: 4095, EOSTokenID: 4092, PadTokenID: 4092}
	const B, T = 16, 128
	p, err := NewParams(c)
	if err != nil {
		b.Fatal(err)
	}
	p.Init(1, 0.02)
	pool := linalg.NewPool(runtime.NumCPU())
	n, err := NewNet(p, B, T, pool)
	if err != nil {
		b.Fatal(err)
	}
	opt := NewAdamW(len(p.Data), 0.9, 0.95, 0.1)
	rng := rand.New(rand.NewPCG(1, 2))
	clean := make([]int32, B*T)
	for i := range clean {
		clean[i] = int32(rng.IntN(4000))
	}
	batch := NewBatch(B, T)
	b.ResetTimer()
	flops0 := pool.Flops()
	for b.Loop() {
		FillPretrain(batch, clean, 4095, 0.01, rng)
		clear(n.G.Data)
		if _, err := n.LossAndGrad(batch); err != nil {
			b.Fatal(err)
		}
		ClipGradNorm(n.G.Data, 1)
		opt.Update(pool, p, n.G.Data, 1e-3)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(B*T*b.N)/sec, "tokens/s")
	b.ReportMetric(float64(pool.Flops()-flops0)/sec/1e9, "GFLOPS")
}

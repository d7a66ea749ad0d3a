package engine_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"unmask/engine"
	"unmask/engine/checkpoint"
	"unmask/quant"
)

// BenchmarkForward measures one forward pass over a full canvas: the
// conformance checkpoint at 64 tokens and the ~5M-parameter benchmark shape
// at 256 tokens, float32 against int8, on one and two goroutines, with
// every kernel path the program has (natively "go", and "avx2" when built
// with GOEXPERIMENT=simd on a processor with AVX2).
//
//	go test -run '^$' -bench Forward ./engine
func BenchmarkForward(b *testing.B) {
	tiny, err := checkpoint.Load(filepath.Join("..", "testdata", "llada-tiny-f32"))
	if err != nil {
		b.Fatal(err)
	}
	models := []struct {
		name   string
		model  *engine.Model
		tokens int
	}{
		{"conformance", tiny, 64},
		{"5M", engine.RandomModel(engine.BenchConfig(), 1), 256},
	}
	for _, m := range models {
		for _, dtype := range []string{"f32", "q8"} {
			model := m.model
			if dtype == "q8" {
				model = model.Quantize(0)
			}
			for _, threads := range []int{1, 2} {
				for _, kernels := range quant.AvailableKernels() {
					b.Run(fmt.Sprintf("%s/%s/tokens=%d/threads=%d/kernels=%s", m.name, dtype, m.tokens, threads, kernels), func(b *testing.B) {
						if _, err := quant.UseKernels(kernels); err != nil {
							b.Fatal(err)
						}
						defer quant.UseKernels("go")
						st := engine.NewState(model, m.tokens)
						st.Threads = threads
						ids := make([]int, m.tokens)
						for i := range ids {
							ids[i] = i % model.Config.VocabSize
						}
						b.ReportAllocs()
						for b.Loop() {
							if _, err := st.Forward(ids); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(b.N*m.tokens)/b.Elapsed().Seconds(), "tokens/s")
					})
				}
			}
		}
	}
}

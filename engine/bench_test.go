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

// BenchmarkCachedPass measures the passes of Fast-dLLM's caches on the
// int8 benchmark shape over 256 tokens with the native kernels: the full
// pass without a cache and storing into one (a block's first step), and
// the later steps of a block of 32 at the middle of the canvas, prefix
// (the block to the end) and dual (the block alone). Compare the ratios.
//
//	go test -run '^$' -bench CachedPass ./engine
func BenchmarkCachedPass(b *testing.B) {
	const T, start, block = 256, 128, 32
	model := engine.RandomModel(engine.BenchConfig(), 1).Quantize(0)
	ids := make([]int, T)
	for i := range ids {
		ids[i] = i % model.Config.VocabSize
	}
	logits := make([]int, block) // the block's positions, as the sampler asks
	for i := range logits {
		logits[i] = start + i
	}
	cache := engine.NewKVCache(&model.Config, T)
	passes := []struct {
		name string
		pass engine.Pass
	}{
		{"full", engine.Pass{From: 0, To: T, Logits: logits}},
		{"full+store", engine.Pass{From: 0, To: T, Cache: cache, Logits: logits}},
		{"prefix", engine.Pass{From: start, To: T, Cache: cache, Logits: logits}},
		{"dual", engine.Pass{From: start, To: start + block, Cache: cache, Logits: logits}},
	}
	if _, err := quant.UseKernels("auto"); err != nil {
		b.Fatal(err)
	}
	defer quant.UseKernels("go")
	st := engine.NewState(model, T)
	if _, err := st.ForwardPass(ids, passes[1].pass); err != nil {
		b.Fatal(err)
	}
	for _, p := range passes {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.ForwardPass(ids, p.pass); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"unmask/engine"
	"unmask/quant"
)

// BenchmarkGenerateARvsLLaDA compares tokens per second of the base model
// at the page's defaults (48 tokens in 48 steps, blocks of 8, temperature
// 1, no cache: a full pass over the canvas per step) with the same network
// decoded as a causal model (one position per pass against the KV cache),
// on one goroutine, for every kernel path. The causal twin has the base's
// weights, so only the decoding differs: an autoregressive twin trained
// with the next-token objective would cost the same. EOS is suppressed so
// both write all 48 tokens. Compare the two by their ratio in one run.
//
//	go test -run '^$' -bench GenerateARvsLLaDA ./engine
func BenchmarkGenerateARvsLLaDA(b *testing.B) {
	base, err := engine.LoadFile(filepath.Join("..", "web", "models", "unmask-base.unmask"))
	if err != nil {
		b.Fatal(err)
	}
	twin := *base
	twin.Config.Causal = true
	prompt := base.Tokenizer.Encode("It was a fine morning, and")
	pageDefaults := engine.Options{Steps: 48, GenLength: 48, BlockLength: 8, Temperature: 1,
		Remasking: engine.LowConfidence, SuppressEOS: true, Seed: 1}
	cases := []struct {
		name  string
		model *engine.Model
		opts  engine.Options
	}{
		{"llada-base/page-defaults", base, pageDefaults},
		{"ar-twin/kv-cache", &twin, engine.Options{GenLength: 48, Temperature: 1, SuppressEOS: true, Seed: 1}},
	}
	for _, kernels := range quant.AvailableKernels() {
		for _, tc := range cases {
			b.Run(fmt.Sprintf("%s/kernels=%s", tc.name, kernels), func(b *testing.B) {
				if _, err := quant.UseKernels(kernels); err != nil {
					b.Fatal(err)
				}
				defer quant.UseKernels("go")
				st := engine.NewState(tc.model, len(prompt)+tc.opts.GenLength)
				st.Threads = 1
				for b.Loop() {
					if _, err := st.Generate(context.Background(), prompt, tc.opts, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*tc.opts.GenLength)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

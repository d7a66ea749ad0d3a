package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"unmask/quant"
)

// BenchmarkPredict measures the sampler's vocabulary work of one step:
// predict at 64 masked positions over a vocabulary of 4096 (the benchmark
// model's), for each remasking rule, with the trace's top-5 candidates
// (what the page asks for), with Gumbel-max sampling, and on every kernel
// path. The logits are drawn once, N(0, 2.5²) with one clear favourite per
// row, roughly what a small trained model gives.
//
//	go test -run '^$' -bench Predict ./engine
func BenchmarkPredict(b *testing.B) {
	const positions = 64
	c := BenchConfig()
	V := c.EmbeddingSize
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, positions*V)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 2.5)
	}
	for p := range positions {
		logits[p*V+rng.IntN(V)] += 8
	}
	st := &State{Model: &Model{Config: c}}
	cases := []struct {
		name  string
		opts  Options
		trace bool
	}{
		{"low_confidence", Options{Remasking: LowConfidence}, false},
		{"low_confidence/top5", Options{Remasking: LowConfidence, TopK: 5}, true},
		{"margin", Options{Remasking: Margin}, false},
		{"entropy", Options{Remasking: Entropy}, false},
		{"temperature", Options{Remasking: LowConfidence, Temperature: 0.8}, false},
	}
	for _, tc := range cases {
		for _, kernels := range quant.AvailableKernels() {
			b.Run(fmt.Sprintf("%s/kernels=%s", tc.name, kernels), func(b *testing.B) {
				if _, err := quant.UseKernels(kernels); err != nil {
					b.Fatal(err)
				}
				defer quant.UseKernels("go")
				sp := newStepper(st, tc.opts, make([]bool, positions), tc.trace)
				for b.Loop() {
					for p := range positions {
						sp.predict(p, logits[p*V:(p+1)*V])
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*positions), "ns/position")
			})
		}
	}
}

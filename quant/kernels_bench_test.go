package quant

import (
	"fmt"
	"testing"
)

// Benchmarks of every kernel set on the shapes of a forward pass of the
// benchmark model (d_model 256, MLP 384, vocabulary 4096, 256 tokens).
// Under Node: GOOS=js GOARCH=wasm go test -exec "node ... run_node.js"
// -run - -bench . ./quant/ (see the Makefile's NODE_EXEC).

func benchSets(b *testing.B) []kernelSet {
	return append([]kernelSet{genericKernels}, fastKernelSets(b)...)
}

func BenchmarkMatMulQ8(b *testing.B) {
	for _, k := range benchSets(b) {
		for _, s := range []q8Shape{{256, 384, 256, 256, 0, 384}, {256, 4096, 256, 256, 0, 4096}, {1, 4096, 256, 256, 0, 4096}} {
			b.Run(fmt.Sprintf("%s/T%d_%dx%d", k.name, s.T, s.rows, s.cols), func(b *testing.B) {
				r := newRand(1)
				xq, wq := randInt8s(r, s.T*s.cols, true), randInt8s(r, s.rows*s.cols, true)
				xs, ws := randFloats(r, s.T, 0.01), randFloats(r, s.rows, 0.01)
				y := make([]float32, s.T*s.rows)
				for b.Loop() {
					k.matMulQ8(y, xq, xs, wq, ws, s.T, s.rows, s.cols, s.group, s.r0, s.r1)
				}
				b.ReportMetric(2*float64(s.T*s.rows*s.cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
			})
		}
	}
}

func BenchmarkMatMulF32(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			r := newRand(1)
			T, rows, cols := 256, 384, 256
			x, w, y := randFloats(r, T*cols, 1), randFloats(r, rows*cols, 1), make([]float32, T*rows)
			for b.Loop() {
				k.matMulF32(y, x, w, T, rows, cols, 0, rows)
			}
			b.ReportMetric(2*float64(T*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

func BenchmarkQuantizeActivations(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			x := randFloats(newRand(1), 256*256, 1)
			q, scales := make([]int8, len(x)), make([]float32, 256)
			for b.Loop() {
				k.quantizeActivations(q, scales, x, 256)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/value")
		})
	}
}

// One head of the benchmark model: 256 queries against 256 keys, head
// width 64, rows 256 apart (queries, keys and values of 4 heads side by side).
func BenchmarkAttention(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			r := newRand(1)
			T, hd, ld := 256, 64, 256
			q, kk, v := randFloats(r, T*ld, 1), randFloats(r, T*ld, 1), randFloats(r, T*ld, 1)
			out, scores := make([]float32, T*ld), make([]float32, AttentionScratch(T, T, hd))
			for b.Loop() {
				k.attention(out, ld, q, ld, kk, v, ld, scores, T, T, hd, 0.125)
			}
			b.ReportMetric(4*float64(T*T*hd)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

func BenchmarkRMSNorm(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			r := newRand(1)
			x, w, out := randFloats(r, 256*256, 1), randFloats(r, 256, 1), make([]float32, 256*256)
			for b.Loop() {
				k.rmsNorm(out, x, w, 1e-5)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/value")
		})
	}
}

func BenchmarkSiLUMul(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			r := newRand(1)
			gate, up := randFloats(r, 256*384, 1), randFloats(r, 256*384, 1)
			for b.Loop() {
				k.siluMul(gate, up)
				copy(gate, up)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(gate)), "ns/value")
		})
	}
}

// BenchmarkKernelCall measures the cost of reaching a kernel: a DotF32 of
// 4 values, nearly all call (see the glue comment in kernels_wasm.go).
func BenchmarkKernelCall(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			x, y := []float32{1, 2, 3, 4}, []float32{4, 3, 2, 1}
			var sum float32
			for b.Loop() {
				sum += k.dotF32(x, y)
			}
			if sum == 0 {
				b.Fatal("no work done")
			}
		})
	}
}

func BenchmarkRoPE(b *testing.B) {
	for _, k := range benchSets(b) {
		b.Run(k.name, func(b *testing.B) {
			r := newRand(1)
			buf, cos, sin := randFloats(r, 256*256, 1), randFloats(r, 256*32, 1), randFloats(r, 256*32, 1)
			for b.Loop() {
				k.rope(buf, cos, sin, 256, 4, 64)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(buf)), "ns/value")
		})
	}
}

// BenchmarkLogitStats is the sampler's pass over one row of the
// benchmark model's 4096 logits, with the group maxima for the trace.
func BenchmarkLogitStats(b *testing.B) {
	for _, k := range benchSets(b) {
		for _, want := range []int{0, LogitSecond | LogitEntropy} {
			b.Run(fmt.Sprintf("%s/want=%d", k.name, want), func(b *testing.B) {
				row := randFloats(newRand(1), 4096, 2.5)
				g := make([]float32, LogitGroups(len(row)))
				for b.Loop() {
					k.logitStats(g, row, want)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(row)), "ns/value")
			})
		}
	}
}

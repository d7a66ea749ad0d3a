package engine_test

import (
	"fmt"
	"math"
	"testing"

	"unmask/engine"
	"unmask/quant/quanttest"
)

// A cached partial pass of an int8 model (engine.ForwardPass over some
// positions, the others' keys and values from a cache that a full pass
// over the same canvas filled) gives the same bits on every kernel path,
// on one goroutine or two (natively Go and AVX2; under Node, make
// test-wasm, SIMD128 and relaxed SIMD), and the same bits as the full pass
// there: each position's row goes through the same kernels in the same
// order.
func TestQ8CachedPassSameBitsOnEveryPath(t *testing.T) {
	model := engine.RandomModel(engine.BenchConfig(), 1).Quantize(0)
	const T = 64
	ids := make([]int, T)
	for i := range ids {
		ids[i] = (i*577 + 3) % model.Config.VocabSize
	}
	V := model.Config.EmbeddingSize
	ranges := [][2]int{{32, 64}, {32, 48}, {0, 1}, {63, 64}}
	var want [][]float32 // per range, the Go references' partial pass
	for _, path := range quanttest.Paths(t) {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", path, threads), func(t *testing.T) {
				quanttest.Use(t, path)
				st := engine.NewState(model, T)
				st.Threads = threads
				cache := engine.NewKVCache(&model.Config, T)
				full, err := st.ForwardPass(ids, engine.Pass{From: 0, To: T, Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				full = append([]float32(nil), full...)
				for r, fr := range ranges {
					got, err := st.ForwardPass(ids, engine.Pass{From: fr[0], To: fr[1], Cache: cache})
					if err != nil {
						t.Fatal(err)
					}
					if i := firstBitDifference(got, full[fr[0]*V:fr[1]*V]); i >= 0 {
						t.Fatalf("positions %v: logit %d of position %d differs from the full pass: %v, want %v",
							fr, i%V, fr[0]+i/V, got[i], full[fr[0]*V+i])
					}
					if len(want) <= r {
						want = append(want, append([]float32(nil), got...)) // the first path is the Go references
					}
					if i := firstBitDifference(got, want[r]); i >= 0 {
						t.Fatalf("positions %v: logit %d differs from the Go references", fr, i)
					}
				}
			})
		}
	}
}

// firstBitDifference is the first index where a and b differ in bits, or -1.
func firstBitDifference(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

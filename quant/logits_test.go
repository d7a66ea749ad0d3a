package quant

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ScanLogits must give the reference's bits on every kernel path (the
// sampler's choices and scores then agree everywhere), and the reference
// must be what it claims: the softmax's normaliser, argmax, runner-up
// and entropy, close to a float64 softmax.

var logitLengths = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 63, 64, 65, 67, 68, 100, 127, 128, 129, 200, 1000, 4096, 4099}

var logitWants = []int{0, LogitSecond, LogitEntropy, LogitSecond | LogitEntropy}

// sameFloat64 reports whether a and b are the same float64 (any NaN matches any NaN).
func sameFloat64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b
}

// checkLogitStats runs the reference and kernel set k on row for every
// want, with and without group maxima, and requires the same results.
func checkLogitStats(t *testing.T, k kernelSet, row []float32) {
	t.Helper()
	for _, want := range logitWants {
		for _, groups := range []bool{false, true} {
			var gWant, gGot []float32
			if groups {
				gWant, gGot = filled(LogitGroups(len(row))+3, sentinel), filled(LogitGroups(len(row))+3, sentinel)
			}
			in := slices.Clone(row)
			exp := logitStatsGeneric(gWant, row, want)
			got := k.logitStats(gGot, in, want)
			what := fmt.Sprintf("%s, %d logits, want %d, groups %v", k.name, len(row), want, groups)
			requireSameFloats(t, what+": row changed", in, row)
			if got.Best != exp.Best || got.Second != exp.Second || !sameFloat64(got.Sum, exp.Sum) || !sameFloat64(got.SumED, exp.SumED) {
				require.Failf(t, "different logit stats", "%s: got %+v, want %+v", what, got, exp)
			}
			if groups {
				requireSameFloats(t, what+": groupMax", gGot, gWant)
			}
		}
	}
}

// specialLogitRows have ties, infinities, NaNs and signed zeros in the
// places where vector code could slip: first and last lanes, block edges.
func specialLogitRows() map[string][]float32 {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	tail := func(n int, at map[int]float32) []float32 {
		row := randFloats(newRand(uint64(n)), n, 1)
		for i, v := range at {
			row[i] = v
		}
		return row
	}
	return map[string][]float32{
		"tie for max":          tail(70, map[int]float32{5: 9, 66: 9}),
		"tie in one vector":    tail(16, map[int]float32{9: 9, 10: 9}),
		"three-way tie":        tail(130, map[int]float32{64: 9, 3: 9, 127: 9}),
		"max last":             tail(67, map[int]float32{66: 9}),
		"max first":            tail(67, map[int]float32{0: 9}),
		"runner-up after max":  tail(40, map[int]float32{3: 9, 39: 8}),
		"runner-up before max": tail(40, map[int]float32{38: 9, 0: 8}),
		"max in tail":          tail(131, map[int]float32{129: 9}),
		"nan first":            tail(20, map[int]float32{0: nan}),
		"nan everywhere but one": func() []float32 {
			row := filled(77, nan)
			row[41] = -3
			return row
		}(),
		"all nan":     filled(69, nan),
		"all -inf":    filled(66, -inf),
		"eos at -inf": tail(100, map[int]float32{98: -inf}),
		"+inf":        tail(33, map[int]float32{17: inf}),
		"signed zeros": func() []float32 {
			row := filled(130, -1)
			for _, i := range []int{1, 4, 64, 65, 70, 128, 129} {
				row[i] = float32(math.Copysign(0, float64(1-2*(i%2))))
			}
			return row
		}(),
		"huge spread": tail(90, map[int]float32{7: 3e38, 8: -3e38, 50: 1e30}),
		"constant":    filled(75, 0.25),
	}
}

func TestLogitStatsKernels(t *testing.T) {
	for _, k := range fastKernelSets(t) {
		for _, n := range logitLengths {
			t.Run(fmt.Sprintf("%s/%d", k.name, n), func(t *testing.T) {
				checkLogitStats(t, k, randFloats(newRand(uint64(n)), n, 3))
			})
		}
		for name, row := range specialLogitRows() {
			t.Run(k.name+"/"+name, func(t *testing.T) { checkLogitStats(t, k, row) })
		}
	}
}

func FuzzLogitStats(f *testing.F) {
	f.Add([]byte{70, 1, 0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff, 0, 0, 0, 0x80})
	f.Add([]byte{130, 0, 3, 9, 9, 200, 17, 4, 9})
	f.Add([]byte{5, 1, 0, 0, 0x20, 0x41})
	sets := fastKernelSets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		n := int(fb.next()) + int(fb.next()&1)<<8
		var row []float32
		if fb.intN(2) == 0 {
			row = fb.floats(n) // steps of 1/16: many ties
		} else {
			row = fb.rawFloats(n)
		}
		for _, k := range sets {
			checkLogitStats(t, k, row)
		}
		top := make([]int, 1+fb.intN(8))
		g := make([]float32, LogitGroups(n))
		logitStatsGeneric(g, row, 0)
		checkTopLogits(t, top, row, g)
	})
}

// The reference is what the sampler needs: Best and Second by brute
// force, Sum and the entropy close to a float64 softmax.
func TestLogitStatsMeaning(t *testing.T) {
	for _, n := range logitLengths[1:] {
		row := randFloats(newRand(uint64(n)+100), n, 4)
		st := logitStatsGeneric(nil, row, LogitSecond|LogitEntropy)
		order := sortedIndices(row)
		require.Equal(t, order[0], st.Best, "%d logits: Best", n)
		wantSecond := -1
		if n > 1 {
			wantSecond = order[1]
		}
		require.Equal(t, wantSecond, st.Second, "%d logits: Second of %v", n, order)
		m := float64(row[st.Best])
		var sum, plogp float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		for _, v := range row {
			p := math.Exp(float64(v)-m) / sum
			plogp += p * math.Log(p)
		}
		assert.InEpsilon(t, sum, st.Sum, 1e-6, "%d logits: Sum against a float64 softmax", n)
		assert.InDelta(t, plogp, st.SumED/st.Sum-math.Log(st.Sum), 1e-5, "%d logits: Σ p log p against a float64 softmax", n)
	}
}

// sortedIndices orders row's indices by value, largest first, equal
// values by index, NaN left out.
func sortedIndices(row []float32) []int {
	var idx []int
	for i, v := range row {
		if v == v {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
	return idx
}

func checkTopLogits(t *testing.T, top []int, row, groupMax []float32) {
	t.Helper()
	order := sortedIndices(row)
	want := order[:min(len(top), len(order))]
	got := top[:TopLogits(top, row, groupMax)]
	if !slices.Equal(got, want) { // nil and empty alike
		require.Failf(t, "different top tokens", "TopLogits(k=%d) of %d logits = %v, want %v", len(top), len(row), got, want)
	}
}

func TestTopLogits(t *testing.T) {
	rows := specialLogitRows()
	for _, n := range logitLengths {
		rows[fmt.Sprint(n)] = randFloats(newRand(uint64(n)), n, 3)
		coarse := randFloats(newRand(uint64(n)+7), n, 2)
		for i := range coarse {
			coarse[i] = float32(math.Round(float64(coarse[i]))) // many ties
		}
		rows[fmt.Sprint(n, " coarse")] = coarse
	}
	for name, row := range rows {
		g := make([]float32, LogitGroups(len(row)))
		logitStatsGeneric(g, row, 0)
		for _, k := range []int{0, 1, 2, 5, 17, 64, 70} {
			t.Run(fmt.Sprintf("%s/k=%d", name, k), func(t *testing.T) {
				checkTopLogits(t, make([]int, k), row, g)
			})
		}
	}
}

func TestLogitStatsBoundsPanic(t *testing.T) {
	require.Panics(t, func() { boundsLogitStats(make([]float32, 7), make([]float32, 65)) }, "short group maxima")
}

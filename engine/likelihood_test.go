package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStratifiedCounts: the reference's
// ((round(linspace(k, k+(b-1)·l/b, b)) - 1) % l) + 1, worked by hand.
func TestStratifiedCounts(t *testing.T) {
	for _, tc := range []struct {
		k, l, b int
		want    []int
	}{
		{3, 10, 4, []int{3, 6, 8, 10}}, // 3, 5.5, 8, 10.5: halves to even
		{9, 10, 4, []int{9, 2, 4, 6}},  // 9, 11.5, 14, 16.5 wrapped
		{1, 128, 16, []int{1, 9, 17, 25, 33, 41, 49, 57, 65, 73, 81, 89, 97, 105, 113, 121}},
		{128, 128, 2, []int{128, 64}}, // 128, 192 wrapped
		{5, 7, 1, []int{5}},
		{1, 1, 3, []int{1, 1, 1}},
	} {
		assert.Equal(t, tc.want, StratifiedCounts(tc.k, tc.l, tc.b), "k=%d l=%d b=%d", tc.k, tc.l, tc.b)
	}
}

// TestScoreMaskedMatchesLogSoftmax recomputes the cross-entropy of the
// masked tokens from the full logits with a float64 log-softmax, and the
// argmax (never the mask token) by a plain scan.
func TestScoreMaskedMatchesLogSoftmax(t *testing.T) {
	st := samplerState(t)
	mask := st.Model.Config.MaskTokenID
	V, d := st.Model.Config.EmbeddingSize, st.Model.Config.DModel
	seq := []int{3, 17, 5, 40, 22, 8, 1, 30}
	positions := []int{1, 4, 6}
	noisy := append([]int(nil), seq...)
	for _, p := range positions {
		noisy[p] = mask
	}
	// At position 1 the target is the model's favourite, and the mask
	// token's head row is ten times that token's, so the mask's logit is
	// the largest there: the runner-up must be counted as the prediction.
	logits, err := st.Forward(noisy)
	require.NoError(t, err)
	row := logits[1*V : 2*V]
	seq[1] = argmaxF32(row)
	require.Positive(t, row[seq[1]])
	head := st.Model.Weights.Head.F32
	for i := range d {
		head[mask*d+i] = 10 * head[seq[1]*d+i]
	}

	ce, correct, err := st.ScoreMasked(seq, positions)
	require.NoError(t, err)
	logits, err = st.Forward(noisy)
	require.NoError(t, err)
	require.Equal(t, mask, argmaxF32(logits[1*V:2*V]))
	var want float64
	wantCorrect := 0
	for _, p := range positions {
		row := logits[p*V : (p+1)*V]
		best, top := -1, math.Inf(-1)
		var sum float64
		for id, l := range row {
			sum += math.Exp(float64(l))
			if id != mask && float64(l) > top {
				best, top = id, float64(l)
			}
		}
		want += math.Log(sum) - float64(row[seq[p]])
		if best == seq[p] {
			wantCorrect++
		}
	}
	assert.InDelta(t, want, ce, 1e-5*math.Abs(want))
	assert.Equal(t, wantCorrect, correct)
}

// TestNegativeELBOMatchesEnumeration: on a short sequence the bound can
// be computed exactly, E over k ~ U{1..l} and the C(l,k) mask sets of
// (l/k)·CE; the Monte Carlo estimate lands within a few standard errors
// of it, with and without a prompt and for any batch size.
func TestNegativeELBOMatchesEnumeration(t *testing.T) {
	st := samplerState(t)
	seq := []int{7, 12, 3, 33, 21, 9}
	for _, tc := range []struct{ prompt, mc, batch int }{{0, 1001, 7}, {2, 1001, 1001}, {2, 1001, 1}} {
		l := len(seq) - tc.prompt
		// Every subset of the target positions, by bit mask.
		var mean, meanSq float64
		for k := 1; k <= l; k++ {
			var sets []float64
			for bits := 1; bits < 1<<l; bits++ {
				var positions []int
				for i := range l {
					if bits&(1<<i) != 0 {
						positions = append(positions, tc.prompt+i)
					}
				}
				if len(positions) != k {
					continue
				}
				ce, _, err := st.ScoreMasked(seq, positions)
				require.NoError(t, err)
				sets = append(sets, ce*float64(l)/float64(k))
			}
			for _, z := range sets {
				p := 1 / float64(l) / float64(len(sets))
				mean += p * z
				meanSq += p * z * z
			}
		}
		tol := 5 * math.Sqrt((meanSq-mean*mean)/float64(tc.mc))
		got, err := st.NegativeELBO(seq, tc.prompt, tc.mc, tc.batch, rand.New(rand.NewPCG(3, 4)))
		require.NoError(t, err)
		assert.InDelta(t, mean, got, tol, "prompt %d, batch %d: exact %.4f", tc.prompt, tc.batch, mean)
		assert.Greater(t, tol, 0.0)
	}
}

func TestNegativeELBORefuses(t *testing.T) {
	st := samplerState(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name              string
		seq               []int
		prompt, mc, batch int
	}{
		{"no target", []int{1, 2}, 2, 4, 4},
		{"negative prompt", []int{1, 2}, -1, 4, 4},
		{"batch does not divide", []int{1, 2, 3}, 1, 5, 2},
		{"zero batch", []int{1, 2, 3}, 1, 4, 0},
	} {
		_, err := st.NegativeELBO(tc.seq, tc.prompt, tc.mc, tc.batch, rng)
		assert.ErrorIs(t, err, ErrOptions, tc.name)
	}
	_, _, err := st.ScoreMasked([]int{1, 2}, []int{2})
	assert.Error(t, err)
}

func argmaxF32(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

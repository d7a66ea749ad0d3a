package engine

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// predictRows are rows of logits for the sampler's tests: spreads from
// flat to sharp, the mask token on top, a suppressed EOS, huge values.
func predictRows(V, mask int) map[string][]float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	normal := func(scale float64) []float32 {
		row := make([]float32, V)
		for i := range row {
			row[i] = float32(rng.NormFloat64() * scale)
		}
		return row
	}
	rows := map[string][]float32{
		"flat":   normal(0.01),
		"normal": normal(1),
		"sharp":  normal(20),
		"wide":   normal(1e4),
	}
	maskTop := normal(2)
	maskTop[mask] = 50
	rows["mask on top"] = maskTop
	eos := normal(2)
	eos[V-2] = float32(math.Inf(-1))
	rows["eos suppressed"] = eos
	huge := normal(1)
	huge[3], huge[V/2] = 3e38, -3e38
	rows["huge"] = huge
	return rows
}

// plainGumbelMax is the Gumbel-max choice without gumbelMax's shortcut.
func plainGumbelMax(rng *rand.Rand, row []float32, mask int, T float64) int {
	token, best := -1, math.Inf(-1)
	for i, v := range row {
		g := float64(v) - T*math.Log(-math.Log(rng.Float64()))
		if i != mask && (g > best || token < 0) {
			best, token = g, i
		}
	}
	return token
}

// gumbelMax skips only tokens that cannot win: it picks what the plain
// loop picks and leaves the random source where the plain loop does.
func TestGumbelMaxSkipsOnlyLosers(t *testing.T) {
	const V, mask = 1000, 999
	st := &State{Model: &Model{Config: Config{EmbeddingSize: V, MaskTokenID: mask}}}
	for name, row := range predictRows(V, mask) {
		for _, temp := range []float64{1e-3, 0.3, 1, 7, 1e4} {
			for seed := range uint64(20) {
				sp := newStepper(st, Options{Temperature: temp, Seed: seed}, nil, false)
				ref := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
				want := plainGumbelMax(ref, row, mask, temp)
				require.Equal(t, want, sp.gumbelMax(row, mask), "%s, T %v, seed %d", name, temp, seed)
				require.Equal(t, ref.Uint64(), sp.rng.Uint64(), "%s: the same draws", name)
			}
		}
	}
}

// predict scores as a float64 softmax does, to float32's precision (its
// exponentials are float32): the same token, probability, margin,
// entropy and candidates.
func TestPredictMatchesFloat64Softmax(t *testing.T) {
	const V, mask = 1000, 999
	st := &State{Model: &Model{Config: Config{EmbeddingSize: V, MaskTokenID: mask}}}
	for name, row := range predictRows(V, mask) {
		mx := math.Inf(-1)
		for _, v := range row {
			mx = max(mx, float64(v))
		}
		p := make([]float64, V)
		var sum float64
		for i, v := range row {
			p[i] = math.Exp(float64(v) - mx)
			sum += p[i]
		}
		var plogp float64
		for i := range p {
			p[i] /= sum
			if p[i] > 0 {
				plogp += p[i] * math.Log(p[i])
			}
		}
		order := make([]int, V)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
		token := order[0]
		if token == mask {
			token = order[1]
		}
		for _, r := range []Remasking{LowConfidence, Margin, Entropy} {
			t.Run(fmt.Sprintf("%s/%s", name, r), func(t *testing.T) {
				sp := newStepper(st, Options{Remasking: r, TopK: 7}, nil, true)
				cd := sp.predict(3, row)
				assert.Equal(t, token, cd.token)
				assert.InEpsilon(t, p[token], cd.prob, 1e-6)
				want := map[Remasking]float64{LowConfidence: p[token], Margin: p[order[0]] - p[order[1]], Entropy: plogp}[r]
				assert.InDelta(t, want, cd.confidence, 1e-6*max(1, math.Abs(want)))
				require.Len(t, cd.top, 7)
				for i, c := range cd.top {
					// d = l - max is rounded to float32: relative error up to |d|·2^-24 in e^d.
					d := math.Abs(float64(row[order[i]]) - mx)
					assert.Equal(t, order[i], c.Token)
					assert.InDelta(t, p[order[i]], c.Prob, 1e-7*(3+d)*p[order[i]])
				}
			})
		}
	}
}

package genbench

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
)

func TestRun(t *testing.T) {
	c := engine.BenchConfig() // cut to one small layer: the test counts work, it does not time it
	c.NLayers, c.DModel, c.MLPHiddenSize = 1, 32, 48
	st := engine.NewState(engine.RandomModel(c, 7), 20)
	prompt := []int{1, 2, 3, 4}
	base := engine.Options{Steps: 16, GenLength: 16, BlockLength: 8, Remasking: engine.LowConfidence}
	rows, err := Run(context.Background(), st, prompt, base, Modes(1e-9), 2)
	require.NoError(t, err)
	require.Len(t, rows, 6)
	T := len(prompt) + base.GenLength
	tests := []struct {
		cache             engine.Cache
		threshold         bool
		passes, positions int
	}{
		{engine.NoCache, false, 16, 16 * T},
		{engine.NoCache, true, 2, 2 * T}, // everything reaches the threshold: a pass a block
		{engine.PrefixCache, false, 16, 2*T + 7*(T-4) + 7*(T-12)},
		{engine.PrefixCache, true, 2, 2 * T},
		{engine.DualCache, false, 16, 2*T + 14*8},
		{engine.DualCache, true, 2, 2 * T},
	}
	for i, tt := range tests {
		r := rows[i]
		assert.Equal(t, tt.cache, r.Cache, "row %d", i)
		assert.Equal(t, tt.threshold, r.Threshold > 0, "row %d", i)
		assert.Equal(t, tt.passes, r.ForwardPasses, "row %d", i)
		assert.Equal(t, tt.positions, r.PositionsComputed, "row %d", i)
		assert.Greater(t, r.MSPerToken, 0.0, "row %d", i)
		assert.GreaterOrEqual(t, r.SameTokens, 0.0)
		assert.LessOrEqual(t, r.SameTokens, 1.0)
	}
	assert.Equal(t, 1.0, rows[0].Speedup)
	assert.Equal(t, 1.0, rows[0].SameTokens)

	var buf bytes.Buffer
	Table(&buf, "title", rows)
	assert.Equal(t, 8, bytes.Count(buf.Bytes(), []byte("\n")), "title, header, a line a mode")

	_, err = Run(context.Background(), st, prompt, base, nil, 1)
	assert.Error(t, err)
}

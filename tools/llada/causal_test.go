package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
)

// causalModelFile writes a random int8 causal model (no tokenizer) and
// returns its path.
func causalModelFile(t *testing.T) string {
	t.Helper()
	c := engine.Config{DModel: 32, NHeads: 4, NKVHeads: 2, NLayers: 2, MLPHiddenSize: 48,
		VocabSize: 50, EmbeddingSize: 50, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 64, MaskTokenID: 49, EOSTokenID: 48, PadTokenID: 48, Causal: true}
	path := filepath.Join(t.TempDir(), "causal.unmask")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, engine.RandomModel(c, 3).Quantize(16).Encode(f))
	require.NoError(t, f.Close())
	return path
}

func TestGenerateCausalModel(t *testing.T) {
	file := causalModelFile(t)
	code, stdout, stderr := llada("generate", "--model", file, "--ids", "1,2,3", "--gen-length", "7", "--suppress-eos", "--json")
	require.Zero(t, code, stderr)
	var res struct {
		Output []int
		Trace  [][]int
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Len(t, res.Output, 10)
	assert.Len(t, res.Trace, 8, "one step per token, then the final canvas")
	assert.Equal(t, []int{1, 2, 3}, res.Output[:3])
	assert.NotContains(t, res.Output, 49)

	for _, flag := range [][]string{
		{"--steps", "8"}, {"--block-length", "7"}, {"--cfg", "1"}, {"--remasking", "random"},
		{"--threshold", "0.9"}, {"--cache", "dual"},
	} {
		code, stdout, stderr := llada(append([]string{"generate", "--model", file, "--ids", "1,2", "--gen-length", "4"}, flag...)...)
		assert.Equal(t, 2, code, flag)
		assert.Empty(t, stdout, flag)
		assert.Contains(t, stderr, flag[0], flag)
		assert.Contains(t, stderr, "causal", flag)
	}
}

func TestBenchCausalModel(t *testing.T) {
	file := causalModelFile(t)
	code, stdout, stderr := llada("bench", "--model", file, "--generate", "--ids", "1,2,3", "--gen-length", "16", "--rounds", "1")
	require.Zero(t, code, stderr)
	var res struct {
		AR struct {
			TokensPerS float64 `json:"tokens_per_s"`
			Tokens     int     `json:"tokens"`
		} `json:"ar"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Greater(t, res.AR.TokensPerS, 0.0)
	assert.Equal(t, 16, res.AR.Tokens)
}

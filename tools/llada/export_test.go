package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/engine/checkpoint"
	"unmask/quant"
)

// TestExportConvertRoundTrip: a model file exported to a checkpoint folder
// and converted back is the same file, for f32 and for q8 (int8 weights
// dequantise to values that quantise back to themselves).
func TestExportConvertRoundTrip(t *testing.T) {
	for _, name := range conformanceCheckpoints {
		for _, dtype := range []string{"f32", "q8"} {
			t.Run(name+"/"+dtype, func(t *testing.T) {
				dir := t.TempDir()
				first, second := filepath.Join(dir, "first.unmask"), filepath.Join(dir, "second.unmask")
				folder := filepath.Join(dir, "exported")
				code, _, stderr := llada("convert", "--in", conformanceDir(name), "--out", first, "--dtype", dtype)
				require.Zero(t, code, stderr)
				code, stdout, stderr := llada("export", "--model", first, "--out", folder)
				require.Zero(t, code, stderr)
				require.Contains(t, stdout, checkpoint.WeightsFile)
				code, _, stderr = llada("convert", "--in", folder, "--out", second, "--dtype", dtype)
				require.Zero(t, code, stderr)

				a, err := os.ReadFile(first)
				require.NoError(t, err)
				b, err := os.ReadFile(second)
				require.NoError(t, err)
				require.Equal(t, a, b, "export -> convert changed the model file")

				exported, err := checkpoint.Load(folder)
				require.NoError(t, err)
				require.Equal(t, quant.F32, exported.DType())
			})
		}
	}
}

// TestExportKeepsTokenizer: a model file with a tokenizer survives export
// and convert byte for byte.
func TestExportKeepsTokenizer(t *testing.T) {
	tok, err := bpe.Train(slices.Values([]string{"it is a truth universally acknowledged"}), 270, bpe.DefaultSpecials)
	require.NoError(t, err)
	c := engine.Config{DModel: 16, NHeads: 2, NKVHeads: 2, NLayers: 1, MLPHiddenSize: 32,
		VocabSize: tok.VocabSize(), EmbeddingSize: tok.VocabSize(), RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 64}
	c.MaskTokenID, _ = tok.Special(bpe.Mask)
	c.EOSTokenID, _ = tok.Special(bpe.EOS)
	c.PadTokenID = c.EOSTokenID
	m := engine.RandomModel(c, 5).Quantize(8)
	m.Tokenizer = tok
	var buf bytes.Buffer
	require.NoError(t, m.Encode(&buf))
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.unmask"), filepath.Join(dir, "second.unmask")
	require.NoError(t, os.WriteFile(first, buf.Bytes(), 0o644))

	code, _, stderr := llada("export", "--model", first, "--out", filepath.Join(dir, "ckpt"))
	require.Zero(t, code, stderr)
	code, _, stderr = llada("convert", "--in", filepath.Join(dir, "ckpt"), "--out", second, "--dtype", "q8", "--group", "8")
	require.Zero(t, code, stderr)
	b, err := os.ReadFile(second)
	require.NoError(t, err)
	require.Equal(t, buf.Bytes(), b)
}

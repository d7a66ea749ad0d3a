package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/reversal"
	"unmask/engine/words"
)

// reversalModel writes a random int8 model with a word-level tokenizer
// over the names, causal or not, and returns it with its path.
func reversalModel(t *testing.T, names []string, causal bool) (*engine.Model, string) {
	t.Helper()
	tok, err := words.New(append([]string{"Who", "is", "'s", "mentor", "?"}, names...), []string{"eos", "mask"})
	require.NoError(t, err)
	mask, _ := tok.Special("mask")
	eos, _ := tok.Special("eos")
	V := tok.VocabSize()
	c := engine.Config{DModel: 32, NHeads: 4, NKVHeads: 4, NLayers: 2, MLPHiddenSize: 48,
		VocabSize: V, EmbeddingSize: V, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 8, MaskTokenID: mask, EOSTokenID: eos, PadTokenID: eos, Causal: causal}
	m := engine.RandomModel(c, 9).Quantize(0)
	m.Tokenizer = tok
	path := filepath.Join(t.TempDir(), "model.unmask")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, m.Encode(f))
	require.NoError(t, f.Close())
	return m, path
}

// argmaxAnswer is the model's one-token answer written from one forward
// pass: causal, the logits at the question's last token; diffusion, at
// one mask after it. The mask is never an answer; EOS is no answer.
func argmaxAnswer(t *testing.T, m *engine.Model, question string) string {
	t.Helper()
	ids := m.Tokenizer.Encode(question)
	pass := engine.Pass{From: 0, To: len(ids), Causal: true, Logits: []int{len(ids) - 1}}
	if !m.Config.Causal {
		ids = append(ids, m.Config.MaskTokenID)
		pass = engine.Pass{From: 0, To: len(ids), Logits: []int{len(ids) - 1}}
	}
	row, err := engine.NewState(m, 0).ForwardPass(ids, pass)
	require.NoError(t, err)
	best := -1
	for j, l := range row {
		if j != m.Config.MaskTokenID && (best < 0 || l > row[best]) {
			best = j
		}
	}
	if best == m.Config.EOSTokenID {
		return ""
	}
	return m.Tokenizer.Token(best)
}

// llada reversal counts exact answers per direction: with a canvas of one
// answer token, the questions whose given answer is the model's own
// argmax (computed here from a single forward pass) are right, the others
// wrong.
func TestReversalCommand(t *testing.T) {
	names := []string{"Kado", "Misu", "Tore", "Vali", "Pema", "Suli"}
	for _, causal := range []bool{true, false} {
		m, path := reversalModel(t, names, causal)
		set := reversal.Set{Canvas: 7} // "Who is X 's mentor?" (6 tokens) + the answer
		for i, name := range names {
			q := "Who is " + name + "'s mentor?"
			answer := argmaxAnswer(t, m, q)
			fw, bw := answer, "not "+answer
			if i%3 == 0 { // forward wrong, backward right
				fw, bw = bw, fw
			}
			set.Forward = append(set.Forward, reversal.Item{Question: q, Answer: fw})
			set.Backward = append(set.Backward, reversal.Item{Question: q, Answer: bw})
		}
		raw, err := json.Marshal(set)
		require.NoError(t, err)
		qpath := filepath.Join(filepath.Dir(path), reversal.File)
		require.NoError(t, os.WriteFile(qpath, raw, 0o644))
		code, stdout, stderr := llada("reversal", "--model", path)
		require.Zero(t, code, stderr)
		var got struct {
			Forward, Backward float64
			Questions         int
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &got))
		assert.Equal(t, 6, got.Questions)
		assert.InDelta(t, 4.0/6, got.Forward, 1e-12, "causal %v", causal)
		assert.InDelta(t, 2.0/6, got.Backward, 1e-12, "causal %v", causal)
	}
}

func TestReversalCommandRefuses(t *testing.T) {
	_, path := reversalModel(t, []string{"Kado", "Misu"}, true)
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "q.json")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	one := `{"question":"Who is Kado's mentor?","answer":"Misu"}`
	tests := []struct {
		name, questions, want string
	}{
		{"no questions beside the model", "", "reversal-questions.json"},
		{"not JSON", write("{"), "reversal questions"},
		{"uneven directions", write(`{"canvas":8,"forward":[` + one + `],"backward":[]}`), "1 forward and 0 backward"},
		{"no canvas", write(`{"forward":[` + one + `],"backward":[` + one + `]}`), "canvas 0"},
		{"question longer than the canvas", write(`{"canvas":4,"forward":[` + one + `],"backward":[` + one + `]}`), "takes 6 tokens"},
	}
	for _, tt := range tests {
		args := []string{"reversal", "--model", path}
		if tt.questions != "" {
			args = append(args, "--questions", tt.questions)
		}
		code, stdout, stderr := llada(args...)
		assert.Equal(t, 2, code, tt.name)
		assert.Empty(t, stdout, tt.name)
		assert.Contains(t, stderr, tt.want, tt.name)
	}
}

// The shipped reversal models on their shipped questions (int8, argmax:
// deterministic): the masked diffusion model answers the held-out facts
// both ways, the autoregressive one only in the direction it read them
// (the bars of the model card).
func TestShippedReversalModels(t *testing.T) {
	dir := filepath.Join("..", "..", "web", "models")
	tests := []struct {
		file string
		ok   func(forward, backward float64) bool
	}{
		{"reversal-llada.unmask", func(f, b float64) bool { return b >= 0.7 && b >= 0.8*f }},
		{"reversal-ar.unmask", func(f, b float64) bool { return f >= 0.7 && b <= 0.15 }},
	}
	for _, tt := range tests {
		code, stdout, stderr := llada("reversal", "--model", filepath.Join(dir, tt.file))
		require.Zero(t, code, stderr)
		var got struct {
			Forward, Backward float64
			Questions         int
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &got))
		assert.GreaterOrEqual(t, got.Questions, 100, tt.file)
		assert.True(t, tt.ok(got.Forward, got.Backward), "%s: forward %v, backward %v", tt.file, got.Forward, got.Backward)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine/words"
)

// The standard reversal setup: every fact is stated in training one way
// only; QA pairs in both directions exist for the training facts alone;
// each evaluation entity appears in training in exactly one statement,
// and is asked about both ways in the evaluation; every name is one token.
func TestBuildReversal(t *testing.T) {
	o := reversalOptions{Facts: 400, TrainQA: 200, Seed: 1, MinPerSide: 100}
	train, heldout, qs, tok, err := buildReversal(o)
	require.NoError(t, err)
	tasks := map[string]int{}
	for _, p := range train {
		tasks[p.Task]++
	}
	assert.Equal(t, map[string]int{"statement": 400, "forward": 200, "backward": 200}, tasks, "half statements, half QA")
	assert.Len(t, heldout, 400)
	require.Len(t, qs.Forward, 200)
	require.Len(t, qs.Backward, 200)
	unk, _ := tok.Special("unk")

	// Where each evaluation entity occurs in the training pairs.
	for i, q := range qs.Forward {
		b := qs.Backward[i]
		subject, object := b.Answer, q.Answer
		assert.Equal(t, "Who is "+subject+"'s mentor?", q.Question)
		assert.Equal(t, "Whose mentor is "+object+"?", b.Question)
		for _, name := range []string{subject, object} {
			ids := tok.Encode(name)
			require.Len(t, ids, 1, name)
			assert.NotEqual(t, unk, ids[0], name)
			var seen []string
			for _, p := range train {
				if containsWord(tok, p.Prompt+" "+p.Response, name) {
					seen = append(seen, p.Task+": "+p.Prompt+p.Response)
				}
			}
			assert.Equal(t, []string{"statement: " + subject + "'s mentor is " + object + "."}, seen, name)
		}
	}

	// Seeded: the same seed gives the same set, another seed other names.
	again, _, _, _, err := buildReversal(o)
	require.NoError(t, err)
	assert.Equal(t, train, again)
	o.Seed = 2
	other, _, _, _, err := buildReversal(o)
	require.NoError(t, err)
	assert.NotEqual(t, train[0], other[0])

	_, _, _, _, err = buildReversal(reversalOptions{Facts: 250, TrainQA: 200, Seed: 1, MinPerSide: 100})
	assert.ErrorIs(t, err, ErrReversal, "50 evaluation questions per direction")
}

// containsWord reports whether text has name as one of its tokens.
func containsWord(tok *words.Tokenizer, text, name string) bool {
	id := tok.Encode(name)[0]
	for _, t := range tok.Encode(text) {
		if t == id {
			return true
		}
	}
	return false
}

func TestWriteReversal(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, run([]string{"--reversal", "--out", dir, "--facts", "150", "--train-qa", "50"}))
	var qs reversalQuestions
	raw, err := os.ReadFile(filepath.Join(dir, "reversal-questions.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &qs))
	assert.Len(t, qs.Forward, 100)
	assert.Equal(t, 8, qs.Canvas)
	lines, err := os.ReadFile(filepath.Join(dir, "sft-train.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 250, strings.Count(string(lines), "\n"))
	var tok words.Tokenizer
	raw, err = os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &tok))
	assert.Equal(t, 7+300+3, tok.VocabSize(), "template words, names, eos/unk/mask")

	assert.Error(t, run([]string{"--reversal", "--out", t.TempDir(), "--facts", "150", "--train-qa", "100"}), "50 per direction")
}

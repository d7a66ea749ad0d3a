package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/engine/words"
	"unmask/tools/train/trainer"
)

// toyCorpus writes a corpus directory as tools/corpus lays it out, from a
// few repeated sentences, with a small tokenizer.
func toyCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sentences := []string{
		"It is a truth universally acknowledged.",
		"In the beginning God created the heaven and the earth.",
		"She was the youngest of the two daughters.",
		"And the earth was without form, and void.",
	}
	tok, err := bpe.Train(slices.Values(sentences), 300, bpe.DefaultSpecials)
	require.NoError(t, err)
	raw, err := json.Marshal(tok)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644))
	eos, _ := tok.Special("eos")
	write := func(name string, reps int) {
		var ids []int
		var starts []uint32
		for r := range reps {
			for _, s := range sentences[r%2*2:] {
				starts = append(starts, uint32(len(ids)))
				ids = append(ids, tok.Encode(s)...)
				ids = append(ids, 10)
			}
			ids = append(ids, eos)
		}
		var b, idx bytes.Buffer
		for _, id := range ids {
			binary.Write(&b, binary.LittleEndian, uint16(id))
		}
		for _, s := range starts {
			binary.Write(&idx, binary.LittleEndian, s)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".bin"), b.Bytes(), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".idx"), idx.Bytes(), 0o644))
	}
	write("train", 60)
	write("heldout", 10)
	var sft strings.Builder
	for i, s := range sentences {
		fmt.Fprintf(&sft, `{"task":"continue","prompt":"Say sentence %d.","response":%q,"source":"toy"}`+"\n", i, s)
		fmt.Fprintf(&sft, `{"task":"repeat","prompt":"Repeat: %s","response":%q,"source":"toy"}`+"\n", s, s)
	}
	for _, name := range []string{"sft-train.jsonl", "sft-heldout.jsonl"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sft.String()), 0o644))
	}
	return dir
}

func runTrain(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestTrainResumeAndFineTune(t *testing.T) {
	data := toyCorpus(t)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	model := filepath.Join(t.TempDir(), "base.bin")
	tiny := []string{"--data", data, "--ckpt-dir", ckpt, "--out", model, "--d-model", "32", "--layers", "2",
		"--heads", "4", "--kv-heads", "2", "--hidden", "48", "--batch", "4", "--seq", "24", "--warmup", "2",
		"--eval-every", "4", "--eval-batches", "1", "--log-every", "2", "--samples", "2", "--threads", "2"}

	out, err := runTrain(t, append(tiny, "--ar-steps", "4", "--steps", "8")...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "eval step 4 tokens 384 ar")
	assert.Contains(t, out, "eval step 8 tokens 768 llada")
	assert.Contains(t, out, "samples step 8:")
	for _, f := range []string{"state.bin", "loss.png"} {
		assert.FileExists(t, filepath.Join(ckpt, f))
	}
	m, err := engine.LoadFile(model)
	require.NoError(t, err)
	assert.Equal(t, 32, m.Config.DModel)
	assert.Equal(t, 2, m.Config.NKVHeads)
	assert.NotNil(t, m.Tokenizer)

	// A second fresh run may not overwrite the first.
	_, err = runTrain(t, append(tiny, "--steps", "8")...)
	assert.ErrorContains(t, err, "already holds a run")

	// Resuming lengthens the same run: its settings come from the state.
	out, err = runTrain(t, "--data", data, "--ckpt-dir", ckpt, "--resume", "--steps", "10", "--eval-every", "5", "--samples", "2")
	require.NoError(t, err, out)
	assert.Contains(t, out, "from step 8")
	assert.Contains(t, out, "done: 10 steps, 960 tokens")
	st, err := trainer.ReadState(filepath.Join(ckpt, "state.bin"))
	require.NoError(t, err)
	assert.Equal(t, 10, st.Step)

	// SFT from the base model: the canvas is sized from the prompts.
	out, err = runTrain(t, "--data", data, "--ckpt-dir", filepath.Join(t.TempDir(), "sft"), "--objective", "sft",
		"--init", model, "--resp-len", "40", "--batch", "2", "--steps", "2", "--eval-every", "2", "--eval-batches", "1", "--samples", "2")
	require.NoError(t, err, out)
	assert.Contains(t, out, "eval step 2 tokens")
	assert.Contains(t, out, "sample step 2: Say sentence")

	// --tasks keeps only the pairs of the tasks named, held-out ones too.
	out, err = runTrain(t, "--data", data, "--ckpt-dir", filepath.Join(t.TempDir(), "sft"), "--objective", "sft",
		"--init", model, "--resp-len", "40", "--batch", "2", "--steps", "2", "--eval-every", "2", "--eval-batches", "1",
		"--samples", "2", "--tasks", "repeat")
	require.NoError(t, err, out)
	assert.Contains(t, out, "sample step 2: Repeat:")
	assert.NotContains(t, out, "Say sentence")
}

func TestTrainRejectsBadFlags(t *testing.T) {
	data := toyCorpus(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--objective", "gpt"}, "--objective"},
		{[]string{"--ar-steps", "5", "--objective", "ar"}, "--ar-steps"},
		{[]string{"--ar-steps", "10", "--steps", "10"}, "--steps"},
		{[]string{"--objective", "sft"}, "needs exactly one of --init"},
		{[]string{"--objective", "ar-sft", "--init", "base.bin", "--scratch"}, "needs exactly one of --init"},
		{[]string{"--scratch"}, "--scratch needs --objective sft or ar-sft"},
		{[]string{"--objective", "sft", "--scratch", "--resp-len", "-1"}, "--resp-len"},
		{[]string{"--lr", "0"}, "--lr"},
		{[]string{"--tasks", "repeat"}, "--tasks needs --objective sft or ar-sft"},
		{[]string{"--tasks", " , "}, "no task named"},
		{[]string{"--objective", "sft", "--init", "base.bin", "--tasks", "define"}, "no pairs of the tasks define"},
		{[]string{"--seq", "400"}, "max_sequence_length"},
		{[]string{"--resume"}, "resume"},
		{[]string{"stray"}, "unexpected argument"},
		{[]string{"--data", t.TempDir()}, "tokenizer.json"},
	} {
		args := append([]string{"--data", data, "--ckpt-dir", filepath.Join(t.TempDir(), "c"), "--d-model", "32",
			"--layers", "1", "--heads", "2", "--hidden", "32", "--max-seq", "64", "--steps", "1"}, tc.args...)
		_, err := runTrain(t, args...)
		assert.ErrorContains(t, err, tc.want, "args %v", tc.args)
	}
}

// factCorpus writes a pairs-only corpus as corpus --reversal lays it out:
// a word-level tokenizer without a chat template, statements (empty
// prompts) and QA pairs, and no token streams.
func factCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tok, err := words.New([]string{"Who", "Whose", "is", "'s", "mentor", "?", ".", "Kado", "Misu", "Tore", "Vali"}, []string{"eos", "mask"})
	require.NoError(t, err)
	raw, err := json.Marshal(tok)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644))
	pairs := `{"task":"statement","prompt":"","response":"Kado's mentor is Misu."}
{"task":"forward","prompt":"Who is Kado's mentor?","response":"Misu"}
{"task":"backward","prompt":"Whose mentor is Misu?","response":"Kado"}
{"task":"statement","prompt":"","response":"Tore's mentor is Vali."}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sft-train.jsonl"), []byte(pairs), 0o644))
	held := `{"task":"forward","prompt":"Who is Tore's mentor?","response":"Vali"}
{"task":"backward","prompt":"Whose mentor is Vali?","response":"Tore"}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sft-heldout.jsonl"), []byte(held), 0o644))
	return dir
}

// The two objectives of the reversal models, from scratch on the same
// pairs: the masked-diffusion one writes a diffusion model, the next-token
// one a causal model.
func TestTrainPairsFromScratch(t *testing.T) {
	data := factCorpus(t)
	for _, tc := range []struct {
		objective string
		causal    bool
	}{{"sft", false}, {"ar-sft", true}} {
		model := filepath.Join(t.TempDir(), tc.objective+".unmask")
		out, err := runTrain(t, "--data", data, "--ckpt-dir", filepath.Join(t.TempDir(), "c"), "--out", model,
			"--objective", tc.objective, "--scratch", "--resp-len", "0", "--seq", "8", "--max-seq", "8", "--batch", "4",
			"--steps", "3", "--eval-every", "3", "--eval-batches", "1", "--samples", "2",
			"--d-model", "32", "--layers", "1", "--heads", "2", "--hidden", "32")
		require.NoError(t, err, out)
		assert.Contains(t, out, "done: 3 steps", tc.objective)
		m, err := engine.LoadFile(model)
		require.NoError(t, err)
		assert.Equal(t, tc.causal, m.Config.Causal, tc.objective)
		assert.Equal(t, []int{7, 3, 4, 2, 8, 6}, m.Tokenizer.Encode("Kado's mentor is Misu."), "the word-level tokenizer travels in the model file")
	}
}

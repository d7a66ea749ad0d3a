package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/quant"
	"unmask/tools/internal/textstats"
)

// evalParagraphs are the held-out text of the fixture corpus: each long
// enough to give a generation prompt.
var evalParagraphs = []string{
	"It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
	"However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is well fixed in the minds of the families.",
	"In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.",
	"And God said, Let there be light: and there was light. And God saw the light, that it was good: and God divided the light from the darkness.",
	"The family of Dashwood had long been settled in Sussex. Their estate was large, and their residence was at Norland Park, in the centre of their property.",
	"Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some of the best blessings of existence.",
}

// evalSFT are held-out instruction pairs of each kind tools/corpus writes.
var evalSFT = []sftPair{
	{"fill", "Fill the blank: the ___ and the earth.", "the heaven and the earth."},
	{"previous", "Before: And there was light.", "And God said, Let there be light."},
	{"words", "Use these words in one sentence: light, good.", "God saw the light, that it was good."},
	{"continue", "Continue: Emma Woodhouse,", "handsome, clever, and rich."},
	{"source", "Where from? And God said.", "Genesis."},
}

type evalFixture struct {
	data, model, zero, dict string
	tok                     *bpe.Tokenizer
}

// newEvalFixture writes a corpus folder as tools/corpus lays it out (two
// documents of three paragraphs, repeated), a tiny random model with the
// corpus tokenizer, the same model with every weight zero, and a word
// list.
func newEvalFixture(t *testing.T) evalFixture {
	t.Helper()
	dir := t.TempDir()
	f := evalFixture{data: filepath.Join(dir, "corpus"), model: filepath.Join(dir, "tiny.bin"), zero: filepath.Join(dir, "zero.bin"), dict: filepath.Join(dir, "words")}
	require.NoError(t, os.Mkdir(f.data, 0o755))
	tok, err := bpe.Train(slices.Values(evalParagraphs), 320, bpe.DefaultSpecials)
	require.NoError(t, err)
	f.tok = tok
	write := func(name string, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(f.data, name), data, 0o644))
	}
	raw, err := json.Marshal(tok)
	require.NoError(t, err)
	write("tokenizer.json", raw)

	eos, _ := tok.Special("eos")
	var bin, idx bytes.Buffer
	var txt strings.Builder
	n := 0
	for range 3 {
		for doc := range 2 {
			for i, p := range evalParagraphs[3*doc : 3*doc+3] {
				if i > 0 {
					binary.Write(&bin, binary.LittleEndian, uint16(10))
					n++
				}
				binary.Write(&idx, binary.LittleEndian, uint32(n))
				fmt.Fprintln(&txt, p)
				for _, id := range tok.Encode(p) {
					binary.Write(&bin, binary.LittleEndian, uint16(id))
					n++
				}
			}
			binary.Write(&bin, binary.LittleEndian, uint16(eos))
			n++
		}
	}
	write("heldout.bin", bin.Bytes())
	write("heldout.idx", idx.Bytes())
	write("heldout.txt", []byte(txt.String()))
	var sft strings.Builder
	for _, p := range evalSFT {
		line, err := json.Marshal(map[string]string{"task": p.Task, "prompt": p.Prompt, "response": p.Response, "source": "fixture"})
		require.NoError(t, err)
		fmt.Fprintln(&sft, string(line))
	}
	write("sft-heldout.jsonl", []byte(sft.String()))
	require.NoError(t, os.WriteFile(f.dict, []byte("the\nand\nlight\ngod\nearth\nman\n"), 0o644))

	m := tinyModel(tok, 7, 0)
	writeModel(t, f.model, m)
	zero := tinyModel(tok, 7, 0)
	for _, ts := range zero.Weights.Tensors() {
		if ts.Matrix != nil {
			*ts.Matrix = quant.NewF32(make([]float32, ts.Shape[0]*ts.Shape[1]), ts.Shape[0], ts.Shape[1])
		}
	}
	writeModel(t, f.zero, zero)
	return f
}

// tinyModel is a random model for tok with an embedding of V rows (0: the
// tokenizer's vocabulary).
func tinyModel(tok *bpe.Tokenizer, seed uint64, V int) *engine.Model {
	mask, _ := tok.Special("mask")
	eos, _ := tok.Special("eos")
	if V == 0 {
		V = tok.VocabSize()
	}
	m := engine.RandomModel(engine.Config{DModel: 16, NHeads: 2, NKVHeads: 2, NLayers: 1, MLPHiddenSize: 24,
		VocabSize: V, EmbeddingSize: V, RopeTheta: 10000, RMSNormEps: 1e-5, MaxSequenceLen: 128,
		MaskTokenID: mask, EOSTokenID: eos, PadTokenID: eos}, seed)
	m.Tokenizer = tok
	return m
}

func writeModel(t *testing.T, path string, m *engine.Model) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, m.Encode(&b))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// smallEval are flags that keep a fixture run short.
func (f evalFixture) smallEval(model string, extra ...string) []string {
	return append([]string{"eval", "--model", model, "--data", f.data, "--dict", f.dict,
		"--windows", "6", "--seq", "32", "--mc", "4", "--mc-batch", "2",
		"--prompts", "4", "--show", "2", "--steps", "8", "--gen-length", "16", "--block-length", "16",
		"--sft-examples", "3", "--sft-prompts", "5", "--resp-len", "32"}, extra...)
}

func evalJSON(t *testing.T, args ...string) (evalReport, string) {
	t.Helper()
	code, stdout, stderr := llada(args...)
	require.Zero(t, code, stderr)
	var rep evalReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	return rep, stderr
}

func TestEvalReport(t *testing.T) {
	f := newEvalFixture(t)
	rep, stderr := evalJSON(t, f.smallEval(f.model, "--sft")...)
	assert.Contains(t, stderr, "held-out negative ELBO")
	assert.Equal(t, tinyModel(f.tok, 7, 0).Params(), rep.Params)
	assert.Equal(t, "f32", rep.DType)

	h := rep.Heldout
	require.NotNil(t, h)
	assert.Equal(t, 6, h.Windows)
	assert.Equal(t, 32, h.WindowTokens)
	// A random model is no better than chance by much: between a third
	// and three times log V nats per token.
	logV := math.Log(float64(f.tok.VocabSize()))
	assert.Greater(t, h.NELBO, logV/3)
	assert.Less(t, h.NELBO, 3*logV)
	assert.Greater(t, h.NELBOStderr, 0.0)
	assert.InDelta(t, math.Exp(h.NELBO), h.PerplexityBound, 1e-9*h.PerplexityBound)
	require.Len(t, h.Accuracy, 3)
	for i, a := range h.Accuracy {
		assert.Equal(t, accuracyRatios[i], a.T)
		assert.Greater(t, a.Masked, 0)
		assert.GreaterOrEqual(t, a.Accuracy, 0.0)
		assert.LessOrEqual(t, a.Accuracy, 1.0)
		assert.Greater(t, a.NLL, 0.0)
	}
	// More masks at a higher ratio: about t·windows·seq of them.
	assert.Less(t, h.Accuracy[0].Masked, h.Accuracy[1].Masked)
	assert.Less(t, h.Accuracy[1].Masked, h.Accuracy[2].Masked)

	g := rep.Generation
	require.NotNil(t, g)
	assert.Equal(t, 4, g.Prompts)
	assert.Equal(t, "low_confidence", g.Remasking)
	require.Len(t, g.Samples, 2)
	for _, s := range g.Samples {
		words := strings.Fields(s.Prompt)
		assert.GreaterOrEqual(t, len(words), promptWords)
		assert.LessOrEqual(t, len(words), promptWords+promptExtraWords)
		assert.True(t, slices.ContainsFunc(evalParagraphs, func(p string) bool { return strings.HasPrefix(p, s.Prompt) }), s.Prompt)
	}
	for _, share := range []float64{g.Distinct2, g.EndsWithEOS} {
		assert.GreaterOrEqual(t, share, 0.0)
		assert.LessOrEqual(t, share, 1.0)
	}
	assert.GreaterOrEqual(t, g.DictionaryShare, -1.0)
	assert.LessOrEqual(t, g.DictionaryShare, 1.0)
	assert.InDelta(t, float64(g.Words)/4, g.WordsPerSample, 1e-12)

	s := rep.SFT
	require.NotNil(t, s)
	assert.Equal(t, 3, s.Examples)
	assert.Equal(t, 32, s.ResponseTokens)
	assert.Greater(t, s.NELBO, 0.0)
	assert.Equal(t, 5, s.Prompts)
	assert.Len(t, s.Samples, 2)
	require.Len(t, s.Tasks, 5)
	for task, tr := range s.Tasks {
		assert.Equal(t, 1, tr.N, task)
		assert.Equal(t, exactTasks[task], tr.ExactMatch != nil, task)
		assert.Equal(t, task == "words", tr.GivenWordsUsed != nil, task)
		assert.Equal(t, task == "words", tr.GivenWordsInOrder != nil, task)
		assert.GreaterOrEqual(t, tr.WordF1, 0.0)
		assert.LessOrEqual(t, tr.WordF1, 1.0)
	}
}

// TestEvalDeterministic: the numbers depend on the seed only, not on how
// many sequences run at once.
func TestEvalDeterministic(t *testing.T) {
	f := newEvalFixture(t)
	strip := func(r evalReport) evalReport {
		r.Seconds, r.Threads = nil, 0
		return r
	}
	one, _ := evalJSON(t, f.smallEval(f.model, "--threads", "1", "--sft")...)
	two, _ := evalJSON(t, f.smallEval(f.model, "--threads", "3", "--sft")...)
	assert.Equal(t, strip(one), strip(two))
	other, _ := evalJSON(t, f.smallEval(f.model, "--seed", "2")...)
	assert.NotEqual(t, one.Heldout.NELBO, other.Heldout.NELBO)
}

// TestEvalZeroModel: a model whose weights are all zero predicts the
// uniform distribution, so every masked token costs log V nats, and the
// l/k weighting of each sample turns its k masked tokens into exactly l
// tokens' worth: the estimate is log V per token for every draw, with and
// without a prompt.
func TestEvalZeroModel(t *testing.T) {
	f := newEvalFixture(t)
	rep, _ := evalJSON(t, f.smallEval(f.zero, "--sft", "--prompts", "0", "--sft-prompts", "0")...)
	logV := math.Log(float64(f.tok.VocabSize()))
	assert.InDelta(t, logV, rep.Heldout.NELBO, 1e-9)
	assert.InDelta(t, 0, rep.Heldout.NELBOStderr, 1e-9)
	for _, a := range rep.Heldout.Accuracy {
		assert.InDelta(t, logV, a.NLL, 1e-9)
	}
	assert.InDelta(t, logV, rep.SFT.NELBO, 1e-9)
	assert.Nil(t, rep.Generation)
}

func TestEvalRejects(t *testing.T) {
	f := newEvalFixture(t)
	other, err := bpe.Train(slices.Values([]string{"zebra quagga okapi", "xylophone jazz quiz"}), 320, bpe.DefaultSpecials)
	require.NoError(t, err)
	otherModel := filepath.Join(t.TempDir(), "other.bin")
	// Its embedding holds every id of the held-out stream, so only the
	// tokenizer check can tell.
	writeModel(t, otherModel, tinyModel(other, 1, f.tok.VocabSize()))
	base := []string{"eval", "--model", f.model, "--data", f.data, "--dict", f.dict}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--data", f.data}, "--model is required"},
		{append(base, "--windows", "-1"), "--windows"},
		{append(base, "--mc", "0"), "--mc"},
		{append(base, "--mc", "10", "--mc-batch", "3"), "--mc-batch"},
		{append(base, "--seq", "129"), "max_sequence_length"},
		{append(base, "--threads", "0"), "--threads"},
		{append(base, "--remasking", "sideways"), "remasking"},
		{append(base, "--block-length", "24"), "block_length"},
		{append(base, "--cfg", "-1"), "cfg scale"},
		{append(base, "--sft", "--resp-len", "40", "--block-length", "16"), "--resp-len 40"},
		{append(base, "--gen-length", "128"), "no room"},
		{append(base, "--bogus"), "bogus"},
		{append(base, "extra"), "unexpected argument"},
		{[]string{"eval", "--model", f.model, "--data", t.TempDir(), "--dict", f.dict}, "make corpus"},
		{[]string{"eval", "--model", f.model, "--data", f.data, "--dict", filepath.Join(t.TempDir(), "none")}, "word list"},
		{[]string{"eval", "--model", otherModel, "--data", f.data, "--dict", f.dict}, "another tokenizer"},
	} {
		code, stdout, stderr := llada(tc.args...)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Empty(t, stdout, "%v", tc.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "%v: %q", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, "%v", tc.args)
	}
}

func TestGivenWordsInOrder(t *testing.T) {
	p := sftPair{Task: "words", Prompt: "Write a sentence using these words in this order: marriage, soon, afterwards."}
	given := givenWords(p)
	require.Equal(t, []string{"marriage", "soon", "afterwards"}, given)
	tests := []struct {
		answer string
		want   bool
	}{
		{"By his marriage, which happened soon afterwards, he grew rich.", true},
		{"Soon afterwards came the marriage.", false},
		{"His marriage was soon over.", false},
		{"Marriage soon, marriage afterwards.", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, inOrder(textstats.Words(tt.answer), given), tt.answer)
	}
	assert.Nil(t, givenWords(sftPair{Task: "fill", Prompt: "Fill in the blanks: a ___ b."}))
}

// A causal model's held-out score is its exact likelihood of each window's
// tokens after the first: with every weight zero it is log V per token;
// with random weights it matches the engine's CausalNLL summed over the
// windows by hand. Its samples decode left to right. The diffusion
// models' bound over the same tokens (--given-first) is also log V for
// the zero model.
func TestEvalCausalModel(t *testing.T) {
	f := newEvalFixture(t)
	causal := func(path string, zero bool) *engine.Model {
		m := tinyModel(f.tok, 7, 0)
		m.Config.Causal = true
		if zero {
			for _, ts := range m.Weights.Tensors() {
				if ts.Matrix != nil {
					*ts.Matrix = quant.NewF32(make([]float32, ts.Shape[0]*ts.Shape[1]), ts.Shape[0], ts.Shape[1])
				}
			}
		}
		writeModel(t, path, m)
		return m
	}
	dir := t.TempDir()
	logV := math.Log(float64(f.tok.VocabSize()))

	zeroPath := filepath.Join(dir, "zero.bin")
	causal(zeroPath, true)
	rep, stderr := evalJSON(t, f.smallEval(zeroPath, "--prompts", "0")...)
	assert.Contains(t, stderr, "held-out negative log-likelihood")
	require.NotNil(t, rep.Heldout.NLL)
	assert.InDelta(t, logV, rep.Heldout.NLL.Mean, 1e-9)
	assert.Zero(t, rep.Heldout.NELBO)
	assert.Empty(t, rep.Heldout.Accuracy)

	path := filepath.Join(dir, "causal.bin")
	m := causal(path, false)
	rep, _ = evalJSON(t, f.smallEval(path)...)
	h := rep.Heldout
	require.NotNil(t, h.NLL)
	assert.Equal(t, 6, h.Windows)
	ev := &evaluator{cfg: evalConfig{windows: 6, seq: 32}, m: m, data: &evalData{tokens: heldoutTokens(t, f)}}
	windows, err := ev.windows()
	require.NoError(t, err)
	st := engine.NewState(m, 32)
	var sum float64
	for _, w := range windows {
		nll, _, err := st.CausalNLL(w)
		require.NoError(t, err)
		sum += nll / 31
	}
	assert.InDelta(t, sum/6, h.NLL.Mean, 1e-9)
	assert.InDelta(t, math.Exp(h.NLL.Mean), h.NLL.Perplexity, 1e-9*h.NLL.Perplexity)
	assert.Greater(t, h.NLL.Stderr, 0.0)
	g := rep.Generation
	require.NotNil(t, g)
	assert.Zero(t, g.Steps)
	assert.Empty(t, g.Remasking)
	assert.Len(t, g.Samples, 2)

	rep, stderr = evalJSON(t, f.smallEval(f.zero, "--given-first", "--prompts", "0")...)
	require.NotNil(t, rep.Heldout.GivenFirst)
	assert.InDelta(t, logV, rep.Heldout.GivenFirst.Mean, 1e-9)
	assert.Contains(t, stderr, "given each window's first token")

	for _, flag := range []string{"--sft", "--given-first"} {
		code, _, stderr := llada(f.smallEval(path, flag)...)
		assert.Equal(t, 2, code, flag)
		assert.Contains(t, stderr, "causal", flag)
	}
}

// heldoutTokens reads the fixture's held-out stream.
func heldoutTokens(t *testing.T, f evalFixture) []int {
	raw, err := os.ReadFile(filepath.Join(f.data, "heldout.bin"))
	require.NoError(t, err)
	out := make([]int, len(raw)/2)
	for i := range out {
		out[i] = int(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return out
}

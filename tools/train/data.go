package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"unmask/engine"
	"unmask/tools/train/trainer"
)

// corpus is the data a run trains and evaluates on: the token streams
// written by tools/corpus and, for SFT, the instruction pairs.
type corpus struct {
	tok              tokenizer
	train, heldout   []int32 // token streams
	paragraphs       []int   // held-out token offsets where paragraphs start
	sftTrain, sftDev []trainer.Example
	sftDevText       []string // the held-out SFT prompts as text
}

// tokenizer is what the trainer needs of the corpus's tokenizer (byte-level
// BPE, or word-level for the synthetic fact sets).
type tokenizer interface {
	engine.Tokenizer
	VocabSize() int
}

// loadCorpus reads the corpus folder: the token streams, unless onlyPairs
// (an objective that trains on the pairs alone); with sft also the
// instruction pairs, only those of the named tasks when tasks is not
// empty.
func loadCorpus(dir string, sft, onlyPairs bool, respLen int, tasks []string) (*corpus, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w (build it with go run ./tools/corpus)", err)
	}
	stored, err := engine.UnmarshalTokenizer(raw)
	if err != nil {
		return nil, fmt.Errorf("corpus: tokenizer.json: %w", err)
	}
	tok, ok := stored.(tokenizer)
	if !ok {
		return nil, fmt.Errorf("corpus: tokenizer.json: %T has no vocabulary size", stored)
	}
	c := &corpus{tok: tok}
	if err := c.readStreams(dir, onlyPairs); err != nil {
		return nil, err
	}
	if sft {
		if c.sftTrain, _, err = c.readSFT(filepath.Join(dir, "sft-train.jsonl"), respLen, tasks); err != nil {
			return nil, err
		}
		if c.sftDev, c.sftDevText, err = c.readSFT(filepath.Join(dir, "sft-heldout.jsonl"), respLen, tasks); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// readStreams reads the training and held-out token streams and where the
// held-out paragraphs start; with onlyPairs, nothing.
func (c *corpus) readStreams(dir string, onlyPairs bool) error {
	if onlyPairs {
		return nil
	}
	var err error
	if c.train, err = readTokens(filepath.Join(dir, "train.bin"), c.tok.VocabSize()); err != nil {
		return err
	}
	if c.heldout, err = readTokens(filepath.Join(dir, "heldout.bin"), c.tok.VocabSize()); err != nil {
		return err
	}
	c.paragraphs, err = readOffsets(filepath.Join(dir, "heldout.idx"), len(c.heldout))
	return err
}

// readTokens reads little-endian uint16 token ids, checking each against
// the vocabulary.
func readTokens(path string, vocab int) ([]int32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if len(data)%2 != 0 || len(data) == 0 {
		return nil, fmt.Errorf("corpus: %s has %d bytes, want a non-empty even number", path, len(data))
	}
	out := make([]int32, len(data)/2)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint16(data[2*i:]))
		if int(out[i]) >= vocab {
			return nil, fmt.Errorf("corpus: %s token %d at %d outside the vocabulary of %d", path, out[i], i, vocab)
		}
	}
	return out, nil
}

func readOffsets(path string, n int) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	out := make([]int, len(data)/4)
	for i := range out {
		out[i] = int(binary.LittleEndian.Uint32(data[4*i:]))
		if out[i] >= n {
			return nil, fmt.Errorf("corpus: %s offset %d past the %d tokens", path, out[i], n)
		}
	}
	return out, nil
}

// readSFT tokenises instruction pairs: the prompt in the chat template,
// the response as is (FillSFT pads it with EOS). Pairs whose response does
// not fit respLen with at least one EOS are refused. With tasks, pairs of
// other tasks are skipped.
func (c *corpus) readSFT(path string, respLen int, tasks []string) ([]trainer.Example, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	var out []trainer.Example
	var prompts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var pair struct{ Task, Prompt, Response string }
		if err := json.Unmarshal(sc.Bytes(), &pair); err != nil {
			return nil, nil, fmt.Errorf("corpus: %s line %d: %w", path, line, err)
		}
		if len(tasks) > 0 && !slices.Contains(tasks, pair.Task) {
			continue
		}
		// The chat template where the tokenizer has one (the fact sets'
		// word-level tokenizer has none: their prompts are plain text).
		prompt := c.tok.Encode(pair.Prompt)
		if chat, err := engine.ChatIDs(c.tok, prompt); err == nil {
			prompt = chat
		} else if !errors.Is(err, engine.ErrNoChat) {
			return nil, nil, err
		}
		resp := c.tok.Encode(pair.Response)
		if respLen > 0 && len(resp) >= respLen {
			return nil, nil, fmt.Errorf("corpus: %s line %d: response of %d tokens does not fit --resp-len %d", path, line, len(resp), respLen)
		}
		out = append(out, trainer.Example{Prompt: int32s(prompt), Response: int32s(resp)})
		prompts = append(prompts, pair.Prompt)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("corpus: %s: %w", path, err)
	}
	if len(out) == 0 {
		if len(tasks) > 0 {
			return nil, nil, fmt.Errorf("corpus: %s has no pairs of the tasks %s", path, strings.Join(tasks, ", "))
		}
		return nil, nil, fmt.Errorf("corpus: %s has no pairs", path)
	}
	return out, prompts, nil
}

func int32s(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, v := range ids {
		out[i] = int32(v)
	}
	return out
}

func ints(ids []int32) []int {
	out := make([]int, len(ids))
	for i, v := range ids {
		out[i] = int(v)
	}
	return out
}

// windows copies B random windows of n tokens from stream into dst (B, n).
func windows(dst, stream []int32, B, n int, rng *rand.Rand) {
	for s := range B {
		start := rng.IntN(len(stream) - n + 1)
		copy(dst[s*n:(s+1)*n], stream[start:start+n])
	}
}

// maxPrompt is the longest prompt of the SFT sets.
func (c *corpus) maxPrompt() int {
	m := 0
	for _, set := range [][]trainer.Example{c.sftTrain, c.sftDev} {
		for _, e := range set {
			m = max(m, len(e.Prompt))
		}
	}
	return m
}

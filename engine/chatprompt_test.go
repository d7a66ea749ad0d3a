package engine_test

import (
	"slices"
	"testing"

	"unmask/engine"
	"unmask/engine/bpe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ engine.Tokenizer = (*bpe.Tokenizer)(nil)

func TestChatPrompt(t *testing.T) {
	tok, err := bpe.Train(slices.Values([]string{"hello hello world"}), 300, bpe.DefaultSpecials)
	require.NoError(t, err)
	user, _ := tok.Special(bpe.User)
	assistant, _ := tok.Special(bpe.Assistant)
	got := engine.ChatPrompt(tok, "hello world")
	want := append(append([]int{user}, tok.Encode("hello world")...), assistant)
	if !slices.Equal(got, want) {
		require.Failf(t, "unexpected result", "ChatPrompt = %v, want %v", got, want)
	}

	plain, err := bpe.Train(slices.Values([]string{"hello"}), 300, []string{bpe.EOS})
	require.NoError(t, err)
	if got, want := engine.ChatPrompt(plain, "hello"), plain.Encode("hello"); !slices.Equal(got, want) {
		require.Failf(t, "unexpected result", "without chat specials ChatPrompt = %v, want %v", got, want)
	}
}

func TestPromptIDs(t *testing.T) {
	tok, err := bpe.Train(slices.Values([]string{"fill the blank here"}), 300, bpe.DefaultSpecials)
	require.NoError(t, err)
	mask, _ := tok.Special(bpe.Mask)
	user, _ := tok.Special(bpe.User)
	assistant, _ := tok.Special(bpe.Assistant)
	for _, tc := range []struct {
		name string
		text string
		chat bool
		want []int
	}{
		{"plain", "fill here", false, tok.Encode("fill here")},
		{"blank becomes masks", "fill ___ here", false, slices.Concat(tok.Encode("fill "), []int{mask, mask}, tok.Encode(" here"))},
		{"chat keeps the blank as text", "fill ___ here", true, slices.Concat([]int{user}, tok.Encode("fill ___ here"), []int{assistant})},
	} {
		got, err := engine.PromptIDs(tok, tc.text, tc.chat, 2, mask)
		if err != nil || !slices.Equal(got, tc.want) {
			assert.Failf(t, "unexpected result", "%s: PromptIDs = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	plain, err := bpe.Train(slices.Values([]string{"hello"}), 300, []string{bpe.EOS, bpe.Mask})
	require.NoError(t, err)
	if _, err := engine.PromptIDs(plain, "hello", true, 2, mask); err == nil {
		assert.Fail(t, "a chat prompt for a model without a chat template was accepted")
	}
}

func TestAnswer(t *testing.T) {
	const eos, mask = 90, 99
	for _, tc := range []struct {
		name           string
		prompt, canvas []int
		want           []int
	}{
		{"generated part cut at EOS", []int{1, 2}, []int{1, 2, 3, 4, eos, eos}, []int{3, 4}},
		{"no EOS", []int{1, 2}, []int{1, 2, 3, 4}, []int{3, 4}},
		{"EOS in the prompt is not the end", []int{eos, 2}, []int{eos, 2, 3, eos}, []int{3}},
		{"blanks show the whole canvas", []int{1, mask, 2}, []int{1, 5, 2, 3, eos}, []int{1, 5, 2, 3}},
		{"infill only", []int{mask, 2}, []int{7, 2}, []int{7, 2}},
		{"a stop leaves masks out", []int{1}, []int{1, 3, mask, 4, mask}, []int{3, 4}},
		{"empty answer", []int{1}, []int{1, eos, eos}, []int{}},
	} {
		if got := engine.Answer(tc.prompt, tc.canvas, eos, mask); !slices.Equal(got, tc.want) {
			assert.Failf(t, "unexpected result", "%s: Answer = %v, want %v", tc.name, got, tc.want)
		}
	}
}

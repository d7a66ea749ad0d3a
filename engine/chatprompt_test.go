package engine_test

import (
	"slices"
	"testing"

	"unmask/engine"
	"unmask/engine/bpe"
)

var _ engine.Tokenizer = (*bpe.Tokenizer)(nil)

func TestChatPrompt(t *testing.T) {
	tok, err := bpe.Train(slices.Values([]string{"hello hello world"}), 300, bpe.DefaultSpecials)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := tok.Special(bpe.User)
	assistant, _ := tok.Special(bpe.Assistant)
	got := engine.ChatPrompt(tok, "hello world")
	want := append(append([]int{user}, tok.Encode("hello world")...), assistant)
	if !slices.Equal(got, want) {
		t.Fatalf("ChatPrompt = %v, want %v", got, want)
	}

	plain, err := bpe.Train(slices.Values([]string{"hello"}), 300, []string{bpe.EOS})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := engine.ChatPrompt(plain, "hello"), plain.Encode("hello"); !slices.Equal(got, want) {
		t.Fatalf("without chat specials ChatPrompt = %v, want %v", got, want)
	}
}

package engine

import (
	"errors"
	"strings"
)

// Blank is how a prompt marks a gap to infill.
const Blank = "___"

// EncodeInfill encodes text in which each Blank stands for masks masked
// positions, returning ids with the mask token at every blank. Text
// without blanks encodes as usual.
func EncodeInfill(t Tokenizer, text string, masks, mask int) []int {
	parts := strings.Split(text, Blank)
	var ids []int
	for i, part := range parts {
		if i > 0 {
			for range masks {
				ids = append(ids, mask)
			}
		}
		if part != "" {
			ids = append(ids, t.Encode(part)...)
		}
	}
	return ids
}

// ErrNoChat reports a tokenizer without the chat template's special tokens.
var ErrNoChat = errors.New("the model's tokenizer has no chat template (user/assistant tokens)")

// ChatIDs wraps prompt ids in the chat template: the user token, the
// prompt, then the assistant token after which the answer is generated.
func ChatIDs(t Tokenizer, prompt []int) ([]int, error) {
	user, ok1 := t.Special("user")
	assistant, ok2 := t.Special("assistant")
	if !ok1 || !ok2 {
		return nil, ErrNoChat
	}
	ids := append([]int{user}, prompt...)
	return append(ids, assistant), nil
}

package engine

import "errors"

// Tokenizer turns text into token ids and back. Implementations are stored
// inside the model file (see package engine/bpe) and must be safe for
// concurrent use.
type Tokenizer interface {
	Encode(text string) []int
	Decode(ids []int) string
	// Token is the display text of one id (special tokens by name).
	Token(id int) string
	// Special returns the id of a special token ("mask", "eos", "user",
	// "assistant", ...) and whether the vocabulary has it.
	Special(name string) (int, bool)
}

// ErrNoChat reports a tokenizer without the chat template's special tokens.
var ErrNoChat = errors.New("the model's tokenizer has no chat template (user/assistant tokens)")

// ChatIDs wraps prompt ids in Unmask's chat template for one user turn:
//
//	<|user|> prompt <|assistant|>
//
// The model writes the reply after <|assistant|> and ends it with <|eos|>,
// which also pads the rest of the canvas.
func ChatIDs(t Tokenizer, prompt []int) ([]int, error) {
	user, ok1 := t.Special("user")
	assistant, ok2 := t.Special("assistant")
	if !ok1 || !ok2 {
		return nil, ErrNoChat
	}
	ids := append([]int{user}, prompt...)
	return append(ids, assistant), nil
}

// ChatPrompt is ChatIDs of the user text encoded as is (no extra spaces or
// newlines); without a chat template it is the plain encoding.
func ChatPrompt(t Tokenizer, user string) []int {
	ids := t.Encode(user)
	if chat, err := ChatIDs(t, ids); err == nil {
		return chat
	}
	return ids
}

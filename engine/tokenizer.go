package engine

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

// ChatPrompt is the prompt of Unmask's chat template for one user turn:
//
//	<|user|> user text <|assistant|>
//
// (the user text encoded as is, no extra spaces or newlines). The model
// writes the reply after <|assistant|> and ends it with <|eos|>, which also
// pads the rest of the canvas. A special token the vocabulary lacks is left
// out.
func ChatPrompt(t Tokenizer, user string) []int {
	var ids []int
	if id, ok := t.Special("user"); ok {
		ids = append(ids, id)
	}
	ids = append(ids, t.Encode(user)...)
	if id, ok := t.Special("assistant"); ok {
		ids = append(ids, id)
	}
	return ids
}

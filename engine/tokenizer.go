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

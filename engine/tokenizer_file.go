package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"unmask/engine/bpe"
	"unmask/engine/words"
)

// ErrTokenizerType reports a stored tokenizer this build cannot read.
var ErrTokenizerType = errors.New("unsupported tokenizer type")

// MarshalTokenizer encodes t for the model file header. The stored form is
// the implementation's own JSON object, whose "type" field names it
// (bpe.FormatName for byte-level BPE, words.FormatName for word-level).
func MarshalTokenizer(t Tokenizer) (json.RawMessage, error) {
	switch t := t.(type) {
	case *bpe.Tokenizer:
		return json.Marshal(t)
	case *words.Tokenizer:
		return json.Marshal(t)
	}
	return nil, fmt.Errorf("%w: %T cannot be stored", ErrTokenizerType, t)
}

// UnmarshalTokenizer decodes a tokenizer written by MarshalTokenizer.
func UnmarshalTokenizer(raw json.RawMessage) (Tokenizer, error) {
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	switch kind.Type {
	case bpe.FormatName:
		t := new(bpe.Tokenizer)
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		return t, nil
	case words.FormatName:
		t := new(words.Tokenizer)
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		return t, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrTokenizerType, kind.Type)
}

// checkTokenizer makes sure the tokenizer's ids fit the model: every id
// inside the embedding, and the mask and EOS tokens where the config has
// them.
func checkTokenizer(t Tokenizer, c *Config) error {
	if v, ok := t.(interface{ VocabSize() int }); ok && v.VocabSize() > c.EmbeddingSize {
		return fmt.Errorf("tokenizer has %d ids, the embedding only %d", v.VocabSize(), c.EmbeddingSize)
	}
	for _, s := range []struct {
		name string
		id   int
	}{{"mask", c.MaskTokenID}, {"eos", c.EOSTokenID}} {
		if id, ok := t.Special(s.name); ok && id != s.id {
			return fmt.Errorf("tokenizer's %s token is %d, config says %d", s.name, id, s.id)
		}
	}
	return nil
}

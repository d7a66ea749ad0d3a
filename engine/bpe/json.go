package bpe

import (
	"encoding/json"
	"fmt"
	"slices"
)

// FormatName and FormatVersion identify the JSON form of a Tokenizer.
const (
	FormatName    = "byte-bpe"
	FormatVersion = 1
)

// jsonTokenizer is the stored form: the merge table as a flat list of
// pairs (left0, right0, left1, right1, ...) and the special names in id
// order. Display strings and ranks are rebuilt on load.
type jsonTokenizer struct {
	Type         string   `json:"type"`
	Version      int      `json:"version"`
	Pretokenizer string   `json:"pretokenizer"`
	VocabSize    int      `json:"vocab_size"`
	Merges       []int    `json:"merges"`
	Specials     []string `json:"specials"`
}

const pretokenizerName = "gpt2"

// MarshalJSON writes the tokenizer's stored form.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	flat := make([]int, 0, 2*len(t.merges))
	for _, m := range t.merges {
		flat = append(flat, m.Left, m.Right)
	}
	return json.Marshal(jsonTokenizer{
		Type:         FormatName,
		Version:      FormatVersion,
		Pretokenizer: pretokenizerName,
		VocabSize:    t.VocabSize(),
		Merges:       flat,
		Specials:     t.specials,
	})
}

// UnmarshalJSON reads the stored form, checking it fully.
func (t *Tokenizer) UnmarshalJSON(data []byte) error {
	var j jsonTokenizer
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if j.Type != FormatName || j.Version != FormatVersion {
		return fmt.Errorf("%w: type %q version %d, want %q version %d", ErrFormat, j.Type, j.Version, FormatName, FormatVersion)
	}
	if j.Pretokenizer != pretokenizerName {
		return fmt.Errorf("%w: pre-tokeniser %q, want %q", ErrFormat, j.Pretokenizer, pretokenizerName)
	}
	if len(j.Merges)%2 != 0 {
		return fmt.Errorf("%w: merge list has odd length %d", ErrFormat, len(j.Merges))
	}
	merges := make([]Pair, len(j.Merges)/2)
	for i := range merges {
		merges[i] = Pair{j.Merges[2*i], j.Merges[2*i+1]}
	}
	if i := slices.Index(j.Specials, Mask); i >= 0 && i != len(j.Specials)-1 {
		return fmt.Errorf("%w: special token %q must take the last id", ErrFormat, Mask)
	}
	n, err := New(merges, j.Specials)
	if err != nil {
		return err
	}
	if j.VocabSize != n.VocabSize() {
		return fmt.Errorf("%w: vocab_size %d, but merges and specials make %d", ErrFormat, j.VocabSize, n.VocabSize())
	}
	*t = Tokenizer{
		merges:   n.merges,
		ranks:    n.ranks,
		pieces:   n.pieces,
		specials: n.specials,
		special:  n.special,
		cache:    n.cache,
	}
	return nil
}

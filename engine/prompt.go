package engine

import "strings"

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

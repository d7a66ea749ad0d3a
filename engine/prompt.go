package engine

import (
	"slices"
	"strings"
)

// Blank is how a prompt marks a gap to infill.
const Blank = "___"

// EncodeInfill encodes text in which each Blank stands for masks masked
// positions, returning ids with the mask token at every blank. Text
// without blanks encodes as usual. The space before a blank is left to the
// blank: the model writes a word with its leading space (" cat"), so a
// space kept in the prompt would be a token of its own and a double space
// in the text.
func EncodeInfill(t Tokenizer, text string, masks, mask int) []int {
	parts := strings.Split(text, Blank)
	var ids []int
	for i, part := range parts {
		if i > 0 {
			for range masks {
				ids = append(ids, mask)
			}
		}
		if i < len(parts)-1 {
			part = strings.TrimSuffix(part, " ")
		}
		if part != "" {
			ids = append(ids, t.Encode(part)...)
		}
	}
	return ids
}

// PromptIDs encodes what a person typed. Plain text has each Blank turned
// into blank masks for the model to infill. A chat prompt is wrapped in the
// chat template and keeps Blank as text: the instruct model is fine-tuned
// on questions that write blanks that way ("Fill in the blanks: ...") and
// never sees masks in a prompt.
func PromptIDs(t Tokenizer, text string, chat bool, blank, mask int) ([]int, error) {
	if chat {
		return ChatIDs(t, t.Encode(text))
	}
	return EncodeInfill(t, text, blank, mask), nil
}

// Answer is the part of a finished canvas a reader wants: what was
// generated after the prompt, cut at its first EOS (answers are padded
// with EOS), or, when the prompt had blanks, the canvas from its start so
// that the filled blanks show. Masks that a stopped run left are dropped.
func Answer(prompt, canvas []int, eos, mask int) []int {
	generated := min(len(prompt), len(canvas)) // where the generated part starts
	start := generated
	if slices.Contains(prompt, mask) {
		start = 0
	}
	end := len(canvas)
	if i := slices.Index(canvas[generated:], eos); i >= 0 {
		end = generated + i
	}
	out := make([]int, 0, end-start)
	for _, id := range canvas[start:end] {
		if id != mask {
			out = append(out, id)
		}
	}
	return out
}

// Package reversal asks the reversal-curse models their held-out
// questions: the question file (reversal-questions.json, written by corpus
// --reversal), the generation options an answer is read with, and how an
// answer is scored. `llada reversal` and the page's reversal view both use
// it, so the page's 2x2 table counts exactly what the command counts.
package reversal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"unmask/engine"
)

// File is the name of the questions file shipped beside the models.
const File = "reversal-questions.json"

// ErrQuestions reports a questions file that cannot be asked.
var ErrQuestions = errors.New("reversal questions")

// Set is the part of reversal-questions.json the evaluation reads.
type Set struct {
	Statement string `json:"statement"` // how a training fact reads: fmt with the two names
	Forward   []Item `json:"forward"`
	Backward  []Item `json:"backward"`
	Canvas    int    `json:"canvas"` // question + answer + EOS padding, in tokens
}

// Item is one question and the name that answers it.
type Item struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Parse reads and checks a questions file: the same number of questions
// each way, at least one, and a canvas of at least two tokens.
func Parse(data []byte) (*Set, error) {
	var set Set
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrQuestions, err)
	}
	switch {
	case len(set.Forward) == 0 || len(set.Forward) != len(set.Backward):
		return nil, fmt.Errorf("%w: %d forward and %d backward questions, want the same number, at least one", ErrQuestions, len(set.Forward), len(set.Backward))
	case set.Canvas < 2:
		return nil, fmt.Errorf("%w: canvas %d, want at least 2", ErrQuestions, set.Canvas)
	}
	return &set, nil
}

// Options are the generation options a question of prompt tokens is
// asked with, as the models were trained to answer: the rest of the canvas
// to fill; a diffusion model fills it as one block, one token per step,
// argmax, low-confidence remasking; a causal model reads only GenLength
// and decodes greedily, left to right until EOS.
func Options(prompt, canvas int) (engine.Options, error) {
	gen := canvas - prompt
	if gen < 1 {
		return engine.Options{}, fmt.Errorf("%w: the question takes %d tokens, the canvas %d", ErrQuestions, prompt, canvas)
	}
	return engine.Options{Steps: gen, GenLength: gen, BlockLength: gen, Remasking: engine.LowConfidence}, nil
}

// AnswerText is the answer a generation gives: the text written before
// the first EOS (engine.Answer), without surrounding spaces.
func AnswerText(m *engine.Model, prompt, canvas []int) string {
	return Clean(m.Tokenizer.Decode(engine.Answer(prompt, canvas, m.Config.EOSTokenID, m.Config.MaskTokenID)))
}

// Clean is the answer in decoded text (the worker's Done.Text) as it is
// compared: without surrounding spaces.
func Clean(text string) string { return strings.TrimSpace(text) }

// Correct says whether an answer is the expected name: exact match.
func Correct(answer string, it Item) bool { return Clean(answer) == it.Answer }

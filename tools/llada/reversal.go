package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"unmask/engine"
)

func init() {
	commands["reversal"] = command{"ask a reversal-curse model its held-out questions both ways; prints {forward, backward, questions} as JSON", runReversal}
}

// questionsFile is the evaluation questions shipped beside the reversal
// models (written by corpus --reversal).
const questionsFile = "reversal-questions.json"

// ErrQuestions reports a questions file that cannot be asked.
var ErrQuestions = errors.New("reversal questions")

// reversalSet is the part of reversal-questions.json the evaluation reads.
type reversalSet struct {
	Forward  []reversalItem `json:"forward"`
	Backward []reversalItem `json:"backward"`
	Canvas   int            `json:"canvas"` // question + answer + EOS padding, in tokens
}

type reversalItem struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

func runReversal(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reversal")
	modelPath := fs.String("model", "", "model file (diffusion or causal)")
	questions := fs.String("questions", "", "questions file (default: "+questionsFile+" beside the model)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	if m.Tokenizer == nil {
		return fmt.Errorf("%w: the model has no tokenizer", ErrQuestions)
	}
	if *questions == "" {
		*questions = filepath.Join(filepath.Dir(*modelPath), questionsFile)
	}
	set, err := readReversalSet(*questions)
	if err != nil {
		return err
	}
	st := engine.NewState(m, 0)
	acc := map[string]float64{}
	for _, dir := range []struct {
		name  string
		items []reversalItem
	}{{"forward", set.Forward}, {"backward", set.Backward}} {
		right := 0
		for _, q := range dir.items {
			got, err := askReversal(st, q.Question, set.Canvas)
			if err != nil {
				return err
			}
			if got == q.Answer {
				right++
			}
		}
		acc[dir.name] = float64(right) / float64(len(dir.items))
	}
	return json.NewEncoder(stdout).Encode(map[string]any{
		"forward": acc["forward"], "backward": acc["backward"], "questions": len(set.Forward)})
}

// readReversalSet reads and checks a questions file: the same number of
// questions each way, at least one, and a canvas.
func readReversalSet(path string) (*reversalSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set reversalSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrQuestions, path, err)
	}
	switch {
	case len(set.Forward) == 0 || len(set.Forward) != len(set.Backward):
		return nil, fmt.Errorf("%w: %s has %d forward and %d backward questions, want the same number, at least one", ErrQuestions, path, len(set.Forward), len(set.Backward))
	case set.Canvas < 2:
		return nil, fmt.Errorf("%w: %s: canvas %d, want at least 2", ErrQuestions, path, set.Canvas)
	}
	return &set, nil
}

// askReversal asks one question as the models were trained to answer it:
// the question, then the rest of the canvas to fill (a diffusion model:
// one block, a token per step, argmax, low-confidence remasking; a causal
// model: greedy, left to right until EOS). The answer is the text written
// before the first EOS.
func askReversal(st *engine.State, question string, canvas int) (string, error) {
	m := st.Model
	prompt := m.Tokenizer.Encode(question)
	gen := canvas - len(prompt)
	if gen < 1 {
		return "", fmt.Errorf("%w: %q takes %d tokens, the canvas %d", ErrQuestions, question, len(prompt), canvas)
	}
	opts := engine.Options{Steps: gen, GenLength: gen, BlockLength: gen, Remasking: engine.LowConfidence}
	out, err := st.Generate(context.Background(), prompt, opts, nil)
	if err != nil {
		return "", err
	}
	answer := engine.Answer(prompt, out, m.Config.EOSTokenID, m.Config.MaskTokenID)
	return strings.TrimSpace(m.Tokenizer.Decode(answer)), nil
}

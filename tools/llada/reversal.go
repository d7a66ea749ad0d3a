package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"unmask/engine"
	"unmask/engine/reversal"
)

func init() {
	commands["reversal"] = command{"ask a reversal-curse model its held-out questions both ways; prints {forward, backward, questions} as JSON", runReversal}
}

// ErrQuestions reports a questions file that cannot be asked.
var ErrQuestions = reversal.ErrQuestions

func runReversal(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reversal")
	modelPath := fs.String("model", "", "model file (diffusion or causal)")
	questions := fs.String("questions", "", "questions file (default: "+reversal.File+" beside the model)")
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
		*questions = filepath.Join(filepath.Dir(*modelPath), reversal.File)
	}
	set, err := readReversalSet(*questions)
	if err != nil {
		return err
	}
	st := engine.NewState(m, 0)
	acc := map[string]float64{}
	for _, dir := range []struct {
		name  string
		items []reversal.Item
	}{{"forward", set.Forward}, {"backward", set.Backward}} {
		right := 0
		for _, q := range dir.items {
			got, err := askReversal(st, q.Question, set.Canvas)
			if err != nil {
				return err
			}
			if reversal.Correct(got, q) {
				right++
			}
		}
		acc[dir.name] = float64(right) / float64(len(dir.items))
	}
	return json.NewEncoder(stdout).Encode(map[string]any{
		"forward": acc["forward"], "backward": acc["backward"], "questions": len(set.Forward)})
}

// readReversalSet reads and checks a questions file (reversal.Parse).
func readReversalSet(path string) (*reversal.Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	set, err := reversal.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

// askReversal asks one question as the models were trained to answer it:
// the question, then the rest of the canvas to fill (a diffusion model:
// one block, a token per step, argmax, low-confidence remasking; a causal
// model: greedy, left to right until EOS). The answer is the text written
// before the first EOS.
func askReversal(st *engine.State, question string, canvas int) (string, error) {
	m := st.Model
	prompt := m.Tokenizer.Encode(question)
	opts, err := reversal.Options(len(prompt), canvas)
	if err != nil {
		return "", fmt.Errorf("%q: %w", question, err)
	}
	out, err := st.Generate(context.Background(), prompt, opts, nil)
	if err != nil {
		return "", err
	}
	return reversal.AnswerText(m, prompt, out), nil
}

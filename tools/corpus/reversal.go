package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"unmask/engine/words"
)

// The reversal set (corpus --reversal): invented people in pairs, one fact
// each ("A's mentor is B."), stated in training in that direction only.
// The question format is learned from QA pairs in both directions about
// the training facts; the evaluation facts appear in training only as
// statements and are asked both ways (the reversal curse's standard
// setup, Berglund et al. 2023). Every name is one token of a word-level
// tokenizer, so an answer is one token.
//
// Files written to --out:
//
//	tokenizer.json          the word-level tokenizer (package engine/words)
//	sft-train.jsonl         every statement (empty prompt) and the training
//	                        QA pairs, {"task","prompt","response","source"}
//	sft-heldout.jsonl       the evaluation questions, both directions
//	reversal-questions.json the evaluation questions as the page and
//	                        llada reversal ask them (reversalQuestions)

// Sentence templates of the one relation; forward asks for the second
// entity of a statement, backward for the first.
const (
	relation         = "mentor"
	statementFormat  = "%s's mentor is %s."
	forwardQuestion  = "Who is %s's mentor?"
	backwardQuestion = "Whose mentor is %s?"
)

// reversalOptions size the set.
type reversalOptions struct {
	Facts      int    // pairs of people, one fact each
	TrainQA    int    // facts also asked about, both ways, in training
	Seed       uint64 // names and the split
	MinPerSide int    // least evaluation questions per direction
}

// ErrReversal reports a fact set that cannot be built as asked.
var ErrReversal = errors.New("reversal set")

// fact relates two people: Subject's mentor is Object.
type fact struct{ Subject, Object string }

// reversalQuestion is one evaluation question and its answer entity.
type reversalQuestion struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// reversalQuestions is reversal-questions.json.
type reversalQuestions struct {
	Relation  string `json:"relation"`
	Statement string `json:"statement"` // how the facts were stated in training
	// Forward gives the first entity and asks for the second (the
	// direction of the statement), Backward the other way round.
	Forward  []reversalQuestion `json:"forward"`
	Backward []reversalQuestion `json:"backward"`
	// Canvas is the tokens the models were trained on: question + answer
	// + EOS padding.
	Canvas int `json:"canvas"`
}

// reversalCanvas is the training canvas in tokens: the longest question
// (6 tokens) + the answer + EOS.
const reversalCanvas = 8

// inventNames draws n distinct names of two or three syllables
// (consonant-vowel, sometimes a closing consonant), capitalised, none a
// word of the templates.
func inventNames(n int, rng *rand.Rand) []string {
	const onsets, vowels, codas = "bdfgklmnprstvz", "aeiou", "lnrsk"
	pick := func(s string) byte { return s[rng.IntN(len(s))] }
	seen := map[string]bool{"Who": true, "Whose": true, "Is": true}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range 2 + rng.IntN(2) {
			b.WriteByte(pick(onsets))
			b.WriteByte(pick(vowels))
			if rng.IntN(3) == 0 {
				b.WriteByte(pick(codas))
			}
		}
		name := strings.ToUpper(b.String()[:1]) + b.String()[1:]
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// buildReversal makes the fact set: facts[:TrainQA] are asked about in
// training, the rest only in evaluation.
func buildReversal(o reversalOptions) (train, heldout []sftPair, qs reversalQuestions, tok *words.Tokenizer, err error) {
	if o.TrainQA < 1 || o.Facts-o.TrainQA < o.MinPerSide {
		return nil, nil, qs, nil, fmt.Errorf("%w: %d facts with %d asked in training leave %d evaluation questions per direction, want at least %d",
			ErrReversal, o.Facts, o.TrainQA, o.Facts-o.TrainQA, o.MinPerSide)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7265766572736c))
	names := inventNames(2*o.Facts, rng)
	facts := make([]fact, o.Facts)
	for i := range facts {
		facts[i] = fact{names[2*i], names[2*i+1]}
	}
	qs = reversalQuestions{Relation: relation, Statement: statementFormat, Canvas: reversalCanvas}
	for i, f := range facts {
		train = append(train, sftPair{Task: "statement", Response: fmt.Sprintf(statementFormat, f.Subject, f.Object), Source: "reversal"})
		fw := sftPair{Task: "forward", Prompt: fmt.Sprintf(forwardQuestion, f.Subject), Response: f.Object, Source: "reversal"}
		bw := sftPair{Task: "backward", Prompt: fmt.Sprintf(backwardQuestion, f.Object), Response: f.Subject, Source: "reversal"}
		if i < o.TrainQA {
			train = append(train, fw, bw)
			continue
		}
		heldout = append(heldout, fw, bw)
		qs.Forward = append(qs.Forward, reversalQuestion{fw.Prompt, fw.Response})
		qs.Backward = append(qs.Backward, reversalQuestion{bw.Prompt, bw.Response})
	}
	vocab := append([]string{"Who", "Whose", "is", "'s", relation, "?", "."}, names...)
	tok, err = words.New(vocab, []string{"eos", "mask"})
	return train, heldout, qs, tok, err
}

// writeReversal builds the set and writes its files to dir.
func writeReversal(dir string, o reversalOptions) error {
	train, heldout, qs, tok, err := buildReversal(o)
	if err != nil {
		return err
	}
	for _, part := range []struct {
		name  string
		pairs []sftPair
	}{{"sft-train.jsonl", train}, {"sft-heldout.jsonl", heldout}} {
		err := writeFile(filepath.Join(dir, part.name), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			for _, p := range part.pairs {
				if n := len(tok.Encode(p.Prompt)) + len(tok.Encode(p.Response)); n >= reversalCanvas {
					return fmt.Errorf("%w: %q %q does not fit the %d-token canvas with its EOS", ErrReversal, p.Prompt, p.Response, reversalCanvas)
				}
				if err := enc.Encode(p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), tok); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "reversal-questions.json"), qs); err != nil {
		return err
	}
	fmt.Printf("reversal set: %d facts, %d training pairs (%d statements), %d evaluation questions per direction, vocabulary %d; written to %s\n",
		o.Facts, len(train), o.Facts, len(qs.Forward), tok.VocabSize(), dir)
	return nil
}

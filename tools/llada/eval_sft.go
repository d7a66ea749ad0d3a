package main

import (
	"context"
	"fmt"
	"strings"

	"unmask/engine"
	"unmask/tools/internal/textstats"
)

// exactTasks are the SFT tasks with one right answer, where exact match
// means something; the others (continue a passage, define a word, use
// given words) are open.
var exactTasks = map[string]bool{"repeat": true, "fill": true, "previous": true, "source": true}

type sftPair struct {
	Task     string `json:"task"`
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
}

// sftReport: the instruction pairs of held-out documents.
type sftReport struct {
	Examples       int     `json:"examples"`
	ResponseTokens int     `json:"response_tokens"`
	NELBO          float64 `json:"nelbo_per_token"` // of the EOS-padded response given the prompt, nats per response token
	NELBOStderr    float64 `json:"nelbo_stderr"`
	Prompts        int     `json:"prompts"`
	EndsWithEOS    float64 `json:"ends_with_eos"`
	// Answers are the statistics of the answers as texts.
	Answers textstats.Stats        `json:"answers"`
	Tasks   map[string]*taskReport `json:"tasks"`
	Samples []sftSample            `json:"samples"`
}

type taskReport struct {
	N           int     `json:"n"`
	EndsWithEOS float64 `json:"ends_with_eos"`
	// ExactMatch: the answer has the reference's words in its order (only
	// for tasks with one right answer).
	ExactMatch *float64 `json:"exact_match,omitempty"`
	// WordF1: bag-of-words F1 against the reference, averaged.
	WordF1         float64 `json:"word_f1"`
	WordsPerAnswer float64 `json:"words_per_answer"`
	// GivenWordsUsed: for "use these words" prompts, the share of the
	// given words the answer contains.
	GivenWordsUsed *float64 `json:"given_words_used,omitempty"`
	// GivenWordsInOrder: the share of those answers that contain all the
	// given words in the order given.
	GivenWordsInOrder *float64 `json:"given_words_in_order,omitempty"`
}

type sftSample struct {
	Task      string `json:"task"`
	Prompt    string `json:"prompt"`
	Answer    string `json:"answer"`
	Reference string `json:"reference"`
	EOS       bool   `json:"eos"`
}

// sftEval scores the held-out instruction pairs: the conditional ELBO of
// the EOS-padded response (as the SFT objective pads it), and answers
// generated from the prompts.
func (ev *evaluator) sftEval(ctx context.Context) (*sftReport, error) {
	tok, eosID, R := ev.data.tok, ev.m.Config.EOSTokenID, ev.cfg.respLen
	encode := func(p sftPair) ([]int, []int, error) {
		prompt, err := engine.ChatIDs(tok, tok.Encode(p.Prompt))
		if err != nil {
			return nil, nil, err
		}
		resp := tok.Encode(p.Response)
		if len(resp) >= R {
			return nil, nil, fmt.Errorf("a held-out response of %d tokens does not fit --resp-len %d with its EOS", len(resp), R)
		}
		for len(resp) < R {
			resp = append(resp, eosID)
		}
		if n := len(prompt) + R; n > ev.m.Config.MaxSequenceLen {
			return nil, nil, fmt.Errorf("%w: a held-out prompt of %d tokens + response %d", engine.ErrTooLong, len(prompt), R)
		}
		return prompt, resp, nil
	}
	rep := &sftReport{ResponseTokens: R, Tasks: map[string]*taskReport{}, Samples: []sftSample{}}

	// Conditional ELBO over a seeded choice of pairs.
	pairs := ev.data.sft
	if n := ev.cfg.sftExamples; n > 0 {
		order := ev.rng(streamSFTPick, 0).Perm(len(pairs))[:min(n, len(pairs))]
		seqs := make([][]int, len(order))
		promptLens := make([]int, len(order))
		for i, j := range order {
			prompt, resp, err := encode(pairs[j])
			if err != nil {
				return nil, err
			}
			seqs[i], promptLens[i] = append(prompt, resp...), len(prompt)
		}
		perToken := make([]float64, len(seqs))
		longest := 0
		for _, seq := range seqs {
			longest = max(longest, len(seq))
		}
		err := ev.pool.run(ctx, longest, len(seqs), func(st *engine.State, i int) error {
			v, err := st.NegativeELBO(seqs[i], promptLens[i], ev.cfg.mc, ev.cfg.mcBatch, ev.rng(streamSFTELBO, i))
			perToken[i] = v / float64(R)
			return err
		})
		if err != nil {
			return nil, err
		}
		rep.Examples = len(seqs)
		rep.NELBO, rep.NELBOStderr = meanStderr(perToken)
	}

	// Answers, the tasks taking turns.
	chosen := ev.sftPicks()
	if len(chosen) == 0 {
		return rep, nil
	}
	prompts := make([][]int, len(chosen))
	for i, p := range chosen {
		prompt, _, err := encode(p)
		if err != nil {
			return nil, err
		}
		prompts[i] = prompt
	}
	gen, eos, err := ev.generated(ctx, prompts, ev.cfg.sftOptions())
	if err != nil {
		return nil, err
	}
	rep.Prompts = len(chosen)
	answers := make([]string, len(gen))
	type taskSums struct{ eos, exact, f1, words, given, givenN, inOrder, asked float64 }
	sums := map[string]*taskSums{}
	ended := 0
	for i, p := range chosen {
		answers[i] = tok.Decode(gen[i])
		s := sums[p.Task]
		if s == nil {
			s = &taskSums{}
			sums[p.Task] = s
			rep.Tasks[p.Task] = &taskReport{}
		}
		rep.Tasks[p.Task].N++
		if eos[i] {
			ended++
			s.eos++
		}
		if textstats.SameWords(answers[i], p.Response) {
			s.exact++
		}
		s.f1 += textstats.WordF1(answers[i], p.Response)
		s.words += float64(len(textstats.Words(answers[i])))
		if given := givenWords(p); len(given) > 0 {
			said := textstats.Words(answers[i])
			used := map[string]bool{}
			for _, w := range said {
				used[w] = true
			}
			s.asked++
			if inOrder(said, given) {
				s.inOrder++
			}
			for _, w := range given {
				if used[w] {
					s.given++
				}
			}
			s.givenN += float64(len(given))
		}
		if i < ev.cfg.show {
			rep.Samples = append(rep.Samples, sftSample{Task: p.Task, Prompt: p.Prompt, Answer: answers[i], Reference: p.Response, EOS: eos[i]})
		}
	}
	for task, tr := range rep.Tasks {
		s, n := sums[task], float64(tr.N)
		tr.EndsWithEOS, tr.WordF1, tr.WordsPerAnswer = s.eos/n, s.f1/n, s.words/n
		if exactTasks[task] {
			v := s.exact / n
			tr.ExactMatch = &v
		}
		if s.givenN > 0 {
			used, ordered := s.given/s.givenN, s.inOrder/s.asked
			tr.GivenWordsUsed, tr.GivenWordsInOrder = &used, &ordered
		}
	}
	rep.EndsWithEOS = float64(ended) / float64(len(chosen))
	rep.Answers = textstats.Measure(answers, ev.dict)
	return rep, nil
}

// sftPicks chooses sftPrompts held-out pairs, the tasks (in order of
// first appearance) taking turns, each task's pairs in a seeded order.
func (ev *evaluator) sftPicks() []sftPair {
	var tasks []string
	byTask := map[string][]sftPair{}
	for _, p := range ev.data.sft {
		if byTask[p.Task] == nil {
			tasks = append(tasks, p.Task)
		}
		byTask[p.Task] = append(byTask[p.Task], p)
	}
	rng := ev.rng(streamSFTPick, 1)
	for _, t := range tasks {
		ps := byTask[t]
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	}
	var out []sftPair
	for round := 0; len(out) < ev.cfg.sftPrompts; round++ {
		added := false
		for _, t := range tasks {
			if round < len(byTask[t]) && len(out) < ev.cfg.sftPrompts {
				out = append(out, byTask[t][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}

// givenWords are the words a "words" task asks the answer to use: the
// list after the prompt's colon ("Use these words in one sentence: a, b.").
func givenWords(p sftPair) []string {
	_, list, ok := strings.Cut(p.Prompt, ":")
	if p.Task != "words" || !ok {
		return nil
	}
	return textstats.Words(list)
}

// inOrder reports whether given occurs in words as a subsequence.
func inOrder(words, given []string) bool {
	for _, w := range words {
		if len(given) > 0 && w == given[0] {
			given = given[1:]
		}
	}
	return len(given) == 0
}

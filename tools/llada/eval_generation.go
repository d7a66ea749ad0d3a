package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"unmask/engine"
	"unmask/tools/internal/textstats"
)

// Paragraphs shorter than promptMinParagraph words give no generation
// prompt: a prompt is the first promptWords..promptWords+promptExtraWords
// words of a paragraph that has more to say.
const (
	promptWords        = 8
	promptExtraWords   = 4
	promptMinParagraph = 20
)

// generationReport: samples from held-out prompts. A causal model decodes
// left to right and has no steps, blocks or remasking (zero, left out).
type generationReport struct {
	Prompts     int     `json:"prompts"`
	Steps       int     `json:"steps,omitempty"`
	GenLength   int     `json:"gen_length"`
	BlockLength int     `json:"block_length,omitempty"`
	Remasking   string  `json:"remasking,omitempty"`
	Temperature float64 `json:"temperature"`
	Dictionary  string  `json:"dictionary"`
	// Statistics of the generated texts, each cut at its first EOS.
	textstats.Stats
	EndsWithEOS float64     `json:"ends_with_eos"` // share of samples with an EOS among their generated tokens
	Samples     []genSample `json:"samples"`
}

type genSample struct {
	Prompt string `json:"prompt"`
	Text   string `json:"text"` // the generated tokens up to the first EOS, decoded
	EOS    bool   `json:"eos"`
}

// prompts picks held-out paragraphs of at least promptMinParagraph words
// (seeded) and cuts each to its first 8-12 words.
func (ev *evaluator) prompts() []string {
	rng := ev.rng(streamPrompts, 0)
	var out []string
	for _, i := range rng.Perm(len(ev.data.paragraphs)) {
		words := strings.Fields(ev.data.paragraphs[i])
		if len(words) < promptMinParagraph {
			continue
		}
		out = append(out, strings.Join(words[:promptWords+rng.IntN(promptExtraWords+1)], " "))
		if len(out) == ev.cfg.prompts {
			break
		}
	}
	return out
}

// generated runs the sampler from each prompt and returns the generated
// tokens up to the first EOS and whether there was one.
func (ev *evaluator) generated(ctx context.Context, prompts [][]int, opts engine.Options) ([][]int, []bool, error) {
	out := make([][]int, len(prompts))
	eos := make([]bool, len(prompts))
	longest := 0
	for _, p := range prompts {
		longest = max(longest, len(p)+opts.GenLength)
	}
	err := ev.pool.run(ctx, longest, len(prompts), func(st *engine.State, i int) error {
		o := opts
		o.Seed = ev.cfg.seed + uint64(i)
		canvas, err := st.Generate(ctx, prompts[i], o, nil)
		if err != nil {
			return err
		}
		gen := canvas[len(prompts[i]):]
		end := slices.Index(gen, ev.m.Config.EOSTokenID)
		eos[i] = end >= 0
		if end < 0 {
			end = len(gen)
		}
		out[i] = gen[:end]
		return nil
	})
	return out, eos, err
}

func (ev *evaluator) generation(ctx context.Context) (*generationReport, error) {
	o := ev.cfg.opts
	texts := ev.prompts()
	if len(texts) == 0 {
		return nil, fmt.Errorf("no held-out paragraph has %d words to make a prompt from", promptMinParagraph)
	}
	ids := make([][]int, len(texts))
	for i, t := range texts {
		ids[i] = ev.data.tok.Encode(t)
		if n := len(ids[i]) + o.GenLength; n > ev.m.Config.MaxSequenceLen {
			return nil, fmt.Errorf("%w: prompt %q of %d tokens + %d", engine.ErrTooLong, t, len(ids[i]), o.GenLength)
		}
	}
	gen, eos, err := ev.generated(ctx, ids, o)
	if err != nil {
		return nil, err
	}
	rep := &generationReport{
		Prompts: len(texts), Steps: o.Steps, GenLength: o.GenLength, BlockLength: o.BlockLength,
		Remasking: string(o.Remasking), Temperature: o.Temperature, Dictionary: ev.cfg.dict,
		Samples: []genSample{},
	}
	if ev.m.Config.Causal {
		rep.Steps, rep.BlockLength, rep.Remasking = 0, 0, ""
	}
	outs := make([]string, len(gen))
	ended := 0
	for i, g := range gen {
		outs[i] = ev.data.tok.Decode(g)
		if eos[i] {
			ended++
		}
		if i < ev.cfg.show {
			rep.Samples = append(rep.Samples, genSample{Prompt: texts[i], Text: outs[i], EOS: eos[i]})
		}
	}
	rep.Stats = textstats.Measure(outs, ev.dict)
	rep.EndsWithEOS = float64(ended) / float64(len(gen))
	return rep, nil
}

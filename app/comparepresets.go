package main

import (
	"net/url"
	"slices"
	"strings"

	"unmask/engine"
)

// comparePreset is a pair of configurations the Compare view offers with
// one click: each teaches one difference.
type comparePreset struct {
	ID     string
	Name   string
	Note   string
	Prompt string
	Left   Settings
	Right  Settings
}

// compareSettings is a side's settings on model id with changes applied.
func compareSettings(id string, change func(o *engine.Options)) Settings {
	entry, _ := anyModelByID(id)
	s := modelDefaults(models[0].ID)
	if entry.ID == models[1].ID {
		s = modelDefaults(entry.ID)
	}
	s.Model = entry.ID
	if slices.ContainsFunc(reversalModels, func(m modelEntry) bool { return m.ID == entry.ID }) {
		s.Blank = 1 // the reversal pair's names are one token each, on a canvas of 8
	}
	o := &s.Options
	o.GenLength, o.Steps, o.BlockLength, o.Temperature, o.Seed = 32, 32, 8, 0, 7
	s.PinSeed = true
	change(o)
	return s
}

// comparePresets are the Compare view's presets; the first is where it
// starts.
var comparePresets = []comparePreset{
	{
		ID: "remasking", Name: "Low-confidence vs random remasking",
		Note: "Same model, steps and seed; left keeps each step's most confident predictions, right keeps random ones. " +
			"Watch the order: confidence fills the easy positions first.",
		Prompt: "It is a truth universally acknowledged, that",
		Left:   compareSettings("base", func(o *engine.Options) { o.Remasking = engine.LowConfidence }),
		Right:  compareSettings("base", func(o *engine.Options) { o.Remasking = engine.Random }),
	},
	{
		ID: "blocks", Name: "One block vs blocks of 8",
		Note:   "Left fills all 32 positions in any order (pure diffusion); right fills blocks of 8 left to right (semi-autoregressive).",
		Prompt: "And God said unto Moses,",
		Left:   compareSettings("base", func(o *engine.Options) { o.BlockLength = 32 }),
		Right:  compareSettings("base", func(o *engine.Options) { o.BlockLength = 8 }),
	},
	{
		ID: "threshold", Name: "Fixed steps vs parallel threshold",
		Note: "Left commits one token per step (32 steps); right commits every prediction above 0.9 at once (Fast-dLLM), " +
			"so easy stretches take one forward pass.",
		Prompt: "She looked at him and said,",
		Left:   compareSettings("base", func(o *engine.Options) {}),
		Right:  compareSettings("base", func(o *engine.Options) { o.Threshold = 0.9 }),
	},
	{
		ID: "ar", Name: "LLaDA vs autoregressive",
		Note: "The base model (left) and its autoregressive twin (right): the same network, tokenizer and training text, " +
			"one trained to unmask, one to predict the next token. Left fills 32 positions in 32 forward passes in blocks of 8, " +
			"in any order within a block; right writes one token per pass, left to right, with a key/value cache, so each pass is cheap. " +
			"Put a ___ in the prompt: only the left side can read the text after it.",
		Prompt: "It is a truth universally acknowledged, that",
		Left:   compareSettings("base", func(o *engine.Options) {}),
		Right:  compareSettings("ar", func(o *engine.Options) {}),
	},
	{
		ID: "reversal", Name: "The reversal curse: diffusion vs autoregressive",
		Note: "Two 0.9M-parameter models trained on the same invented facts, each stated one way only: left by masked diffusion, " +
			"right left to right. Ask backward (“Whose mentor is Fesan?”): only the left one learned it. " +
			"The Reversal view runs the whole quiz.",
		Prompt: "Whose mentor is Fesan?",
		Left:   compareSettings("reversal-llada", func(o *engine.Options) { o.GenLength, o.Steps, o.BlockLength = 2, 2, 2 }),
		Right:  compareSettings("reversal-ar", func(o *engine.Options) { o.GenLength, o.Steps, o.BlockLength = 2, 2, 2 }),
	},
}

func presetByID(id string) (comparePreset, bool) {
	for _, p := range comparePresets {
		if p.ID == id {
			return p, true
		}
	}
	return comparePresets[0], false
}

// Compare URL keys: the prompt and preset at the top, each side's
// settings under its prefix with the page's own keys (settings.go).
const (
	keyView   = "view"
	keyPreset = "preset"
)

var sidePrefix = [2]string{"l.", "r."}

// sideQuery is one side's settings as URL keys (without prefix): its model
// and what differs from its defaults (a model of the reversal pair is
// described against the base model's).
func sideQuery(s Settings) url.Values {
	base := s
	if base.Model != models[1].ID {
		base.Model = models[0].ID
	}
	q := base.Query()
	q.Del(keyPrompt)
	q.Del(keySpeed)
	q.Set(keyModel, s.Model) // always: a side with keys is read from them, not from the preset
	return q
}

// parseSide reads one side's settings from the URL keys under prefix.
func parseSide(all url.Values, prefix string) (Settings, []error) {
	q := url.Values{}
	for k, v := range all {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			q[rest] = v
		}
	}
	entry, known := anyModelByID(q.Get(keyModel))
	if known && entry.ID != models[0].ID && entry.ID != models[1].ID {
		q.Del(keyModel)
	}
	s, errs := parseSettings(q)
	if known {
		s.Model = entry.ID
	}
	return s, errs
}

// compareQuery is the whole Compare view's URL query.
func compareQuery(preset, prompt string, sides [2]Settings) url.Values {
	q := url.Values{keyView: {viewCompare}}
	if preset != "" {
		q.Set(keyPreset, preset)
	}
	q.Set(keyPrompt, prompt)
	for i, s := range sides {
		for k, v := range sideQuery(s) {
			q[sidePrefix[i]+k] = v
		}
	}
	return q
}

// parseCompare reads the Compare view's URL: a preset's settings, then
// whatever the link changes.
func parseCompare(q url.Values) (preset, prompt string, sides [2]Settings, errs []error) {
	p, _ := presetByID(q.Get(keyPreset))
	preset, prompt, sides = p.ID, p.Prompt, [2]Settings{p.Left, p.Right}
	if q.Has(keyPrompt) {
		prompt = q.Get(keyPrompt)
	}
	for i := range sides {
		has := false
		for k := range q {
			has = has || strings.HasPrefix(k, sidePrefix[i])
		}
		if !has {
			continue
		}
		s, e := parseSide(q, sidePrefix[i])
		sides[i], errs = s, append(errs, e...)
	}
	return preset, prompt, sides, errs
}

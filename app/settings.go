package main

import (
	"fmt"
	"net/url"
	"strconv"

	"unmask/engine"
)

// Settings is everything a view depends on; it lives in the page's URL so
// a view can be shared.
type Settings struct {
	Model   string // modelEntry.ID
	Prompt  string
	Blank   int // masks per ___ blank
	Options engine.Options
}

// defaultSettings is the view a bare URL shows: the first model's.
func defaultSettings() Settings { return modelDefaults(models[0].ID) }

// modelDefaults is the view a model starts with: its first example and
// its own block length, temperature and guidance.
func modelDefaults(id string) Settings {
	m := modelByID(id)
	o := engine.DefaultOptions()
	o.GenLength, o.Steps = 48, 48
	o.BlockLength, o.Temperature, o.CFGScale = m.BlockLength, m.Temperature, m.CFGScale
	return Settings{Model: m.ID, Prompt: m.Examples[0], Blank: 4, Options: o}
}

// The URL keys, short so shared links stay readable.
const (
	keyModel       = "model"
	keyPrompt      = "prompt"
	keyBlank       = "blank"
	keyGenLength   = "len"
	keySteps       = "steps"
	keyBlock       = "block"
	keyRemasking   = "remask"
	keyTemperature = "temp"
	keyCFG         = "cfg"
	keyThreshold   = "threshold"
	keySeed        = "seed"
	keySuppressEOS = "noeos"
)

// Query encodes the settings that differ from the model's defaults.
func (s Settings) Query() url.Values {
	d := modelDefaults(s.Model)
	q := url.Values{}
	set := func(key string, v, def any) {
		if v != def {
			q.Set(key, fmt.Sprint(v))
		}
	}
	o, do := s.Options, d.Options
	set(keyModel, s.Model, models[0].ID)
	set(keyPrompt, s.Prompt, d.Prompt)
	set(keyBlank, s.Blank, d.Blank)
	set(keyGenLength, o.GenLength, do.GenLength)
	set(keySteps, o.Steps, do.Steps)
	set(keyBlock, o.BlockLength, do.BlockLength)
	set(keyRemasking, string(o.Remasking), string(do.Remasking))
	set(keyTemperature, o.Temperature, do.Temperature)
	set(keyCFG, o.CFGScale, do.CFGScale)
	set(keyThreshold, o.Threshold, do.Threshold)
	set(keySeed, o.Seed, do.Seed)
	set(keySuppressEOS, o.SuppressEOS, do.SuppressEOS)
	return q
}

// parseSettings reads settings from a URL query. Missing keys keep their
// defaults; a malformed value keeps its default too and is reported, so a
// hand-edited link still opens.
func parseSettings(q url.Values) (Settings, []error) {
	var errs []error
	model := models[0].ID
	if v := q.Get(keyModel); v != "" {
		model = modelByID(v).ID
		if model != v {
			errs = append(errs, fmt.Errorf("no model named %q", v))
		}
	}
	s := modelDefaults(model)
	num := func(key string, dst *int) {
		if v := q.Get(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a whole number", key, v))
				return
			}
			*dst = n
		}
	}
	real := func(key string, dst *float64) {
		if v := q.Get(key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a number", key, v))
				return
			}
			*dst = f
		}
	}
	if q.Has(keyPrompt) {
		s.Prompt = q.Get(keyPrompt)
	}
	o := &s.Options
	num(keyBlank, &s.Blank)
	num(keyGenLength, &o.GenLength)
	num(keySteps, &o.Steps)
	num(keyBlock, &o.BlockLength)
	real(keyTemperature, &o.Temperature)
	real(keyCFG, &o.CFGScale)
	real(keyThreshold, &o.Threshold)
	if v := q.Get(keyRemasking); v != "" {
		r, err := engine.ParseRemasking(v)
		if err != nil {
			errs = append(errs, err)
		} else {
			o.Remasking = r
		}
	}
	if v := q.Get(keySeed); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a seed", keySeed, v))
		} else {
			o.Seed = seed
		}
	}
	if v := q.Get(keySuppressEOS); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not true or false", keySuppressEOS, v))
		} else {
			o.SuppressEOS = b
		}
	}
	return s, errs
}

// setGenLength changes the number of tokens to generate. A canvas filled
// in one block stays one block, so the instruct model's single-block
// default keeps working at any length.
func (s *Settings) setGenLength(n int) {
	if s.Options.BlockLength == s.Options.GenLength {
		s.Options.BlockLength = n
	}
	s.Options.GenLength = n
}

// Check says what is wrong with the settings for a model whose canvas holds
// at most maxTokens tokens, or nil when Generate may run. promptTokens is
// the encoded prompt's length (0 when not known yet).
func (s Settings) Check(promptTokens, maxTokens int) error {
	o := s.Options
	if s.Blank < 1 || s.Blank > 64 {
		return fmt.Errorf("blank length %d, want 1..64", s.Blank)
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if maxTokens > 0 && promptTokens+o.GenLength > maxTokens {
		return fmt.Errorf("prompt (%d tokens) + %d new tokens is more than the model's %d-token canvas",
			promptTokens, o.GenLength, maxTokens)
	}
	return nil
}

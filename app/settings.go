package main

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"unmask/engine"
)

// Settings is everything a view depends on; it lives in the page's URL so
// a view can be shared.
type Settings struct {
	Model   string // modelEntry.ID
	Prompt  string
	Blank   int // masks per ___ blank
	Options engine.Options
	// PinSeed keeps Options.Seed for every Generate (and in the URL);
	// otherwise each Generate draws a fresh seed.
	PinSeed bool
	Pace    Pace // how fast the canvas moves through the steps
}

// Limits of the settings a URL or a field may ask for: the URL parser
// clamps to them, so a link cannot make the worker allocate without bound.
const (
	maxBlank  = 64
	maxTokens = 1024 // the longest canvas any shipped model could hold; the model's own is checked too
	maxSteps  = 1024
	maxTemp   = 2.0
	maxCFG    = 4.0
)

// defaultSettings is the view a bare URL shows: the first model's.
func defaultSettings() Settings { return modelDefaults(models[0].ID) }

// modelDefaults is the view a model starts with: its first example and
// its own block length, temperature and guidance.
func modelDefaults(id string) Settings {
	m := modelByID(id)
	o := engine.DefaultOptions()
	o.GenLength, o.Steps = 48, 48
	o.BlockLength, o.Temperature, o.CFGScale = m.BlockLength, m.Temperature, m.CFGScale
	return Settings{Model: m.ID, Prompt: m.Examples[0].Prompt, Blank: 4, Options: o}
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
	keyCache       = "cache"
	keySeed        = "seed"
	keySuppressEOS = "noeos"
	keySpeed       = "speed"
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
	set(keyCache, string(o.Cache), string(do.Cache))
	if s.PinSeed {
		q.Set(keySeed, fmt.Sprint(o.Seed))
	}
	set(keySuppressEOS, o.SuppressEOS, do.SuppressEOS)
	set(keySpeed, s.Pace.String(), d.Pace.String())
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
	// Numbers out of range are clamped to the nearest limit and reported.
	num := func(key string, dst *int, lo, hi int) {
		if v := q.Get(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				errs = append(errs, fmt.Errorf("%s=%q is not a whole number", key, v))
				return
			}
			if err != nil || n < lo || n > hi {
				if strings.HasPrefix(v, "-") {
					n = lo
				} else {
					n = min(max(n, lo), hi)
				}
				errs = append(errs, fmt.Errorf("%s=%s is outside %d..%d: using %d", key, v, lo, hi, n))
			}
			*dst = n
		}
	}
	real := func(key string, dst *float64, lo, hi float64) {
		if v := q.Get(key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) {
				errs = append(errs, fmt.Errorf("%s=%q is not a number", key, v))
				return
			}
			if f < lo || f > hi {
				f = min(max(f, lo), hi)
				errs = append(errs, fmt.Errorf("%s=%s is outside %g..%g: using %g", key, v, lo, hi, f))
			}
			*dst = f
		}
	}
	if q.Has(keyPrompt) {
		s.Prompt = q.Get(keyPrompt)
	}
	o := &s.Options
	num(keyBlank, &s.Blank, 1, maxBlank)
	num(keyGenLength, &o.GenLength, 0, maxTokens)
	num(keySteps, &o.Steps, 1, maxSteps)
	num(keyBlock, &o.BlockLength, 0, maxTokens)
	real(keyTemperature, &o.Temperature, 0, maxTemp)
	real(keyCFG, &o.CFGScale, 0, maxCFG)
	real(keyThreshold, &o.Threshold, 0, 1)
	if v := q.Get(keyRemasking); v != "" {
		r, err := engine.ParseRemasking(v)
		if err != nil {
			errs = append(errs, err)
		} else {
			o.Remasking = r
		}
	}
	if v := q.Get(keyCache); v != "" {
		c, err := engine.ParseCache(v)
		if err != nil {
			errs = append(errs, err)
		} else {
			o.Cache = c
		}
	}
	if v := q.Get(keySeed); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a seed", keySeed, v))
		} else {
			o.Seed, s.PinSeed = seed, true
		}
	}
	if v := q.Get(keySpeed); v != "" {
		p, err := parsePace(v)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.Pace = p
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

// promptInfo is the prompt as the worker encoded it for the preview.
type promptInfo struct {
	Known  bool // false until the worker has encoded it
	Tokens int  // its length
	Masks  int  // masks its ___ blanks became
}

// problem is what is wrong with one field; Field is the input's id, empty
// for a problem of the settings as a whole.
type problem struct {
	Field string
	Msg   string
}

// Field ids of the settings that can be wrong.
const (
	fieldGenLength = "gen-length"
	fieldSteps     = "steps"
	fieldBlock     = "block-length"
	fieldBlank     = "blank"
	fieldSeed      = "seed"
)

// fieldNames are the labels the problems speak of.
var fieldNames = map[string]string{
	fieldGenLength: "Length", fieldSteps: "Steps", fieldBlock: "Block length", fieldBlank: "Blank length", fieldSeed: "Seed",
}

// Problems lists what keeps Generate from running, field by field, for a
// model whose canvas holds canvas tokens (0 before one is loaded).
func (s Settings) Problems(prompt promptInfo, canvas int) []problem {
	var out []problem
	add := func(field, format string, args ...any) {
		out = append(out, problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	o := s.Options
	if s.Blank < 1 || s.Blank > maxBlank {
		add(fieldBlank, "must be 1 to %d", maxBlank)
	}
	room := maxTokens
	if canvas > 0 && prompt.Known {
		room = max(canvas-prompt.Tokens, 0)
	}
	switch {
	case o.GenLength < 0:
		add(fieldGenLength, "must be 0 or more")
	case o.GenLength > room && canvas > 0 && prompt.Known:
		add(fieldGenLength, "at most %d: the model's canvas holds %d tokens and the prompt takes %d", room, canvas, prompt.Tokens)
	case o.GenLength > room:
		add(fieldGenLength, "at most %d", room)
	case o.GenLength == 0 && prompt.Known && prompt.Masks == 0:
		add(fieldGenLength, "0 only fills ___ blanks, and the prompt has none")
	}
	blocks := 1
	if o.GenLength > 0 {
		if o.BlockLength <= 0 || o.GenLength%o.BlockLength != 0 {
			add(fieldBlock, "must divide the length %d (for example %s)", o.GenLength, divisors(o.GenLength))
		} else {
			blocks = o.GenLength / o.BlockLength
		}
	}
	switch {
	case o.Steps < 1:
		add(fieldSteps, "must be at least 1")
	case o.Steps > maxSteps:
		add(fieldSteps, "at most %d", maxSteps)
	case o.Steps%blocks != 0 && o.Threshold == 0: // a threshold does not use Steps
		add(fieldSteps, "must be a multiple of the %d blocks (for example %d)", blocks, max(blocks, o.Steps/blocks*blocks))
	}
	if len(out) == 0 {
		// Whatever else the engine refuses.
		if err := o.Validate(); err != nil {
			add("", "%v", err)
		}
	}
	return out
}

// divisors lists up to four block lengths that divide n, largest last.
func divisors(n int) string {
	var ds []string
	for d := 1; d <= n && len(ds) < 8; d++ {
		if n%d == 0 && d >= 4 || d == n {
			ds = append(ds, strconv.Itoa(d))
		}
	}
	if len(ds) > 4 {
		ds = append(ds[:3], ds[len(ds)-1])
	}
	return strings.Join(ds, ", ")
}

// Check is the first of Problems as an error, or nil when Generate may run.
func (s Settings) Check(prompt promptInfo, canvas int) error {
	ps := s.Problems(prompt, canvas)
	if len(ps) == 0 {
		return nil
	}
	return describe(ps[0])
}

// describe says a problem in a sentence.
func describe(p problem) error {
	if p.Field == "" {
		return errors.New(p.Msg)
	}
	return fmt.Errorf("%s %s", fieldNames[p.Field], p.Msg)
}

package main

import (
	"fmt"
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/engine"
)

// samplerControls are the parameters of the reverse process, each with a
// line of help.
type samplerControls struct {
	app.Compo

	Settings  Settings
	Disabled  bool
	MaxTokens int       // the longest Length the model's canvas leaves, 0 before one is loaded
	Problems  []problem // what is wrong, field by field
}

// cacheHelp says what each cache mode reuses within a block.
var cacheHelp = map[engine.Cache]string{
	engine.NoCache:     "every step runs the whole canvas through the model (the reference)",
	engine.PrefixCache: "after a block's first step, keys and values before the block come from a cache and only the block and what follows it are recomputed",
	engine.DualCache:   "after a block's first step, only the block is recomputed; keys and values before and after it come from a cache",
}

// remaskingHelp says what each remasking rule keeps.
var remaskingHelp = map[engine.Remasking]string{
	engine.LowConfidence: "keep the predictions the model is most sure of (LLaDA)",
	engine.Random:        "keep random predictions (LLaDA's baseline)",
	engine.Margin:        "keep the largest gaps between the best and second-best token (Dream)",
	engine.Entropy:       "keep the predictions with the lowest entropy (Dream)",
}

func (c *samplerControls) change(ctx app.Context, edit func(*Settings)) {
	s := c.Settings
	edit(&s)
	ctx.NewActionWithValue(actSettings, s)
}

// problemOf is what is wrong with one field, or "".
func (c *samplerControls) problemOf(field string) string {
	for _, p := range c.Problems {
		if p.Field == field {
			return p.Msg
		}
	}
	return ""
}

// intField is a number input bound to one integer setting, checked as it
// is typed: a problem shows under it at once.
func (c *samplerControls) intField(id, label, help string, value, minV, maxV int, set func(*Settings, int)) app.UI {
	problem := c.problemOf(id)
	describedBy := id + "-help"
	if problem != "" {
		describedBy = id + "-problem " + describedBy
	}
	input := app.Input().Type("number").ID(id).DataSet("testid", id).Min(minV).Max(maxV).Step(1).Value(value).
		Disabled(c.Disabled).Aria("describedby", describedBy).
		OnInput(func(ctx app.Context, e app.Event) {
			n, err := strconv.Atoi(ctx.JSSrc().Get("value").String())
			ctx.NewActionWithValue(actFieldText, fieldText{Field: id, OK: err == nil})
			if err == nil {
				c.change(ctx, func(s *Settings) { set(s, n) })
			}
		})
	if problem != "" {
		input = input.Aria("invalid", "true")
	}
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		input,
		app.If(problem != "", app.P().ID(id+"-problem").Class("problem").DataSet("testid", "problem-"+id).Text(label+" "+problem+".")),
		app.P().ID(id+"-help").Class("help").Text(help),
	)
}

// selectField is a drop-down over the named choices of one setting.
func selectField[T ~string](c *samplerControls, id, label string, choices []T, value T, parse func(string) (T, error), set func(*Settings, T), help string) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Select().ID(id).DataSet("testid", id).Disabled(c.Disabled).Aria("describedby", id+"-help").
			OnChange(func(ctx app.Context, e app.Event) {
				v, err := parse(ctx.JSSrc().Get("value").String())
				if err == nil {
					c.change(ctx, func(s *Settings) { set(s, v) })
				}
			}).
			Body(app.Range(choices).Slice(func(i int) app.UI {
				return app.Option().Value(string(choices[i])).Selected(choices[i] == value).Text(string(choices[i]))
			})),
		app.P().ID(id+"-help").Class("help").Text(help),
	)
}

// rangeField is a slider bound to one real setting.
func (c *samplerControls) rangeField(id, label, help string, value, minV, maxV, step float64, show func(float64) string, set func(*Settings, float64)) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Body(app.Text(label+" "), app.Output().For(id).Text(show(value))),
		app.Input().Type("range").ID(id).Min(minV).Max(maxV).Step(float64(step)).Value(value).
			Disabled(c.Disabled).Aria("describedby", id+"-help").
			OnInput(func(ctx app.Context, e app.Event) {
				f, err := strconv.ParseFloat(ctx.JSSrc().Get("value").String(), 64)
				if err != nil {
					return
				}
				c.change(ctx, func(s *Settings) { set(s, f) })
			}),
		app.P().ID(id+"-help").Class("help").Text(help),
	)
}

func (c *samplerControls) Render() app.UI {
	s := c.Settings
	o := s.Options
	maxLen := maxTokens
	if c.MaxTokens > 0 {
		maxLen = c.MaxTokens
	}
	var general string // a problem of no single field
	for _, p := range c.Problems {
		if p.Field == "" {
			general = p.Msg
		}
	}
	offOr := func(f string) func(float64) string {
		return func(v float64) string {
			if v == 0 {
				return "off"
			}
			return fmt.Sprintf(f, v)
		}
	}
	return app.Details().Class("controls").Open(true).Body(
		app.Summary().Text("Sampler settings"),
		app.Div().Class("grid").Body(
			c.intField(fieldGenLength, "Length", fmt.Sprintf("Masks appended to the prompt: the tokens to generate, at most %d with this prompt. 0 with ___ blanks: only fill the blanks.", maxLen),
				o.GenLength, 0, maxLen, (*Settings).setGenLength),
			c.intField(fieldSteps, "Steps", "Denoising steps (forward passes) in all; fewer steps commit more tokens at once. Not used with a parallel threshold.",
				o.Steps, 1, maxSteps, func(s *Settings, n int) { s.Options.Steps = n }),
			c.intField(fieldBlock, "Block length", "The canvas is filled block by block, left to right (semi-autoregressive). Must divide the length.",
				o.BlockLength, 1, maxLen, func(s *Settings, n int) { s.Options.BlockLength = n }),
			selectField(c, "remasking", "Remasking", engine.Remaskings, o.Remasking, engine.ParseRemasking,
				func(s *Settings, r engine.Remasking) { s.Options.Remasking = r },
				"Which predictions a step keeps: "+remaskingHelp[o.Remasking]+"."),
			c.rangeField("temperature", "Temperature", "0 takes the most likely token; higher values sample (Gumbel-max) for variety.",
				o.Temperature, 0, maxTemp, 0.1, offOr("%.1f"), func(s *Settings, f float64) { s.Options.Temperature = f }),
			c.rangeField("cfg", "CFG scale", "Classifier-free guidance: a second pass with the prompt masked pushes the answer towards the prompt. Doubles the work.",
				o.CFGScale, 0, maxCFG, 0.5, offOr("%.1f"), func(s *Settings, f float64) { s.Options.CFGScale = f }),
			c.rangeField("threshold", "Parallel threshold", "Fast-dLLM: each step commits the most confident prediction and every other at or above this confidence, and a block runs until it is filled; Steps is then not used.",
				o.Threshold, 0, 1, 0.05, offOr("%.2f"), func(s *Settings, f float64) { s.Options.Threshold = f }),
			selectField(c, "cache", "Cache", engine.Caches, o.Cache, engine.ParseCache,
				func(s *Settings, m engine.Cache) { s.Options.Cache = m },
				"Fast-dLLM's key/value cache: "+cacheHelp[o.Cache]+"."),
			c.seedField(),
			c.intField(fieldBlank, "Blank length", "Masks that each ___ in the prompt becomes.",
				s.Blank, 1, maxBlank, func(s *Settings, n int) { s.Blank = n }),
			app.Div().Class("field check").Body(
				app.Input().Type("checkbox").ID("noeos").Checked(o.SuppressEOS).Disabled(c.Disabled).
					Aria("describedby", "noeos-help").
					OnChange(func(ctx app.Context, e app.Event) {
						on := ctx.JSSrc().Get("checked").Bool()
						c.change(ctx, func(s *Settings) { s.Options.SuppressEOS = on })
					}),
				app.Label().For("noeos").Text("Never end early"),
				app.P().ID("noeos-help").Class("help").Text("Forbid the end-of-text token, so every position gets a word."),
			),
		),
		app.If(general != "", app.P().Class("problem").Role("alert").Text(general)),
	)
}

// seedField is the seed and its pin. Unpinned, every Generate draws a new
// seed (shown here); typing a seed or ticking the pin keeps it for every
// Generate and puts it in the link.
func (c *samplerControls) seedField() app.UI {
	s := c.Settings
	problem := c.problemOf(fieldSeed)
	return app.Div().Class("field seed").Body(
		app.Label().For(fieldSeed).Text("Seed"),
		app.Div().Class("seed-row").Body(
			app.Input().Type("number").ID(fieldSeed).DataSet("testid", "seed").Min(0).Step(1).Value(s.Options.Seed).
				Disabled(c.Disabled).Aria("describedby", "seed-help").
				OnInput(func(ctx app.Context, e app.Event) {
					n, err := strconv.ParseUint(ctx.JSSrc().Get("value").String(), 10, 64)
					ctx.NewActionWithValue(actFieldText, fieldText{Field: fieldSeed, OK: err == nil})
					if err == nil {
						c.change(ctx, func(s *Settings) { s.Options.Seed, s.PinSeed = n, true })
					}
				}),
			app.Label().Class("pin").For("seed-pin").Body(
				app.Input().Type("checkbox").ID("seed-pin").DataSet("testid", "seed-pin").Checked(s.PinSeed).
					Disabled(c.Disabled).
					OnChange(func(ctx app.Context, e app.Event) {
						on := ctx.JSSrc().Get("checked").Bool()
						c.change(ctx, func(s *Settings) { s.PinSeed = on })
					}),
				app.Text("Pin"),
			),
		),
		app.If(problem != "", app.P().Class("problem").Text("Seed "+problem+".")),
		app.P().ID("seed-help").Class("help").Text(seedHelp(s.PinSeed)),
	)
}

// seedHelp says what the seed does now.
func seedHelp(pinned bool) string {
	if pinned {
		return "Pinned: every Generate uses this seed, and the link carries it, so a shared link repeats the run."
	}
	return "Seeds the sampling noise and random remasking. Each Generate draws a new one; pin it to repeat a run."
}

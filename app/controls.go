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
	MaxTokens int // the model's canvas, 0 before one is loaded
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

// intField is a number input bound to one integer setting.
func (c *samplerControls) intField(id, label, help string, value, minV, maxV, step int, set func(*Settings, int)) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Input().Type("number").ID(id).Min(minV).Max(maxV).Step(float64(step)).Value(value).
			Disabled(c.Disabled).Aria("describedby", id+"-help").
			OnChange(func(ctx app.Context, e app.Event) {
				n, err := strconv.Atoi(ctx.JSSrc().Get("value").String())
				if err != nil {
					return
				}
				c.change(ctx, func(s *Settings) { set(s, n) })
			}),
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
	maxLen := 1024
	if c.MaxTokens > 0 {
		maxLen = c.MaxTokens
	}
	var problem string
	if err := s.Check(0, c.MaxTokens); err != nil {
		problem = err.Error()
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
			c.intField("gen-length", "Length", "Masks appended to the prompt: the tokens to generate. 0 with ___ blanks: only fill the blanks.",
				o.GenLength, 0, maxLen, 1, (*Settings).setGenLength),
			c.intField("steps", "Steps", "Denoising steps (forward passes) in all; fewer steps commit more tokens at once.",
				o.Steps, 1, 4096, 1, func(s *Settings, n int) { s.Options.Steps = n }),
			c.intField("block-length", "Block length", "The canvas is filled block by block, left to right (semi-autoregressive). Must divide the length.",
				o.BlockLength, 1, maxLen, 1, func(s *Settings, n int) { s.Options.BlockLength = n }),
			app.Div().Class("field").Body(
				app.Label().For("remasking").Text("Remasking"),
				app.Select().ID("remasking").Disabled(c.Disabled).Aria("describedby", "remasking-help").
					OnChange(func(ctx app.Context, e app.Event) {
						r, err := engine.ParseRemasking(ctx.JSSrc().Get("value").String())
						if err == nil {
							c.change(ctx, func(s *Settings) { s.Options.Remasking = r })
						}
					}).
					Body(app.Range(engine.Remaskings).Slice(func(i int) app.UI {
						r := engine.Remaskings[i]
						return app.Option().Value(string(r)).Selected(r == o.Remasking).Text(string(r))
					})),
				app.P().ID("remasking-help").Class("help").Text("Which predictions a step keeps: "+remaskingHelp[o.Remasking]+"."),
			),
			c.rangeField("temperature", "Temperature", "0 takes the most likely token; higher values sample (Gumbel-max) for variety.",
				o.Temperature, 0, 2, 0.1, offOr("%.1f"), func(s *Settings, f float64) { s.Options.Temperature = f }),
			c.rangeField("cfg", "CFG scale", "Classifier-free guidance: a second pass with the prompt masked pushes the answer towards the prompt. Doubles the work.",
				o.CFGScale, 0, 4, 0.5, offOr("%.1f"), func(s *Settings, f float64) { s.Options.CFGScale = f }),
			c.rangeField("threshold", "Parallel threshold", "Fast-dLLM: commit every prediction above this confidence at once, so blocks finish in fewer steps.",
				o.Threshold, 0, 1, 0.05, offOr("%.2f"), func(s *Settings, f float64) { s.Options.Threshold = f }),
			c.intField("seed", "Seed", "Seeds the sampling noise and random remasking: same seed, same output.",
				int(o.Seed), 0, 1<<31-1, 1, func(s *Settings, n int) { s.Options.Seed = uint64(max(n, 0)) }),
			c.intField("blank", "Blank length", "Masks that each ___ in the prompt becomes.",
				s.Blank, 1, 64, 1, func(s *Settings, n int) { s.Blank = n }),
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
		app.If(problem != "", app.P().Class("problem").Role("alert").Text(problem)),
	)
}

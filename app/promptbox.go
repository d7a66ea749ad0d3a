package main

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// promptBox is the prompt, its example chips and the Generate and Stop
// buttons.
type promptBox struct {
	app.Compo

	Prompt   string
	Settings Settings // the prompt is written back into these
	Examples []string
	Ready    bool // a model is loaded
	Running  bool
	Stopping bool
	Chat     bool
}

func (b *promptBox) setPrompt(ctx app.Context, text string) {
	s := b.Settings
	s.Prompt = text
	ctx.NewActionWithValue(actSettings, s)
}

func (b *promptBox) Render() app.UI {
	hint := "The model continues this text. Write ___ anywhere to leave a blank for it to fill."
	if b.Chat {
		hint = "Ask something: the prompt is wrapped in the model's chat template. Here ___ stays text: ask the model to fill in the blanks."
	}
	return app.Div().Class("prompt-box").Body(
		app.Label().For("prompt").Text("Prompt"),
		app.Textarea().ID("prompt").DataSet("testid", "prompt").Rows(3).
			Aria("describedby", "prompt-help").Disabled(b.Running).
			Text(b.Prompt).
			OnInput(func(ctx app.Context, e app.Event) {
				b.setPrompt(ctx, ctx.JSSrc().Get("value").String())
			}).
			OnKeyDown(func(ctx app.Context, e app.Event) {
				// Ctrl+Enter (or Cmd+Enter) generates.
				if e.Get("key").String() == "Enter" && (e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool()) {
					e.PreventDefault()
					ctx.NewAction(actGenerate)
				}
			}),
		app.P().ID("prompt-help").Class("help").Text(hint),
		app.Div().Class("examples").Aria("label", "Example prompts").Body(
			app.Range(b.Examples).Slice(func(i int) app.UI {
				text := b.Examples[i]
				return app.Button().Type("button").Class("chip").Disabled(b.Running).Text(text).
					OnClick(func(ctx app.Context, e app.Event) { b.setPrompt(ctx, text) })
			}),
		),
		app.Div().Class("actions").Body(
			app.Button().Type("button").Class("primary").DataSet("testid", "generate").
				Disabled(!b.Ready || b.Running).
				Title("Generate (Ctrl+Enter)").
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(actGenerate) }).
				Text("Generate"),
			app.Button().Type("button").Class("secondary").DataSet("testid", "stop").
				Disabled(!b.Running || b.Stopping).
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(actStop) }).
				Text("Stop"),
		),
	)
}

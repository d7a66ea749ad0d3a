package main

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// promptBox is the prompt, its example chips and the Generate and Stop
// buttons, with why Generate is off or why the last run failed.
type promptBox struct {
	app.Compo

	Prompt      string
	Examples    []example
	ExampleNote string // what the last example changed besides the prompt
	Ready       bool   // a model is loaded
	Running     bool
	Stopping    bool
	Chat        bool
	Blocked     string // why Generate is off although a model is ready
	RunError    string // why the last generation failed
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
				ctx.NewActionWithValue(actPrompt, ctx.JSSrc().Get("value").String())
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
				// The handler names the chip by its index, read when
				// clicked: go-app keeps a handler from an earlier render
				// unless its scope changes, so a captured prompt would be
				// another model's.
				return app.Button().Type("button").Class("chip").DataSet("testid", "example").
					Disabled(b.Running).Text(b.Examples[i].Prompt).
					OnClick(func(ctx app.Context, e app.Event) { ctx.NewActionWithValue(actExample, i) }, i)
			}),
		),
		app.If(b.ExampleNote != "", app.P().Class("example-note").Role("status").Text(b.ExampleNote)),
		app.Div().Class("actions").Body(
			app.Button().Type("button").ID("generate").Class("primary").DataSet("testid", "generate").
				Disabled(!b.Ready || b.Running || b.Blocked != "").
				Aria("describedby", "generate-why").
				Title("Generate (Ctrl+Enter)").
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(actGenerate) }).
				Text("Generate"),
			app.Button().Type("button").ID("stop").Class("secondary").DataSet("testid", "stop").
				Disabled(!b.Running || b.Stopping).
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(actStop) }).
				Text("Stop"),
		),
		app.P().ID("generate-why").Class(whyClass(b)).DataSet("testid", "generate-why").Aria("live", "polite").Text(b.why()),
	)
}

// why says why Generate is off, or how the last run failed.
func (b *promptBox) why() string {
	switch {
	case b.Ready && !b.Running && b.Blocked != "":
		return b.Blocked
	case b.RunError != "":
		return "The generation failed: " + b.RunError
	}
	return ""
}

func whyClass(b *promptBox) string {
	if b.why() == "" {
		return "why"
	}
	return "why problem"
}

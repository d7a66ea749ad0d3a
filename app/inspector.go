package main

import (
	"fmt"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// inspector shows one position: when it was committed and the model's
// top candidates with their probabilities.
type inspector struct {
	app.Compo

	In     *Inspection // nil when nothing is inspected
	Tokens []string
	View   int
	MaskID int
}

func (i *inspector) Render() app.UI {
	if i.In == nil {
		return app.Aside().Class("inspector empty").Aria("label", "Inspector").Body(
			app.H2().Text("Inspect"),
			app.P().Text("Hover, tap or use the arrow keys on a cell to see the model's top candidates for it and the step that committed it."),
		)
	}
	in := i.In
	var when string
	switch {
	case in.Prompt:
		when = "Part of the prompt: it stays as written."
	case in.CommitStep >= 0:
		when = fmt.Sprintf("Committed at step %d as “%s”, which the model gave %s.", in.CommitStep+1,
			displayToken(i.Tokens, in.Commit.Token), percent(in.Commit.Prob))
	case in.LaterStep >= 0:
		when = fmt.Sprintf("Still masked here; step %d commits it as “%s”.", in.LaterStep+1,
			displayToken(i.Tokens, in.Commit.Token))
	default:
		when = "Still masked."
	}
	heading := "Top candidates"
	if in.AtStep >= 0 {
		heading = fmt.Sprintf("Top candidates at step %d", in.AtStep+1)
	}
	return app.Aside().Class("inspector").DataSet("testid", "inspector").Aria("label", "Inspector").Aria("live", "polite").Body(
		app.Div().Class("inspector-head").Body(
			app.H2().Text(fmt.Sprintf("Position %d", in.Pos)),
			app.Button().Type("button").Aria("label", "Close the inspector").DataSet("testid", "inspector-close").
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewActionWithValue(actInspect, -1) }).
				Text("×"),
		),
		app.P().Text(when),
		app.If(len(in.Candidates) > 0,
			app.H3().Text(heading),
			app.Ol().Class("candidates").Body(app.Range(in.Candidates).Slice(func(k int) app.UI {
				c := in.Candidates[k]
				chosen := in.CommitStep >= 0 && c.Token == in.Commit.Token
				cls := "candidate"
				if chosen {
					cls += " chosen"
				}
				return app.Li().Class(cls).Body(
					app.Span().Class("tok").Text(displayToken(i.Tokens, c.Token)),
					app.Span().Class("bar").Style("--w", fmt.Sprintf("%.1f%%", 100*c.Prob)),
					app.Span().Class("prob").Text(fmt.Sprintf("%.1f%%", 100*c.Prob)),
				)
			})),
		),
	)
}

// percent writes a probability for people: one decimal, and "under 0.1%"
// rather than a misleading 0.0% for a sampled long shot.
func percent(p float64) string {
	if p < 0.001 {
		return "under 0.1%"
	}
	return fmt.Sprintf("%.1f%%", 100*p)
}

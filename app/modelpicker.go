package main

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// modelPicker chooses among the shipped models, says what the chosen one
// can do, and offers a way out when it failed to load.
type modelPicker struct {
	app.Compo

	Selected string // modelEntry.ID
	Disabled bool
	Problem  *loadProblem // nil when the model loaded (or is loading)
}

// loadProblem is a failed model load in plain words, with what the
// visitor can do about it.
type loadProblem struct {
	Message string
	Detail  string // the worker's own words
	Other   string // ID of another model to offer, "" for none
}

// loadProblemOf words a load error for the visitor: a damaged file or an
// unreachable one gets a sentence of its own; anything else is shown as
// the worker said it. Retry is always offered, the other model when there
// is one.
func loadProblemOf(err *engineError, entry modelEntry) *loadProblem {
	if err == nil {
		return nil
	}
	lp := &loadProblem{Detail: err.Message}
	switch err.Code {
	case protocol.ErrModelDamaged:
		lp.Message = "The model file is damaged or incomplete."
	case protocol.ErrModelUnreachable:
		lp.Message = "The model file could not be downloaded: check the connection."
	default:
		lp.Message = "The model could not be loaded."
	}
	for _, m := range models {
		if m.ID != entry.ID {
			lp.Other = m.ID
			break
		}
	}
	return lp
}

func (m *modelPicker) Render() app.UI {
	entry := modelByID(m.Selected)
	return app.Div().Class("field model-picker").Body(
		app.Label().For("model").Text("Model"),
		app.Select().ID("model").DataSet("testid", "model").Disabled(m.Disabled).Aria("describedby", "model-note").
			OnChange(func(ctx app.Context, e app.Event) {
				ctx.NewActionWithValue(actModel, ctx.JSSrc().Get("value").String())
			}).
			Body(app.Range(models).Slice(func(i int) app.UI {
				return app.Option().Value(models[i].ID).Selected(models[i].ID == entry.ID).Text(models[i].Name)
			})),
		app.P().ID("model-note").Class("help model-note").DataSet("testid", "model-note").Text(entry.Note),
		m.renderProblem(),
	)
}

func (m *modelPicker) renderProblem() app.UI {
	lp := m.Problem
	if lp == nil {
		return app.Text("")
	}
	var other app.UI = app.Text("")
	if lp.Other != "" {
		other = app.Button().Type("button").Class("secondary").DataSet("testid", "use-other-model").
			OnClick(func(ctx app.Context, e app.Event) {
				if m.Problem != nil {
					ctx.NewActionWithValue(actModel, m.Problem.Other)
				}
			}).
			Text("Use " + modelByID(lp.Other).Name)
	}
	return app.Div().Class("model-problem").Role("alert").DataSet("testid", "model-problem").Body(
		app.P().Body(app.Strong().Text(lp.Message), app.Text(" "), app.Span().Class("help").Text("("+lp.Detail+")")),
		app.Div().Class("actions").Body(
			app.Button().Type("button").Class("primary").DataSet("testid", "retry").
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(actRetryModel) }).
				Text("Retry"),
			other,
		),
	)
}

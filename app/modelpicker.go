package main

import "github.com/maxence-charriere/go-app/v9/pkg/app"

// modelPicker chooses among the shipped models.
type modelPicker struct {
	app.Compo

	Selected string // modelEntry.ID
	Disabled bool
}

func (m *modelPicker) Render() app.UI {
	entry := modelByID(m.Selected)
	return app.Div().Class("field model-picker").Body(
		app.Label().For("model").Text("Model"),
		app.Select().ID("model").DataSet("testid", "model").Disabled(m.Disabled).
			OnChange(func(ctx app.Context, e app.Event) {
				ctx.NewActionWithValue(actModel, ctx.JSSrc().Get("value").String())
			}).
			Body(app.Range(models).Slice(func(i int) app.UI {
				return app.Option().Value(models[i].ID).Selected(models[i].ID == entry.ID).Text(models[i].Name)
			})),
		app.P().Class("help").Text(entry.About),
	)
}

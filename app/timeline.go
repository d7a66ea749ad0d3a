package main

import (
	"fmt"
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// timeline is the step slider with play, pause and single steps; it
// replays the recorded trace without running the model again.
type timeline struct {
	app.Compo

	Value    int // steps shown
	Max      int // steps in the trace (planned ones while generating)
	Playing  bool
	Running  bool
	HasTrace bool
}

func (t *timeline) seek(ctx app.Context, v int) {
	ctx.NewActionWithValue(actSeek, min(max(v, 0), t.Max))
}

func (t *timeline) Render() app.UI {
	idle := !t.HasTrace || t.Running
	label := "before step 1"
	if t.Value > 0 {
		label = fmt.Sprintf("after step %d of %d", t.Value, t.Max)
	}
	playLabel, playAction := "Play", actPlay
	if t.Playing {
		playLabel, playAction = "Pause", actPause
	}
	return app.Div().Class("timeline").Body(
		app.Button().Type("button").Class("icon").Aria("label", "Previous step").Title("Previous step").
			Disabled(idle || t.Value == 0).
			OnClick(func(ctx app.Context, e app.Event) { t.seek(ctx, t.Value-1) }).Text("◀"),
		app.Button().Type("button").Class("icon play").Aria("label", playLabel).Title(playLabel).
			DataSet("testid", "play").Disabled(idle).
			OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(playAction) }).
			Text(map[bool]string{false: "▶", true: "❚❚"}[t.Playing]),
		app.Button().Type("button").Class("icon").Aria("label", "Next step").Title("Next step").
			Disabled(idle || t.Value >= t.Max).
			OnClick(func(ctx app.Context, e app.Event) { t.seek(ctx, t.Value+1) }).Text("▶|"),
		app.Input().Type("range").Class("slider").DataSet("testid", "step-slider").
			Aria("label", "Step").Aria("valuetext", label).
			Min(0).Max(t.Max).Step(1).Value(t.Value).Disabled(!t.HasTrace).
			OnInput(func(ctx app.Context, e app.Event) {
				if v, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
					t.seek(ctx, v)
				}
			}),
		app.Span().Class("step-label").Text(label),
	)
}

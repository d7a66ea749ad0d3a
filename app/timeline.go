package main

import (
	"fmt"
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// timeline is the step slider with play, pause, single steps and the
// speed control; it moves through the recorded trace without running the
// model again, during a generation too.
type timeline struct {
	app.Compo

	Value   int // steps shown
	Max     int // steps in the trace (planned ones while generating)
	Playing bool
	Running bool
	Steps   int // steps recorded so far
	Pace    Pace
}

func (t *timeline) seek(ctx app.Context, v int) {
	ctx.NewActionWithValue(actSeek, min(max(v, 0), t.Steps))
}

func (t *timeline) Render() app.UI {
	none := t.Steps == 0
	label := "before step 1"
	if t.Value > 0 {
		label = fmt.Sprintf("after step %d of %d", t.Value, t.Max)
	}
	playLabel, playIcon := "Play", "▶"
	if t.Playing {
		playLabel, playIcon = "Pause", "❚❚"
	}
	nextLabel := "Next step"
	if t.Pace == PaceKey {
		nextLabel = "Next step (→ on the slider, or Enter here)"
	}
	return app.Div().Class("timeline-area").Body(
		app.Div().Class("timeline").Body(
			app.Button().Type("button").Class("icon").Aria("label", "Previous step").Title("Previous step").
				Disabled(none || t.Value == 0).
				OnClick(func(ctx app.Context, e app.Event) { t.seek(ctx, t.Value-1) }).Text("◀"),
			// One action for both states, read by the page when clicked:
			// go-app keeps a button's first handler, so a handler chosen
			// here by t.Playing would go stale.
			app.Button().Type("button").Class("icon play").Aria("label", playLabel).Title(playLabel).
				DataSet("testid", "play").Disabled(none).
				OnClick(func(ctx app.Context, e app.Event) { ctx.NewAction(actPlay) }).
				Text(playIcon),
			app.Button().Type("button").ID("next-step").Class("icon").Aria("label", nextLabel).Title(nextLabel).
				DataSet("testid", "next-step").Disabled(none || t.Value >= t.Steps).
				OnClick(func(ctx app.Context, e app.Event) { t.seek(ctx, t.Value+1) }).Text("▶|"),
			app.Input().Type("range").Class("slider").DataSet("testid", "step-slider").
				Aria("label", "Step").Aria("valuetext", label).
				Min(0).Max(t.Max).Step(1).Value(t.Value).Disabled(none).
				OnInput(func(ctx app.Context, e app.Event) {
					if v, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
						t.seek(ctx, v)
					}
				}),
			app.Span().Class("step-label").Text(label),
		),
		app.Div().Class("field inline speed").Body(
			app.Label().For("speed").Body(app.Text("Speed "), app.Output().For("speed").Text(t.Pace.Label())),
			app.Input().Type("range").ID("speed").DataSet("testid", "speed").
				Min(0).Max(len(paces)-1).Step(1).Value(paceIndex(t.Pace)).
				Aria("valuetext", t.Pace.Label()).Aria("describedby", "speed-help").
				OnInput(func(ctx app.Context, e app.Event) {
					if i, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil && i >= 0 && i < len(paces) {
						ctx.NewActionWithValue(actPace, paces[i])
					}
				}),
			app.Span().ID("speed-help").Class("help").Text("How fast the canvas moves through the steps, live and in a replay."),
		),
	)
}

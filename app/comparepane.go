package main

import (
	"fmt"
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/engine"
)

// actCompareSide carries a comparePane's new settings (a sideChange) to
// the Compare view.
const actCompareSide = "compare-side"

// sideChange is one side's new settings.
type sideChange struct {
	Side     int
	Settings Settings
}

// comparePane is one side of the Compare view: its configuration, its
// canvas at the shared slider's step, its numbers and the order in which
// its positions were filled.
type comparePane struct {
	app.Compo

	Side     int // 0 left, 1 right
	Settings Settings
	Cells    []Cell // the canvas at the step shown
	Tokens   []string
	EOS      int
	Order    []int // the step that filled each generated position (done runs)
	Stats    runStats
	Causal   bool   // the loaded model is autoregressive
	Note     string // what this side could not do as asked (an AR model and a blank)
	Problem  string
	Disabled bool
}

// newComparePane is comparePane's constructor.
func newComparePane(side int) *comparePane { return &comparePane{Side: side} }

func (p *comparePane) name() string { return []string{"compare-left", "compare-right"}[p.Side] }

func (p *comparePane) change(ctx app.Context, edit func(*Settings)) {
	s := p.Settings
	edit(&s)
	ctx.NewActionWithValue(actCompareSide, sideChange{Side: p.Side, Settings: s})
}

func (p *comparePane) Render() app.UI {
	entry, _ := anyModelByID(p.Settings.Model)
	o := p.Settings.Options
	id := func(field string) string { return p.name() + "-" + field }
	all := allModels()
	dash := func(ok bool, f string, v ...any) string {
		if !ok {
			return "–"
		}
		return fmt.Sprintf(f, v...)
	}
	st := p.Stats
	return app.Section().Class("panel compare-pane").DataSet("testid", p.name()).
		Aria("label", []string{"Left", "Right"}[p.Side]+" configuration").Body(
		app.H3().Text([]string{"Left", "Right"}[p.Side]+": "+entry.Name),
		app.Div().Class("compare-fields").Body(
			app.Div().Class("field").Body(
				app.Label().For(id("model")).Text("Model"),
				app.Select().ID(id("model")).DataSet("testid", id("model")).Disabled(p.Disabled).
					OnChange(func(ctx app.Context, e app.Event) {
						v := ctx.JSSrc().Get("value").String()
						p.change(ctx, func(s *Settings) { s.Model = v })
					}).
					Body(app.Range(all).Slice(func(i int) app.UI {
						return app.Option().Value(all[i].ID).Selected(all[i].ID == entry.ID).Text(all[i].Name)
					})),
			),
			p.number(id("len"), "Tokens", o.GenLength, 1, maxTokens, func(s *Settings, n int) { s.Options.GenLength = n }),
			app.If(!p.Causal,
				p.number(id("steps"), "Steps", o.Steps, 1, maxSteps, func(s *Settings, n int) { s.Options.Steps = n }),
				p.number(id("block"), "Block length", o.BlockLength, 1, maxTokens, func(s *Settings, n int) { s.Options.BlockLength = n }),
				choiceField(p, id("remask"), "Remasking", engine.Remaskings, o.Remasking, func(s *Settings, v engine.Remasking) { s.Options.Remasking = v }),
				p.real(id("threshold"), "Threshold (0: fixed steps)", o.Threshold, 0, 1, func(s *Settings, f float64) { s.Options.Threshold = f }),
				choiceField(p, id("cache"), "Cache", engine.Caches, o.Cache, func(s *Settings, v engine.Cache) { s.Options.Cache = v }),
			),
			p.real(id("temp"), "Temperature", o.Temperature, 0, maxTemp, func(s *Settings, f float64) { s.Options.Temperature = f }),
		),
		app.If(p.Causal, app.P().Class("help").Text("Autoregressive: one token per forward pass, left to right, with a key/value cache; "+
			"steps, blocks, remasking, threshold and cache are diffusion settings and do not apply.")),
		app.If(p.Note != "", app.P().Class("notice").DataSet("testid", id("note")).Text(p.Note)),
		&canvasView{Name: id("canvas"), Cells: p.Cells, Tokens: p.Tokens, Selected: -1, EOS: p.EOS, Planned: o.GenLength},
		app.Dl().Class("compare-stats").DataSet("testid", id("stats")).Body(
			app.Dt().Text("Forward passes"), app.Dd().Text(dash(st.Done, "%d", st.ForwardPasses)),
			app.Dt().Text("Steps"), app.Dd().Text(dash(st.Steps > 0, "%d", st.Steps)),
			app.Dt().Text("Time"), app.Dd().Text(dash(st.Done, "%.0f ms", st.ElapsedMS)),
			app.Dt().Text("Tokens/s"), app.Dd().Text(dash(st.Done && st.TokensPerS > 0, "%.0f", st.TokensPerS)),
		),
		renderFillOrder(p.Order),
		app.If(p.Problem != "", app.P().Class("problem").Role("alert").Text(p.Problem)),
	)
}

// renderFillOrder shows, position by position, the step that filled it.
func renderFillOrder(order []int) app.UI {
	if len(order) == 0 {
		return app.P().Class("help").Text("The order in which positions were filled appears here once the run is done.")
	}
	return fillOrder(order, "Order of filling: the step that filled each generated position, darker is earlier.")
}

func (p *comparePane) number(id, label string, v, lo, hi int, set func(*Settings, int)) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Input().Type("number").ID(id).DataSet("testid", id).Min(lo).Max(hi).Value(v).Disabled(p.Disabled).
			OnChange(func(ctx app.Context, e app.Event) {
				if n, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
					p.change(ctx, func(s *Settings) { set(s, min(max(n, lo), hi)) })
				}
			}),
	)
}

func (p *comparePane) real(id, label string, v, lo, hi float64, set func(*Settings, float64)) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Input().Type("number").ID(id).DataSet("testid", id).Min(lo).Max(hi).Step(0.05).Value(strconv.FormatFloat(v, 'g', -1, 64)).Disabled(p.Disabled).
			OnChange(func(ctx app.Context, e app.Event) {
				if f, err := strconv.ParseFloat(ctx.JSSrc().Get("value").String(), 64); err == nil && f == f {
					p.change(ctx, func(s *Settings) { set(s, min(max(f, lo), hi)) })
				}
			}),
	)
}

// choiceField is a drop-down over the named choices of one setting.
func choiceField[T ~string](p *comparePane, id, label string, choices []T, v T, set func(*Settings, T)) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Select().ID(id).DataSet("testid", id).Disabled(p.Disabled).
			OnChange(func(ctx app.Context, e app.Event) {
				val := T(ctx.JSSrc().Get("value").String())
				p.change(ctx, func(s *Settings) { set(s, val) })
			}).
			Body(app.Range(choices).Slice(func(i int) app.UI {
				return app.Option().Value(string(choices[i])).Selected(choices[i] == v).Text(string(choices[i]))
			})),
	)
}

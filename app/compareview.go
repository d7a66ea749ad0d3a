package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// compareView runs one prompt through two configurations at once, side by
// side: each side its own engine client and worker, both canvases on one
// shared step slider. Its settings live in the URL (comparepresets.go).
type compareView struct {
	app.Compo

	preset  string // the preset the settings came from ("" once changed)
	prompt  string
	sides   [2]Settings
	notices []string

	runners   [2]*sideRunner
	notes     [2]string // what a side could not do as asked
	view      int       // the step both canvases show
	following bool      // the slider follows the live run
	gc        idleCollector
}

// newCompareView is the Compare view's constructor.
func newCompareView() app.Composer {
	p := comparePresets[0]
	return &compareView{preset: p.ID, prompt: p.Prompt, sides: [2]Settings{p.Left, p.Right}}
}

func (v *compareView) OnMount(ctx app.Context) {
	if app.IsServer {
		return
	}
	preset, prompt, sides, errs := parseCompare(ctx.Page().URL().Query())
	v.preset, v.prompt, v.sides = preset, prompt, sides
	for _, err := range errs {
		v.notices = append(v.notices, err.Error())
	}
	ctx.Handle(actCompareSide, func(ctx app.Context, a app.Action) {
		if c, ok := a.Value.(sideChange); ok && c.Side >= 0 && c.Side < 2 && !v.busy() {
			v.sides[c.Side], v.preset = c.Settings, ""
			v.writeURL(ctx)
			v.previewAll(ctx)
		}
	})
	for i := range v.runners {
		v.runners[i] = newSideRunner(ctx)
	}
	holdGC()
	v.writeURL(ctx) // the whole configuration, whatever the link left out
	v.previewAll(ctx)
}

func (v *compareView) OnDismount() {
	for _, r := range v.runners {
		if r != nil {
			r.close()
		}
	}
}

// busy says whether a side is loading or running (or the workers are not
// started yet).
func (v *compareView) busy() bool {
	return v.runners[0] == nil || v.runners[0].busy() || v.runners[1].busy()
}

// writeURL records the settings in the address bar without a navigation.
func (v *compareView) writeURL(ctx app.Context) {
	u := *ctx.Page().URL()
	u.RawQuery = compareQuery(v.preset, v.prompt, v.sides).Encode()
	if history := app.Window().Get("history"); history.Truthy() {
		history.Call("replaceState", nil, "", u.String())
	}
}

func (v *compareView) pickPreset(ctx app.Context, id string) {
	p, ok := presetByID(id)
	if !ok || v.busy() {
		return
	}
	v.preset, v.prompt, v.sides, v.notes = p.ID, p.Prompt, [2]Settings{p.Left, p.Right}, [2]string{}
	for _, r := range v.runners {
		r.trace, r.err = nil, ""
	}
	v.writeURL(ctx)
	v.previewAll(ctx)
}

// request is side i's generation: the shared prompt with its settings.
// An autoregressive model reads only the text before the first blank; note
// then says so.
func (v *compareView) request(i int) (req protocol.GenerateRequest, note string) {
	r, s := v.runners[i], v.sides[i]
	entry, _ := anyModelByID(s.Model)
	prompt := v.prompt
	if before, _, blank := strings.Cut(prompt, "___"); blank && r.model.Config.Causal {
		prompt = strings.TrimRight(before, " ")
		note = "A left-to-right model cannot look at text after the blank: " +
			"it sees only “" + strings.TrimSpace(before) + "” and continues from there."
	}
	o := s.Options
	o.TopK = 1
	return protocol.GenerateRequest{Prompt: prompt, Blank: s.Blank, Chat: entry.Chat && r.model.Chat,
		Options: protocol.WireOptions(o)}, note
}

// previewAll shows each side's starting canvas (its prompt and masks) once
// its model is in, as the page does: the canvas is drawn before a run, so
// a run's steps only change cells.
func (v *compareView) previewAll(ctx app.Context) {
	for i, r := range v.runners {
		side := i
		r.withModel(ctx, modelFile(v.sides[i].Model), func(ctx app.Context) {
			req, _ := v.request(side)
			want := v.prompt
			r.client.Tokenize(ctx, req, func(ctx app.Context, ids []int) {
				if r.model != nil && v.prompt == want {
					r.preview = previewCells(ids, req.Options.GenLength, r.model.Config.MaskTokenID)
				}
			}, func(app.Context, *engineError) { r.preview = nil })
			v.gc.schedule(ctx, v.busy)
		})
	}
}

// run starts both sides at once, each loading its model first if needed.
// The second side starts about a frame after the first, in a browser task
// of its own (Go's timers with no delay run before the browser gets
// control back), so no task carries both starts.
func (v *compareView) run(ctx app.Context) {
	if v.busy() {
		return
	}
	v.view, v.following, v.notes = 0, true, [2]string{}
	for i, r := range v.runners {
		r.trace = nil
		r.running = true // busy from the click on
		time.AfterFunc(time.Duration(i)*sideStartGap, func() { ctx.Dispatch(func(ctx app.Context) { v.start(ctx, i) }) })
	}
}

// sideStartGap separates the two sides' starts by about a frame.
const sideStartGap = 16 * time.Millisecond

// start runs side i, loading its model first if needed.
func (v *compareView) start(ctx app.Context, i int) {
	r := v.runners[i]
	r.running = false // generate sets it again; a load keeps the side busy meanwhile
	r.withModel(ctx, modelFile(v.sides[i].Model), func(ctx app.Context) {
		req, note := v.request(i)
		v.notes[i] = note
		r.generate(ctx, req, func(ctx app.Context) {
			if v.following {
				v.view = v.longest()
			}
		}, func(ctx app.Context, _ *protocol.DoneInfo) {
			if v.following {
				v.view = v.longest()
			}
			if !v.busy() {
				v.gc.schedule(ctx, v.busy)
			}
		})
	})
}

// longest is the number of steps of the longer run.
func (v *compareView) longest() int {
	n := 0
	for _, r := range v.runners {
		if r != nil && r.trace != nil {
			n = max(n, r.trace.Len())
		}
	}
	return n
}

func (v *compareView) pane(i int) app.UI {
	p := newComparePane(i)
	p.Settings, p.Note, p.Disabled = v.sides[i], v.notes[i], v.busy()
	if r := v.runners[i]; r != nil {
		p.Tokens, p.EOS, p.Problem = r.tokens(), eosID(r.model), r.err
		p.Causal = r.model != nil && r.model.Config.Causal && r.file == modelFile(v.sides[i].Model)
		p.Cells = r.preview
		if r.trace != nil && r.trace.Len() > 0 {
			p.Cells = r.trace.View(min(v.view, r.trace.Len()))
		}
		if r.trace != nil {
			p.Stats = statsOf(r.trace)
			if r.trace.Done != nil {
				p.Order = r.trace.CommitOrder()
			}
		}
	}
	return p
}

func modelFile(id string) string {
	m, _ := anyModelByID(id)
	return m.File
}

func (v *compareView) Render() app.UI {
	status := "Pick a preset or set each side, then press Run both."
	failed := v.runners[0] != nil && (v.runners[0].err != "" || v.runners[1].err != "")
	switch {
	case failed && !v.busy():
		status = "A side could not run: its panel says why."
	case v.runners[0] != nil && (v.runners[0].loading || v.runners[1].loading):
		status = "Loading the models…"
	case v.busy():
		status = "Running both sides…"
	case v.runners[0] != nil && v.runners[0].trace != nil && v.runners[0].trace.Done != nil:
		status = "Done: drag the slider to replay both runs step by step."
	}
	longest := v.longest()
	note := ""
	if p, ok := presetByID(v.preset); ok {
		note = p.Note
	}
	return app.Div().Class("page").Body(
		&appHeader{Status: status, StatusError: failed && !v.busy()},
		newViewNav(viewCompare),
		app.If(len(v.notices) > 0, app.P().Class("notice").Role("alert").Text("Some settings in the link were changed or ignored: "+strings.Join(v.notices, "; "))),
		app.Main().Class("view").DataSet("testid", "view-compare").Body(
			app.Section().Class("panel").Aria("label", "Prompt and presets").Body(
				app.H2().Text("Compare"),
				app.Div().Class("field").Body(
					app.Label().For("compare-preset").Text("Preset"),
					app.Select().ID("compare-preset").DataSet("testid", "compare-preset").Disabled(v.busy()).
						OnChange(func(ctx app.Context, e app.Event) { v.pickPreset(ctx, ctx.JSSrc().Get("value").String()) }).
						Body(
							app.Option().Value("").Selected(v.preset == "").Text("Your own settings"),
							app.Range(comparePresets).Slice(func(i int) app.UI {
								return app.Option().Value(comparePresets[i].ID).Selected(comparePresets[i].ID == v.preset).Text(comparePresets[i].Name)
							}),
						),
					app.If(note != "", app.P().Class("help").DataSet("testid", "compare-preset-note").Text(note)),
				),
				app.Div().Class("field").Body(
					app.Label().For("compare-prompt").Text("Prompt (both sides; ___ is a blank to fill)"),
					app.Textarea().ID("compare-prompt").DataSet("testid", "compare-prompt").Disabled(v.busy()).Text(v.prompt).
						OnChange(func(ctx app.Context, e app.Event) {
							v.prompt, v.preset = ctx.JSSrc().Get("value").String(), ""
							v.writeURL(ctx)
							v.previewAll(ctx)
						}),
				),
				app.Div().Class("actions").Body(
					app.Button().Type("button").Class("primary").DataSet("testid", "compare-run").Disabled(v.busy()).
						OnClick(func(ctx app.Context, e app.Event) { v.run(ctx) }).Text("Run both"),
				),
			),
			app.Div().Class("pair").Body(v.pane(0), v.pane(1)),
			app.Section().Class("panel replay").Aria("label", "Replay").Body(
				app.Label().For("compare-step").Body(app.Text("Step (both sides) "),
					app.Output().For("compare-step").Text(strconv.Itoa(v.view)+" of "+strconv.Itoa(longest))),
				app.Input().Type("range").ID("compare-step").DataSet("testid", "compare-step").Min(0).Max(longest).Value(v.view).
					Disabled(longest == 0).
					OnInput(func(ctx app.Context, e app.Event) {
						if n, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
							v.view, v.following = min(max(n, 0), longest), false
						}
					}),
			),
		),
	)
}

package main

import (
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// page is the root view: it holds the settings, the page's engine client
// and what the canvas shows, and passes each part down to the child
// components. What it does with the engine is in run.go.
type page struct {
	app.Compo

	settings    Settings
	notices     []string        // problems with the URL's settings
	badText     map[string]bool // number fields whose typed text is not a number
	exampleNote string          // what picking an example changed besides the prompt

	client     *engineClient
	kernel     string // the worker's kernel path
	kernelNote string

	loadID   int // the Load request in flight, 0 when none
	loading  bool
	progress protocol.Bytes
	model    *protocol.ModelInfo
	loaded   string       // ID of the loaded model entry
	loadErr  *engineError // why the last load failed, nil when it did not

	status      string
	statusError bool

	genID    int // the Generate request whose steps are shown
	running  bool
	stopping bool
	runErr   string // why the last generation failed
	trace    *Trace
	player   player
	selected int // inspected position, -1 for none

	previewSeq int   // the latest preview asked for; older ones are dropped
	preview    []int // the prompt as the next generation will see it

	gc idleCollector
}

// newPage is the page's constructor, used by the router.
func newPage() app.Composer {
	s := defaultSettings()
	return &page{settings: s, player: player{pace: s.Pace}, selected: -1}
}

func (p *page) OnMount(ctx app.Context) {
	if app.IsServer {
		return
	}
	s, errs := parseSettings(ctx.Page().URL().Query())
	p.settings, p.player.pace = s, s.Pace
	for _, err := range errs {
		p.notices = append(p.notices, err.Error())
	}
	ctx.Handle(actSettings, p.onSettings)
	ctx.Handle(actPrompt, func(ctx app.Context, a app.Action) {
		if text, ok := a.Value.(string); ok {
			s := p.settings
			s.Prompt = text
			p.onSettings(ctx, app.Action{Value: s})
		}
	})
	ctx.Handle(actFieldText, p.onFieldText)
	ctx.Handle(actExample, p.onExample)
	ctx.Handle(actModel, p.onModel)
	ctx.Handle(actRetryModel, func(ctx app.Context, _ app.Action) { p.load(ctx, true) })
	ctx.Handle(actGenerate, func(ctx app.Context, _ app.Action) { p.generate(ctx) })
	ctx.Handle(actStop, func(ctx app.Context, _ app.Action) { p.stop(ctx) })
	ctx.Handle(actSeek, p.onSeek)
	ctx.Handle(actPlay, func(ctx app.Context, _ app.Action) { p.togglePlay(ctx) })
	ctx.Handle(actPace, p.onPace)
	ctx.Handle(actInspect, func(ctx app.Context, a app.Action) {
		if pos, ok := a.Value.(int); ok {
			p.selected = pos
		}
	})

	holdGC() // see gcpause.go
	p.connect(ctx)
}

func (p *page) Render() app.UI {
	entry := modelByID(p.settings.Model)
	ready := p.model != nil && !p.loading
	var cells []Cell
	var summaries []StepSummary
	var inspection *Inspection
	var stepText, stepNote string
	sliderMax := p.settings.Options.Steps
	switch {
	case p.trace != nil && p.trace.Len() == 0 && p.preview != nil && p.model != nil:
		// Until the first step arrives the canvas keeps the preview: the
		// same cells, so Generate costs no redraw of the whole canvas.
		cells = previewCells(p.preview, p.settings.Options.GenLength, p.model.Config.MaskTokenID)
		sliderMax = p.trace.SliderMax()
	case p.trace != nil:
		cells = p.trace.View(p.player.view)
		summaries = p.trace.Summaries()
		sliderMax = p.trace.SliderMax()
		if p.selected >= 0 && p.selected < len(cells) {
			in := p.trace.Inspect(p.selected, p.player.view)
			inspection = &in
		}
		stepText = p.trace.Text(p.player.view, p.tokens())
		stepNote = p.trace.ThresholdNote(p.player.view)
	case p.preview != nil && p.model != nil:
		cells = previewCells(p.preview, p.settings.Options.GenLength, p.model.Config.MaskTokenID)
	}
	var order []int
	if p.trace != nil && p.trace.Done != nil {
		order = p.trace.CommitOrder()
	}
	problems := p.problems()
	return app.Div().Class("page").Body(
		&appHeader{
			Status: p.status, StatusError: p.statusError, Loading: p.loading,
			Loaded: p.progress.Loaded, Total: p.progress.Total,
			Kernel: p.kernel, KernelNote: p.kernelNote,
		},
		newViewNav(""),
		app.If(len(p.notices) > 0, app.P().Class("notice").Role("alert").Text("Some settings in the link were changed or ignored: "+strings.Join(p.notices, "; "))),
		app.Main().Class("layout").Body(
			app.Section().Class("panel prompt-panel").Aria("label", "Prompt").Body(
				&modelPicker{Selected: entry.ID, Disabled: p.running, Problem: loadProblemOf(p.loadErr, entry)},
				&promptBox{Prompt: p.settings.Prompt, Examples: entry.Examples, ExampleNote: p.exampleNote,
					Ready: ready, Running: p.running, Stopping: p.stopping, Chat: entry.Chat,
					Blocked: blockedReason(problems), RunError: p.runErr},
			),
			app.Section().Class("panel output").Aria("label", "Denoising").Body(
				&canvasView{Cells: cells, Tokens: p.tokens(), Selected: p.selected, EOS: eosID(p.model),
					Planned: p.settings.Options.GenLength, Run: p.genID,
					ShowBlock: p.trace != nil && (p.running || p.player.view < p.trace.Len())},
				legend(),
				&timeline{Value: p.player.view, Max: sliderMax, Playing: p.player.playing, Running: p.running,
					Steps: p.traceLen(), Pace: p.player.pace},
				app.If(stepNote != "", app.P().Class("step-note help").DataSet("testid", "threshold-note").Text(stepNote)),
				app.If(p.trace != nil && p.trace.Len() > 0,
					app.Blockquote().Class("output-text").DataSet("testid", "step-text").
						Aria("label", "Text at the step shown").Text(stepText),
				),
				app.Div().Class("detail").Body(
					&inspector{In: inspection, Tokens: p.tokens(), View: p.player.view, MaskID: maskID(p.model)},
					&stepChart{Steps: summaries, Current: p.player.view, Planned: sliderMax},
				),
				&statsView{Trace: statsOf(p.trace), Model: p.model, Kernel: p.kernel, Entry: entry.Name},
			),
			app.Section().Class("panel settings-panel").Aria("label", "Sampler settings").Body(
				&samplerControls{Settings: p.settings, Disabled: p.running, MaxTokens: p.room(), Problems: problems},
			),
		),
		&explainer{ModelFile: entry.File, Start: ready, Order: order},
		app.Footer().Class("footer").Body(
			app.Text("Unmask runs a small LLaDA masked diffusion model entirely in your browser: "),
			app.Text("the engine is Go compiled to WebAssembly, in a Web Worker. Nothing leaves this page."),
		),
	)
}

// tokens is the display text of every id of the loaded model.
func (p *page) tokens() []string {
	if p.model == nil {
		return nil
	}
	return p.model.Tokens
}

// traceLen is the number of steps recorded.
func (p *page) traceLen() int {
	if p.trace == nil {
		return 0
	}
	return p.trace.Len()
}

// legend explains the canvas's cell styles.
func legend() app.UI {
	item := func(class, sample, label string) app.UI {
		return app.Li().Body(app.Span().Class("cell "+class).Aria("hidden", true).Text(sample), app.Text(label))
	}
	return app.Ul().Class("legend").Aria("label", "Legend").Body(
		item("prompt", "Aa", "prompt"),
		item("masked", "", "mask"),
		item("new sure", "new", "just committed, sure"),
		item("new unsure", "new", "just committed, unsure"),
		item("kept", "old", "committed earlier"),
		item("eos", "eos", "end of text"),
		item("block block-start block-end", " ", "active block"),
		item("kept cached", "old", "from the cache, not recomputed this step"),
	)
}

func eosID(m *protocol.ModelInfo) int {
	if m == nil {
		return -1
	}
	return m.Config.EOSTokenID
}

func maskID(m *protocol.ModelInfo) int {
	if m == nil {
		return -1
	}
	return m.Config.MaskTokenID
}

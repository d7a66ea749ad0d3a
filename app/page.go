package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
	"unmask/engine"
)

// Actions the child components raise; the page handles them all, so it is
// the one place where the view's state changes.
const (
	actSettings = "settings" // Settings: a control changed
	actModel    = "model"    // string: another model picked
	actGenerate = "generate"
	actStop     = "stop"
	actSeek     = "seek"    // int: show the canvas after that many steps
	actPlay     = "play"    // replay the trace from the slider's position
	actPause    = "pause"   // stop replaying
	actInspect  = "inspect" // int: the position to inspect (-1: none)
	actExplain  = "explain" // []int: ids for the explainer's masked sentence
)

// playDelay is the time between two steps of a replay.
const playDelay = 140 * time.Millisecond

// page is the whole visualizer: it owns the settings, talks to the engine
// worker and passes what each part shows down to the child components.
type page struct {
	app.Compo

	settings Settings
	notices  []string // problems with the URL's settings

	link   engineLink
	nextID int
	inbox  stepInbox // steps received, not yet shown

	kernel     string // the worker's kernel path
	kernelNote string

	loadID   int // the Load request in flight, 0 when none
	loading  bool
	progress protocol.Bytes
	model    *protocol.ModelInfo
	loaded   string // ID of the loaded model entry

	status      string
	statusError bool

	genID    int // the Generate request whose steps are shown
	running  bool
	stopping bool
	trace    *Trace
	view     int // steps shown: 0..trace.Len()
	follow   bool
	playing  bool
	selected int // inspected position, -1 for none

	previewID  int
	previewSeq int   // the latest preview asked for; older ones are dropped
	preview    []int // the prompt as the next generation will see it

	explainID   int
	explainIDs  []int // the explainer's sentence with its masks
	explainDone *protocol.StepInfo
	explainBusy bool
	sentenceID  int
	sentence    []int // the explainer's sentence, tokenized by the worker
}

// newPage is the page's constructor, used by the router.
func newPage() app.Composer {
	return &page{settings: defaultSettings(), selected: -1}
}

func (p *page) OnMount(ctx app.Context) {
	if app.IsServer {
		return
	}
	s, errs := parseSettings(ctx.Page().URL().Query())
	p.settings = s
	for _, err := range errs {
		p.notices = append(p.notices, err.Error())
	}
	ctx.Handle(actSettings, p.onSettings)
	ctx.Handle(actModel, p.onModel)
	ctx.Handle(actGenerate, func(ctx app.Context, _ app.Action) { p.generate(ctx) })
	ctx.Handle(actStop, func(ctx app.Context, _ app.Action) { p.stop(ctx) })
	ctx.Handle(actSeek, p.onSeek)
	ctx.Handle(actPlay, func(ctx app.Context, _ app.Action) { p.play(ctx) })
	ctx.Handle(actPause, func(ctx app.Context, _ app.Action) { p.playing = false })
	ctx.Handle(actInspect, func(ctx app.Context, a app.Action) {
		if pos, ok := a.Value.(int); ok {
			p.selected = pos
		}
	})
	ctx.Handle(actExplain, p.onExplain)

	holdGC() // see gcpause.go
	link, err := startEngine(func(r protocol.Response) {
		if r.Type == protocol.StepDone {
			if p.inbox.add(r) {
				time.AfterFunc(stepBatch, func() { ctx.Dispatch(p.takeSteps) })
			}
			return
		}
		// Steps received before any other message are applied first.
		ctx.Dispatch(func(ctx app.Context) {
			p.takeSteps(ctx)
			p.onResponse(ctx, r)
		})
	})
	if err != nil {
		p.setStatus(err.Error(), true)
		return
	}
	p.link = link
	p.load(ctx)
}

// takeSteps applies the steps waiting in the inbox.
func (p *page) takeSteps(ctx app.Context) {
	for _, r := range p.inbox.take() {
		p.onResponse(ctx, r)
	}
}

// send posts a request and returns its id.
func (p *page) send(req protocol.Request) int {
	if p.link == nil {
		return 0
	}
	p.nextID++
	req.ID = p.nextID
	if err := p.link.Send(req); err != nil {
		p.setStatus(err.Error(), true)
		return 0
	}
	return req.ID
}

func (p *page) setStatus(msg string, isError bool) {
	p.status, p.statusError = msg, isError
}

// load asks the worker for the selected model.
func (p *page) load(ctx app.Context) {
	entry := modelByID(p.settings.Model)
	if p.loaded == entry.ID && p.model != nil {
		return
	}
	if p.running {
		// The worker cancels the generation when the load arrives; its
		// last messages belong to no view any more.
		p.running, p.stopping, p.genID = false, false, 0
	}
	p.model, p.loaded, p.loading = nil, "", true
	p.progress = protocol.Bytes{}
	p.sentence, p.explainIDs, p.explainDone, p.preview = nil, nil, nil, nil
	// The trace's ids mean nothing to another model's vocabulary.
	p.trace, p.view, p.playing, p.selected = nil, 0, false, -1
	p.setStatus("Downloading "+entry.Name+"…", false)
	p.loadID = p.send(protocol.Request{Type: protocol.Load, Load: entry.loadRequest()})
}

// complete says whether a response carries the part its type promises.
func complete(r protocol.Response) bool {
	switch r.Type {
	case protocol.Hello:
		return r.Hello != nil
	case protocol.Progress:
		return r.Progress != nil
	case protocol.Ready:
		return r.Ready != nil
	case protocol.StepDone:
		return r.Step != nil
	case protocol.Done:
		return r.Done != nil
	}
	return true
}

// onResponse applies one message from the worker.
func (p *page) onResponse(ctx app.Context, r protocol.Response) {
	if !complete(r) {
		p.setStatus("the engine worker sent an incomplete "+r.Type+" message", true)
		return
	}
	switch r.Type {
	case protocol.Hello:
		p.kernel, p.kernelNote = r.Hello.KernelPath, r.Hello.Note
	case protocol.Progress:
		if r.ID == p.loadID {
			p.progress = *r.Progress
		}
	case protocol.Ready:
		if r.ID != p.loadID {
			return
		}
		p.loading, p.loadID = false, 0
		p.model = r.Ready
		p.loaded = p.settings.Model
		p.kernel = r.Ready.KernelPath
		p.setStatus(fmt.Sprintf("Ready: %s loaded in %.0f ms. Press Generate.", modelByID(p.loaded).Name, r.Ready.LoadMS), false)
		p.sentenceID = p.send(protocol.Request{Type: protocol.Tokenize, Text: explainSentence})
		p.askPreview(ctx)
		collectWhenIdle(ctx, p.busy)
	case protocol.Tokens:
		switch r.ID {
		case p.sentenceID:
			p.sentence = r.IDs
			// The explainer opens with the model's guesses for its masked
			// sentence (one forward pass in the worker).
			p.onExplain(ctx, app.Action{Value: maskedAt(r.IDs, explainStartT, p.model.Config.MaskTokenID)})
		case p.previewID:
			p.preview = r.IDs
		}
	case protocol.StepDone:
		switch {
		case r.ID == p.genID && p.trace != nil:
			p.trace.Add(*r.Step)
			if p.follow {
				p.view = p.trace.Len()
			}
			p.setStatus(fmt.Sprintf("Generating: step %d of %d…", p.trace.Len(), p.trace.Planned), false)
		case r.ID == p.explainID:
			if p.explainDone == nil {
				step := *r.Step
				p.explainDone = &step
			}
		}
	case protocol.Done:
		switch {
		case r.ID == p.genID && p.trace != nil:
			p.endGeneration(ctx)
			p.trace.Done = r.Done
			if p.follow {
				p.view = p.trace.Len()
			}
			verb := "Done"
			if r.Done.Stopped {
				verb = "Stopped"
			}
			p.setStatus(fmt.Sprintf("%s: %d steps, %d forward passes in %.0f ms.", verb,
				r.Done.Steps, r.Done.ForwardPasses, r.Done.ElapsedMS), false)
		case r.ID == p.explainID:
			p.explainBusy = false
			collectWhenIdle(ctx, p.busy)
		}
	case protocol.Error:
		switch r.ID {
		case 0: // the worker itself
		case p.loadID:
			p.loading, p.loadID = false, 0
		case p.genID:
			if !p.running {
				return
			}
			p.endGeneration(ctx)
		case p.explainID:
			p.explainBusy = false
		case p.sentenceID:
		case p.previewID:
			p.preview = nil
			return // the same problem shows when generating
		default:
			return // a request the page has moved on from (a replaced download)
		}
		p.setStatus(r.Error, true)
	}
}

// onSettings takes the controls' new settings and records them in the URL.
func (p *page) onSettings(ctx app.Context, a app.Action) {
	s, ok := a.Value.(Settings)
	if !ok {
		return
	}
	p.settings = s
	p.writeURL(ctx)
	p.askPreview(ctx)
}

// previewDelay lets typing settle before the prompt is encoded again.
const previewDelay = 150 * time.Millisecond

// askPreview has the worker encode the prompt as a generation would, so the
// canvas shows the prompt and its masks before Generate (and a generation's
// first step finds its cells already there).
func (p *page) askPreview(ctx app.Context) {
	p.previewSeq++
	seq := p.previewSeq
	ctx.After(previewDelay, func(ctx app.Context) {
		if seq != p.previewSeq || p.model == nil || p.loading {
			return
		}
		p.previewID = p.send(protocol.Request{Type: protocol.Tokenize, Generate: &protocol.GenerateRequest{
			Prompt: p.settings.Prompt, Blank: p.settings.Blank, Chat: modelByID(p.loaded).Chat && p.model.Chat,
		}})
	})
}

func (p *page) onModel(ctx app.Context, a app.Action) {
	id, ok := a.Value.(string)
	if !ok || id == p.settings.Model {
		return
	}
	old, next := modelByID(p.settings.Model), modelDefaults(id)
	// An untouched example prompt and untouched sampler settings follow
	// the model.
	for _, ex := range old.Examples {
		if p.settings.Prompt == ex {
			p.settings.Prompt = next.Prompt
		}
	}
	if p.settings.Options == modelDefaults(old.ID).Options {
		p.settings.Options = next.Options
	}
	p.settings.Model = next.Model
	p.writeURL(ctx)
	p.load(ctx)
}

// writeURL puts the settings in the address bar without a navigation.
func (p *page) writeURL(ctx app.Context) {
	u := *ctx.Page().URL()
	u.RawQuery = p.settings.Query().Encode()
	history := app.Window().Get("history")
	if history.Truthy() {
		history.Call("replaceState", nil, "", u.String())
	}
}

// generate starts a generation with the current settings.
func (p *page) generate(ctx app.Context) {
	if p.model == nil || p.running {
		return
	}
	if err := p.settings.Check(0, p.model.Config.MaxSequenceLen); err != nil {
		p.setStatus(err.Error(), true)
		return
	}
	opts := p.settings.Options
	opts.TopK = 5
	p.trace = &Trace{Mask: p.model.Config.MaskTokenID, EOS: p.model.Config.EOSTokenID, Planned: opts.Steps}
	p.view, p.follow, p.playing, p.selected = 0, true, false, -1
	p.running, p.stopping = true, false
	p.setStatus("Generating…", false)
	p.genID = p.send(protocol.Request{Type: protocol.Generate, Generate: &protocol.GenerateRequest{
		Prompt: p.settings.Prompt, Blank: p.settings.Blank, Chat: modelByID(p.loaded).Chat && p.model.Chat,
		Options: opts,
	}})
}

// endGeneration marks the generation over; the page collects garbage once
// it is idle (gcpause.go).
func (p *page) endGeneration(ctx app.Context) {
	p.running, p.stopping = false, false
	collectWhenIdle(ctx, p.busy)
}

// busy says whether the page is streaming a generation or loading a model.
func (p *page) busy() bool { return p.running || p.loading }

func (p *page) stop(ctx app.Context) {
	if !p.running {
		return
	}
	p.stopping = true
	p.send(protocol.Request{Type: protocol.Stop})
	p.setStatus("Stopping after this step…", false)
}

func (p *page) onSeek(ctx app.Context, a app.Action) {
	v, ok := a.Value.(int)
	if !ok || p.trace == nil {
		return
	}
	p.view = min(max(v, 0), p.trace.Len())
	p.follow = p.running && p.view == p.trace.Len()
	p.playing = false
}

// play replays the recorded steps from the slider's position (from the
// start when it is at the end), one step per playDelay.
func (p *page) play(ctx app.Context) {
	if p.trace == nil || p.trace.Len() == 0 || p.running {
		return
	}
	if p.view >= p.trace.Len() {
		p.view = 0
	}
	p.playing, p.follow = true, false
	var tick func(ctx app.Context)
	tick = func(ctx app.Context) {
		if !p.playing {
			return
		}
		if p.view >= p.trace.Len() {
			p.playing = false
			return
		}
		p.view++
		ctx.After(playDelay, tick)
	}
	ctx.After(playDelay, tick)
}

// onExplain asks the model for its predictions on the explainer's masked
// sentence: one step of a generation that only infills.
func (p *page) onExplain(ctx app.Context, a app.Action) {
	ids, ok := a.Value.([]int)
	if !ok || p.model == nil || p.running || p.explainBusy {
		return
	}
	p.explainIDs, p.explainDone, p.explainBusy = ids, nil, true
	p.explainID = p.send(protocol.Request{Type: protocol.Generate, Generate: &protocol.GenerateRequest{
		IDs: ids, Options: engine.Options{Steps: 1, Remasking: engine.LowConfidence, TopK: 3},
	}})
}

func (p *page) Render() app.UI {
	entry := modelByID(p.settings.Model)
	ready := p.model != nil && !p.loading
	var cells []Cell
	var summaries []StepSummary
	var inspection *Inspection
	maxSteps := p.settings.Options.Steps
	if p.trace != nil {
		cells = p.trace.View(p.view)
		summaries = p.trace.Summaries()
		maxSteps = p.trace.SliderMax()
		if p.selected >= 0 && p.selected < len(cells) {
			in := p.trace.Inspect(p.selected, p.view)
			inspection = &in
		}
	} else if p.preview != nil && p.model != nil {
		cells = previewCells(p.preview, p.settings.Options.GenLength, p.model.Config.MaskTokenID)
	}
	var order []int
	if p.trace != nil && p.trace.Done != nil {
		order = p.trace.CommitOrder()
	}
	var tokens []string
	maxLen := 0
	if p.model != nil {
		tokens = p.model.Tokens
		maxLen = p.model.Config.MaxSequenceLen
	}
	return app.Div().Class("page").Body(
		&appHeader{
			Status: p.status, StatusError: p.statusError, Loading: p.loading,
			Loaded: p.progress.Loaded, Total: p.progress.Total,
			Kernel: p.kernel, KernelNote: p.kernelNote,
		},
		app.If(len(p.notices) > 0, app.P().Class("notice").Text("Some settings in the link were ignored: "+strings.Join(p.notices, "; "))),
		app.Main().Class("layout").Body(
			app.Section().Class("panel prompt-panel").Aria("label", "Prompt").Body(
				&modelPicker{Selected: entry.ID, Disabled: p.running},
				&promptBox{Prompt: p.settings.Prompt, Settings: p.settings, Examples: entry.Examples,
					Ready: ready, Running: p.running, Stopping: p.stopping, Chat: entry.Chat},
			),
			app.Section().Class("panel output").Aria("label", "Denoising").Body(
				&canvasView{Cells: cells, Tokens: tokens, Selected: p.selected,
					Planned: p.settings.Options.GenLength, Run: p.genID,
					ShowBlock: p.trace != nil && (p.running || p.view < p.trace.Len())},
				legend(),
				&timeline{Value: p.view, Max: maxSteps, Playing: p.playing, Running: p.running,
					HasTrace: p.trace != nil && p.trace.Len() > 0},
				app.If(p.trace != nil && p.trace.Done != nil && p.trace.Done.Text != "",
					app.Blockquote().Class("output-text").Aria("label", "Generated text").Body(
						app.Text(doneText(p.trace)),
					),
				),
				app.Div().Class("detail").Body(
					&inspector{In: inspection, Tokens: tokens, View: p.view, MaskID: maskID(p.model)},
					&stepChart{Steps: summaries, Current: p.view, Planned: maxSteps},
				),
				&statsView{Trace: statsOf(p.trace), Model: p.model, Kernel: p.kernel, Entry: entry.Name},
			),
			app.Section().Class("panel settings-panel").Aria("label", "Sampler settings").Body(
				&samplerControls{Settings: p.settings, Disabled: p.running, MaxTokens: maxLen},
			),
		),
		&explainer{Tokens: tokens, Sentence: p.sentence, Masked: p.explainIDs, Result: p.explainDone,
			Ready: ready && !p.running, Busy: p.explainBusy, MaskID: maskID(p.model), Order: order},
		app.Footer().Class("footer").Body(
			app.Text("Unmask runs a small LLaDA masked diffusion model entirely in your browser: "),
			app.Text("the engine is Go compiled to WebAssembly, in a Web Worker. Nothing leaves this page."),
		),
	)
}

// doneText is the decoded text of a finished generation.
func doneText(t *Trace) string {
	if t == nil || t.Done == nil {
		return ""
	}
	return t.Done.Text
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
	)
}

func maskID(m *protocol.ModelInfo) int {
	if m == nil {
		return -1
	}
	return m.Config.MaskTokenID
}

package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// connect starts the page's engine client and loads the selected model.
func (p *page) connect(ctx app.Context) {
	p.client = newEngineClient(ctx.Dispatch)
	p.listen()
	if err := p.client.Start(); err != nil {
		p.setStatus(err.Error(), true)
		return
	}
	p.load(ctx, false)
}

// listen sets the client's callbacks that concern no single request.
func (p *page) listen() {
	p.client.OnHello = func(ctx app.Context, h protocol.HelloInfo) { p.kernel, p.kernelNote = h.KernelPath, h.Note }
	p.client.OnWorkerError = func(ctx app.Context, err error) {
		if p.running {
			p.runErr = err.Error()
			p.endGeneration(ctx)
		}
		p.loading, p.loadID = false, 0
		p.setStatus(err.Error(), true)
	}
	// A new worker has no model: load it again.
	p.client.OnRestart = func(ctx app.Context, _ error) { p.load(ctx, true) }
}

func (p *page) setStatus(msg string, isError bool) {
	p.status, p.statusError = msg, isError
}

// load asks the worker for the selected model; again loads it even when it
// is the one loaded (Retry, a restarted worker).
func (p *page) load(ctx app.Context, again bool) {
	entry := modelByID(p.settings.Model)
	if !again && p.loaded == entry.ID && p.model != nil {
		return
	}
	if p.running {
		// The worker cancels the generation when the load arrives; its
		// last messages belong to no view any more.
		p.client.forget(p.genID)
		p.running, p.stopping, p.genID = false, false, 0
	}
	if p.loadID != 0 {
		p.client.forget(p.loadID) // a replaced download stays quiet
	}
	p.model, p.loaded, p.loading, p.loadErr = nil, "", true, nil
	p.progress = protocol.Bytes{}
	p.preview = nil
	// The trace's ids mean nothing to another model's vocabulary.
	p.trace, p.player.view, p.player.playing, p.selected = nil, 0, false, -1
	p.setStatus("Downloading "+entry.Name+"…", false)
	p.loadID = p.client.Load(ctx, entry.File,
		func(ctx app.Context, b protocol.Bytes) { p.progress = b },
		func(ctx app.Context, m *protocol.ModelInfo) { p.onReady(ctx, entry, m) },
		func(ctx app.Context, err *engineError) {
			p.loading, p.loadID, p.loadErr = false, 0, err
			p.setStatus(err.Error(), true)
		})
}

func (p *page) onReady(ctx app.Context, entry modelEntry, m *protocol.ModelInfo) {
	p.loading, p.loadID = false, 0
	p.model, p.loaded = m, entry.ID
	p.kernel = m.KernelPath
	p.setStatus(fmt.Sprintf("Ready: %s loaded in %.0f ms. Press Generate.", entry.Name, m.LoadMS), false)
	p.askPreview(ctx)
	collectWhenIdle(ctx, p.busy)
}

// previewDelay lets typing settle before the prompt is encoded again.
const previewDelay = 150 * time.Millisecond

// askPreview has the worker encode the prompt as a generation would, so the
// canvas shows the prompt and its masks before Generate (and a generation's
// first step finds its cells already there), and the settings are checked
// against the prompt's real length.
func (p *page) askPreview(ctx app.Context) {
	p.previewSeq++
	seq := p.previewSeq
	ctx.After(previewDelay, func(ctx app.Context) {
		if seq != p.previewSeq || p.model == nil || p.loading {
			return
		}
		p.client.Tokenize(ctx, p.request(),
			func(ctx app.Context, ids []int) {
				if seq == p.previewSeq {
					p.preview = ids
				}
			},
			func(ctx app.Context, err *engineError) { p.preview = nil }) // the same problem shows when generating
	})
}

// request is the generation the settings ask for.
func (p *page) request() protocol.GenerateRequest {
	return protocol.GenerateRequest{
		Prompt: p.settings.Prompt, Blank: p.settings.Blank,
		Chat:    modelByID(p.settings.Model).Chat && p.model != nil && p.model.Chat,
		Options: protocol.WireOptions(p.settings.Options),
	}
}

// onSettings takes the controls' new settings and records them in the URL.
func (p *page) onSettings(ctx app.Context, a app.Action) {
	s, ok := a.Value.(Settings)
	if !ok {
		return
	}
	if s.Prompt != p.settings.Prompt {
		p.exampleNote = ""
	}
	p.settings = s
	p.writeURL(ctx)
	p.askPreview(ctx)
}

// onFieldText records whether a number field holds a number.
func (p *page) onFieldText(ctx app.Context, a app.Action) {
	f, ok := a.Value.(fieldText)
	if !ok {
		return
	}
	if p.badText == nil {
		p.badText = map[string]bool{}
	}
	if f.OK {
		delete(p.badText, f.Field)
	} else {
		p.badText[f.Field] = true
	}
}

// onExample puts an example of the selected model in the prompt. An infill
// example sets Length to 0, since only its blanks are to be filled; any
// other brings back the model's length if an infill example had set it to
// 0. Either change is said under the chips.
func (p *page) onExample(ctx app.Context, a app.Action) {
	i, ok := a.Value.(int)
	entry := modelByID(p.settings.Model)
	if !ok || i < 0 || i >= len(entry.Examples) {
		return
	}
	ex := entry.Examples[i]
	s := p.settings
	s.Prompt = ex.Prompt
	note := ""
	switch def := modelDefaults(entry.ID).Options.GenLength; {
	case ex.Infill && s.Options.GenLength != 0:
		s.setGenLength(0)
		note = "Length is now 0: this example only fills its ___ blanks."
	case !ex.Infill && s.Options.GenLength == 0:
		s.setGenLength(def)
		note = fmt.Sprintf("Length is back to %d: this example writes after the prompt.", def)
	}
	p.onSettings(ctx, app.Action{Value: s})
	p.exampleNote = note
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
		if p.settings.Prompt == ex.Prompt {
			p.settings.Prompt = next.Prompt
		}
	}
	if p.settings.Options == modelDefaults(old.ID).Options {
		seed := p.settings.Options.Seed
		p.settings.Options = next.Options
		if p.settings.PinSeed {
			p.settings.Options.Seed = seed
		}
	}
	p.settings.Model = next.Model
	p.exampleNote = ""
	p.writeURL(ctx)
	p.load(ctx, false)
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

// room is the longest Length the loaded model's canvas leaves for the
// prompt (0 before a model is loaded).
func (p *page) room() int {
	if p.model == nil {
		return 0
	}
	return max(p.model.Config.MaxSequenceLen-len(p.preview), 0)
}

// problems is what keeps Generate from running, field by field.
func (p *page) problems() []problem {
	var out []problem
	for _, f := range []string{fieldGenLength, fieldSteps, fieldBlock, fieldBlank, fieldSeed} {
		if p.badText[f] {
			out = append(out, problem{Field: f, Msg: "must be a whole number"})
		}
	}
	prompt := promptInfo{}
	if p.preview != nil && p.model != nil {
		prompt = promptInfo{Known: true, Tokens: len(p.preview)}
		for _, id := range p.preview {
			if id == p.model.Config.MaskTokenID {
				prompt.Masks++
			}
		}
	}
	canvas := 0
	if p.model != nil {
		canvas = p.model.Config.MaxSequenceLen
	}
	for _, pr := range p.settings.Problems(prompt, canvas) {
		if !p.badText[pr.Field] {
			out = append(out, pr)
		}
	}
	return out
}

// blockedReason says why Generate is off, or nothing.
func blockedReason(ps []problem) string {
	if len(ps) == 0 {
		return ""
	}
	return "Fix the settings first: " + describe(ps[0]).Error() + "."
}

// generate starts a generation with the current settings. Unless the seed
// is pinned, every generation draws a fresh one, shown in the seed field.
func (p *page) generate(ctx app.Context) {
	if p.model == nil || p.running || len(p.problems()) > 0 {
		return
	}
	if !p.settings.PinSeed {
		p.settings.Options.Seed = uint64(rand.Int32())
	}
	opts := p.settings.Options
	opts.TopK = 5
	req := p.request()
	req.Options = protocol.WireOptions(opts)
	p.trace = &Trace{Mask: p.model.Config.MaskTokenID, EOS: p.model.Config.EOSTokenID, Planned: opts.Steps,
		GenLength: opts.GenLength, Threshold: opts.Threshold, Chat: req.Chat}
	p.player.start()
	p.selected, p.runErr = -1, ""
	p.running, p.stopping = true, false
	p.setStatus("Generating…", false)
	p.genID = p.client.Generate(ctx, req, p.onStep, p.onDone, p.onGenerateError)
	// Focus follows the button that can act now, and the canvas comes
	// into view (on a phone it is below the prompt).
	ctx.Defer(func(ctx app.Context) {
		moveFocus("stop")
		scrollIntoView("canvas")
	})
}

func (p *page) onStep(ctx app.Context, s protocol.StepInfo) {
	if p.trace == nil {
		return
	}
	p.trace.Add(s)
	if p.player.arrived(p.trace.Len()) {
		p.tickLater(ctx)
	}
	p.setStatus(fmt.Sprintf("Generating: step %d of %d…", p.trace.Len(), p.trace.Planned), false)
}

func (p *page) onDone(ctx app.Context, d *protocol.DoneInfo) {
	if p.trace == nil {
		return
	}
	p.endGeneration(ctx)
	p.trace.Done = d
	if p.player.view >= p.trace.Len() {
		p.player.playing = false
	}
	verb := "Done"
	if d.Stopped {
		verb = "Stopped"
	}
	p.setStatus(fmt.Sprintf("%s: %d steps, %d forward passes in %.0f ms.", verb, d.Steps, d.ForwardPasses, d.ElapsedMS), false)
}

func (p *page) onGenerateError(ctx app.Context, err *engineError) {
	p.endGeneration(ctx)
	p.runErr = err.Error()
	p.setStatus(err.Error(), true)
}

// endGeneration marks the generation over; the page collects garbage once
// it is idle (gcpause.go).
func (p *page) endGeneration(ctx app.Context) {
	p.running, p.stopping = false, false
	ctx.Defer(func(ctx app.Context) { moveFocus("generate") })
	collectWhenIdle(ctx, p.busy)
}

// busy says whether the page is streaming a generation or loading a model.
func (p *page) busy() bool { return p.running || p.loading }

func (p *page) stop(ctx app.Context) {
	if !p.running {
		return
	}
	p.stopping = true
	p.client.Stop()
	p.setStatus("Stopping after this step…", false)
}

func (p *page) onSeek(ctx app.Context, a app.Action) {
	v, ok := a.Value.(int)
	if !ok || p.trace == nil {
		return
	}
	p.player.seek(v, p.trace.Len())
}

// togglePlay plays the recorded steps from the slider's position, or
// pauses when they are playing.
func (p *page) togglePlay(ctx app.Context) {
	if p.trace == nil {
		return
	}
	switch {
	case p.player.playing:
		p.player.pause()
	case p.running:
		// Follow the live run again, from the step shown.
		p.player.playing = true
		if p.player.pace == PaceKey {
			p.player.pace = 1
		}
		if p.player.arrived(p.trace.Len()) {
			p.tickLater(ctx)
		}
	case p.player.play(p.trace.Len()):
		p.tickLater(ctx)
	}
}

func (p *page) onPace(ctx app.Context, a app.Action) {
	pace, ok := a.Value.(Pace)
	if !ok {
		return
	}
	p.player.pace = pace
	p.settings.Pace = pace
	p.writeURL(ctx)
	if p.trace != nil && p.player.playing && p.player.needTick(p.trace.Len(), p.running) {
		p.tickLater(ctx)
	}
}

// tickLater moves the view one step on after the pace's delay.
func (p *page) tickLater(ctx app.Context) {
	ctx.After(p.player.delay(p.running), func(ctx app.Context) {
		if p.trace == nil {
			p.player.scheduled = false
			return
		}
		if p.player.tick(p.trace.Len(), p.running) {
			p.tickLater(ctx)
		}
	})
}

// moveFocus focuses the element with the given id unless the visitor's
// focus is somewhere of their own (typing in a field): focus that falls
// on a disabled button or the page body moves on.
func moveFocus(id string) {
	active := app.Window().Get("document").Get("activeElement")
	if active.Truthy() && active.Get("tagName").String() != "BODY" && !active.Get("disabled").Truthy() &&
		active.Get("id").String() != "generate" && active.Get("id").String() != "stop" {
		return
	}
	if el := app.Window().GetElementByID(id); el.Truthy() && !el.Get("disabled").Truthy() {
		el.Call("focus", map[string]any{"preventScroll": true})
	}
}

// scrollIntoView brings the element with the given id into view if it is
// not.
func scrollIntoView(id string) {
	el := app.Window().GetElementByID(id)
	if !el.Truthy() {
		return
	}
	rect := el.Call("getBoundingClientRect")
	height := app.Window().Get("innerHeight").Float()
	if rect.Get("top").Float() < 0 || rect.Get("top").Float() > height*0.6 {
		el.Call("scrollIntoView", map[string]any{"block": "start", "behavior": "smooth"})
	}
}

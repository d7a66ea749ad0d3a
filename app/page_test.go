package main

import (
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/app/protocol"
	"unmask/engine"
)

// fakeLink records what the page sends to the worker.
type fakeLink struct{ sent []protocol.Request }

func (l *fakeLink) Send(r protocol.Request) error {
	l.sent = append(l.sent, r)
	return nil
}

func (l *fakeLink) last() protocol.Request { return l.sent[len(l.sent)-1] }

// pageTester mounts a page with a fake worker link and runs its handlers
// on go-app's test dispatcher.
type pageTester struct {
	t    *testing.T
	p    *page
	link *fakeLink
	disp app.ClientDispatcher
}

func newPageTester(t *testing.T) *pageTester {
	p := newPage().(*page)
	link := &fakeLink{}
	p.link = link
	disp := app.NewClientTester(p)
	t.Cleanup(disp.Close)
	return &pageTester{t: t, p: p, link: link, disp: disp}
}

func (pt *pageTester) do(f func(ctx app.Context)) {
	pt.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: pt.p, Function: f})
	pt.disp.Consume()
}

func (pt *pageTester) respond(r protocol.Response) {
	pt.do(func(ctx app.Context) { pt.p.onResponse(ctx, r) })
}

var testModel = &protocol.ModelInfo{
	Config: engine.Config{MaskTokenID: 9, EOSTokenID: 8, MaxSequenceLen: 128},
	Tokens: []string{"a", "b", "c", "d", "e", "f", "g", "h", "<eos>", "[MASK]"},
}

// ready loads the model through the worker's answers.
func (pt *pageTester) ready() {
	pt.do(func(ctx app.Context) { pt.p.load(ctx) })
	load := pt.link.last()
	require.Equal(pt.t, protocol.Load, load.Type)
	assert.Equal(pt.t, models[0].File, load.Load.URL)
	pt.respond(protocol.Response{Type: protocol.Progress, ID: load.ID, Progress: &protocol.Bytes{Loaded: 5, Total: 10}})
	assert.True(pt.t, pt.p.loading)
	assert.Equal(pt.t, int64(5), pt.p.progress.Loaded)
	pt.respond(protocol.Response{Type: protocol.Ready, ID: load.ID, Ready: testModel})
	require.False(pt.t, pt.p.loading)
	require.NotNil(pt.t, pt.p.model)

}

func step(i int, canvas []int, commits ...engine.Commit) *protocol.StepInfo {
	return &protocol.StepInfo{Step: engine.Step{Index: i, BlockStart: 1, BlockEnd: 3, Canvas: canvas, Committed: commits}, Steps: 2}
}

func TestPageGenerate(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	gen := pt.link.last()
	require.Equal(t, protocol.Generate, gen.Type)
	assert.Equal(t, pt.p.settings.Prompt, gen.Generate.Prompt)
	assert.Equal(t, 5, gen.Generate.Options.TopK)
	assert.True(t, pt.p.running)

	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(0, []int{1, 9, 9}, engine.Commit{Pos: 2, Token: 3, Prob: 0.9})})
	assert.Equal(t, 1, pt.p.view, "the view follows the live steps")
	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(1, []int{1, 9, 3}, engine.Commit{Pos: 1, Token: 8, Prob: 0.6})})
	pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{Output: []int{1, 8, 3}, Steps: 2, ForwardPasses: 2}})
	assert.False(t, pt.p.running)
	assert.Equal(t, 2, pt.p.view)
	assert.Contains(t, pt.p.status, "Done")

	// Replay from the slider.
	pt.do(func(ctx app.Context) { pt.p.onSeek(ctx, app.Action{Value: 0}) })
	assert.Equal(t, 0, pt.p.view)
	cells := pt.p.trace.View(pt.p.view)
	assert.Equal(t, CellMasked, cells[2].State)
	pt.do(func(ctx app.Context) { pt.p.onSeek(ctx, app.Action{Value: 99}) })
	assert.Equal(t, 2, pt.p.view, "seeking clamps to the trace")
}

func TestPageStop(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	gen := pt.link.last()
	pt.do(func(ctx app.Context) { pt.p.stop(ctx) })
	assert.Equal(t, protocol.Stop, pt.link.last().Type)
	assert.True(t, pt.p.stopping)
	pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{Stopped: true, Steps: 0}})
	assert.False(t, pt.p.running)
	assert.Contains(t, pt.p.status, "Stopped")
}

// Switching models mid-generation drops the old generation's last messages.
func TestPageSwitchModelWhileGenerating(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	gen := pt.link.last()
	pt.do(func(ctx app.Context) { pt.p.onModel(ctx, app.Action{Value: models[len(models)-1].ID}) })
	pt.do(func(ctx app.Context) { pt.p.load(ctx) }) // also when the id is the same
	assert.False(t, pt.p.running)
	assert.Nil(t, pt.p.trace)
	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(0, []int{1, 9, 9})})
	pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{Stopped: true}})
	assert.Nil(t, pt.p.trace)
	assert.True(t, pt.p.loading)
}

func TestPageErrors(t *testing.T) {
	pt := newPageTester(t)
	pt.do(func(ctx app.Context) { pt.p.load(ctx) })
	stale := pt.link.last().ID
	pt.do(func(ctx app.Context) { pt.p.settings.Model = models[len(models)-1].ID; pt.p.load(ctx) })
	if len(models) > 1 {
		pt.respond(protocol.Response{Type: protocol.Error, ID: stale, Error: "context canceled"})
		assert.False(t, pt.p.statusError, "a replaced download's error stays quiet")
	}
	pt.respond(protocol.Response{Type: protocol.Error, ID: pt.link.last().ID, Error: "model file: bad magic"})
	assert.True(t, pt.p.statusError)
	assert.False(t, pt.p.loading)
	assert.Equal(t, "model file: bad magic", pt.p.status)

	// Generate stays off without a model.
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	assert.NotEqual(t, protocol.Generate, pt.link.last().Type)
}

func TestPageRejectsBadSettings(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	before := len(pt.link.sent)
	pt.do(func(ctx app.Context) { pt.p.settings.Options.BlockLength = 7; pt.p.generate(ctx) })
	assert.Len(t, pt.link.sent, before, "nothing is sent")
	assert.True(t, pt.p.statusError)
	assert.Contains(t, pt.p.status, "block_length")
}

func TestPagePreview(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	var req protocol.Request
	require.Eventually(t, func() bool {
		pt.disp.Consume()
		req = pt.link.last()
		return req.Type == protocol.Tokenize && req.Generate != nil
	}, 2*time.Second, 10*time.Millisecond, "the prompt is sent for a preview")
	assert.Equal(t, pt.p.settings.Prompt, req.Generate.Prompt)
	pt.respond(protocol.Response{Type: protocol.Tokens, ID: req.ID, IDs: []int{1, 2}})
	assert.Equal(t, []int{1, 2}, pt.p.preview)
	cells := previewCells(pt.p.preview, pt.p.settings.Options.GenLength, testModel.Config.MaskTokenID)
	assert.Len(t, cells, 2+pt.p.settings.Options.GenLength)
}

func TestPageExplain(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	var tok protocol.Request
	for _, r := range pt.link.sent {
		if r.Type == protocol.Tokenize && r.Text == explainSentence {
			tok = r
		}
	}
	require.NotZero(t, tok.ID, "the explainer's sentence is sent for encoding")
	sentence := []int{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}
	pt.respond(protocol.Response{Type: protocol.Tokens, ID: tok.ID, IDs: sentence})
	assert.Equal(t, sentence, pt.p.sentence)
	req := pt.link.last()
	require.Equal(t, protocol.Generate, req.Type, "the explainer asks for its first guesses at once")
	assert.Equal(t, maskedAt(sentence, explainStartT, 9), req.Generate.IDs)
	pt.respond(protocol.Response{Type: protocol.Done, ID: req.ID, Done: &protocol.DoneInfo{}})
	pt.do(func(ctx app.Context) { pt.p.onExplain(ctx, app.Action{Value: []int{1, 9, 3}}) })
	req = pt.link.last()
	require.Equal(t, protocol.Generate, req.Type)
	assert.Equal(t, 0, req.Generate.Options.GenLength)
	assert.Equal(t, 1, req.Generate.Options.Steps)
	pt.respond(protocol.Response{Type: protocol.StepDone, ID: req.ID, Step: step(0, []int{1, 9, 3})})
	pt.respond(protocol.Response{Type: protocol.Done, ID: req.ID, Done: &protocol.DoneInfo{}})
	assert.NotNil(t, pt.p.explainDone)
	assert.False(t, pt.p.explainBusy)
	assert.Nil(t, pt.p.trace, "the explainer's step is not a generation")
}

func TestPageIncompleteMessages(t *testing.T) {
	pt := newPageTester(t)
	for _, typ := range []string{protocol.Hello, protocol.Progress, protocol.Ready, protocol.StepDone, protocol.Done} {
		pt.respond(protocol.Response{Type: typ})
		assert.True(t, pt.p.statusError, typ)
		assert.Contains(t, pt.p.status, "incomplete "+typ)
	}
}

func TestStepInboxBatches(t *testing.T) {
	var b stepInbox
	assert.True(t, b.add(protocol.Response{ID: 1}), "the first step starts a batch")
	assert.False(t, b.add(protocol.Response{ID: 2}))
	got := b.take()
	require.Len(t, got, 2)
	assert.Equal(t, 1, got[0].ID)
	assert.Empty(t, b.take())
	assert.True(t, b.add(protocol.Response{ID: 3}), "after a take the next step starts a new batch")
}

// TestPageSwitchModelSettings: untouched settings follow the model; a
// prompt or sampler setting the user changed stays.
func TestPageSwitchModelSettings(t *testing.T) {
	if len(models) < 2 {
		t.Skip("one model")
	}
	other := models[1].ID
	pt := newPageTester(t)
	pt.do(func(ctx app.Context) { pt.p.onModel(ctx, app.Action{Value: other}) })
	assert.Equal(t, modelDefaults(other), pt.p.settings, "untouched settings take the model's defaults")

	pt = newPageTester(t)
	pt.p.settings.Prompt = "my own words"
	pt.p.settings.Options.Temperature = 0.3
	pt.do(func(ctx app.Context) { pt.p.onModel(ctx, app.Action{Value: other}) })
	assert.Equal(t, other, pt.p.settings.Model)
	assert.Equal(t, "my own words", pt.p.settings.Prompt)
	assert.Equal(t, 0.3, pt.p.settings.Options.Temperature)
	assert.Equal(t, defaultSettings().Options.BlockLength, pt.p.settings.Options.BlockLength,
		"changed settings are kept as a whole")
}

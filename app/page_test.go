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

// fakeLink records what a client sends to its worker.
type fakeLink struct {
	sent   []protocol.Request
	closed bool
}

func (l *fakeLink) Send(r protocol.Request) error {
	l.sent = append(l.sent, r)
	return nil
}

func (l *fakeLink) Close() { l.closed = true }

func (l *fakeLink) last() protocol.Request { return l.sent[len(l.sent)-1] }

// fakeWorkers starts fake links for a client and keeps each start's crash
// callback.
type fakeWorkers struct {
	links   []*fakeLink
	crashes []func(error)
}

func (f *fakeWorkers) start(_ func(protocol.Response), onCrash func(error)) (engineLink, error) {
	l := &fakeLink{}
	f.links = append(f.links, l)
	f.crashes = append(f.crashes, onCrash)
	return l, nil
}

func (f *fakeWorkers) link() *fakeLink { return f.links[len(f.links)-1] }

// testClient is a client on fake workers whose callbacks run on disp.
func testClient(t *testing.T, disp app.ClientDispatcher, src app.UI) (*engineClient, *fakeWorkers) {
	workers := &fakeWorkers{}
	c := newEngineClient(func(f func(app.Context)) {
		disp.Dispatch(app.Dispatch{Mode: app.Update, Source: src, Function: f})
	})
	c.start = workers.start
	require.NoError(t, c.Start())
	return c, workers
}

// pageTester mounts a page with a client on fake workers and runs its
// handlers on go-app's test dispatcher.
type pageTester struct {
	t       *testing.T
	p       *page
	workers *fakeWorkers
	disp    app.ClientDispatcher
}

func newPageTester(t *testing.T) *pageTester {
	p := newPage().(*page)
	disp := app.NewClientTester(p)
	t.Cleanup(disp.Close)
	pt := &pageTester{t: t, p: p, disp: disp}
	pt.do(func(ctx app.Context) {
		p.client, pt.workers = testClient(t, disp, p)
		p.listen()
	})
	return pt
}

func (pt *pageTester) link() *fakeLink { return pt.workers.link() }

func (pt *pageTester) do(f func(ctx app.Context)) {
	pt.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: pt.p, Function: f})
	pt.disp.Consume()
}

func (pt *pageTester) respond(r protocol.Response) {
	pt.do(func(ctx app.Context) { pt.p.client.route(ctx, r) })
}

var testModel = &protocol.ModelInfo{
	Config: engine.Config{MaskTokenID: 9, EOSTokenID: 8, MaxSequenceLen: 128},
	Tokens: []string{"a", "b", "c", "d", "e", "f", "g", "h", "<eos>", "[MASK]"},
}

// ready loads the model through the worker's answers.
func (pt *pageTester) ready() {
	pt.do(func(ctx app.Context) { pt.p.load(ctx, false) })
	load := pt.link().last()
	require.Equal(pt.t, protocol.Load, load.Type)
	assert.Equal(pt.t, modelByID(pt.p.settings.Model).File, load.Load.URL)
	pt.respond(protocol.Response{Type: protocol.Progress, ID: load.ID, Progress: &protocol.Bytes{Loaded: 5, Total: 10}})
	assert.True(pt.t, pt.p.loading)
	assert.Equal(pt.t, int64(5), pt.p.progress.Loaded)
	pt.respond(protocol.Response{Type: protocol.Ready, ID: load.ID, Ready: testModel})
	require.False(pt.t, pt.p.loading)
	require.NotNil(pt.t, pt.p.model)
}

// lastOf is the last request of a type sent to the page's worker.
func (pt *pageTester) lastOf(typ string) protocol.Request {
	sent := pt.link().sent
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].Type == typ {
			return sent[i]
		}
	}
	pt.t.Fatalf("no %s request sent", typ)
	return protocol.Request{}
}

func step(i int, canvas []int, commits ...engine.Commit) *protocol.StepInfo {
	return &protocol.StepInfo{Step: engine.Step{Index: i, BlockStart: 1, BlockEnd: 3, Canvas: canvas, Committed: commits}, Steps: 2}
}

func TestPageGenerate(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	gen := pt.link().last()
	require.Equal(t, protocol.Generate, gen.Type)
	assert.Equal(t, pt.p.settings.Prompt, gen.Generate.Prompt)
	assert.Equal(t, 5, gen.Generate.Options.TopK)
	assert.True(t, pt.p.running)

	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(0, []int{1, 9, 9}, engine.Commit{Pos: 2, Token: 3, Prob: 0.9})})
	assert.Equal(t, 1, pt.p.player.view, "the view follows the live steps")
	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(1, []int{1, 9, 3}, engine.Commit{Pos: 1, Token: 8, Prob: 0.6})})
	pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{Output: []int{1, 8, 3}, Steps: 2, ForwardPasses: 2}})
	assert.False(t, pt.p.running)
	assert.Equal(t, 2, pt.p.player.view)
	assert.Contains(t, pt.p.status, "Done")

	// Replay from the slider.
	pt.do(func(ctx app.Context) { pt.p.onSeek(ctx, app.Action{Value: 0}) })
	assert.Equal(t, 0, pt.p.player.view)
	cells := pt.p.trace.View(pt.p.player.view)
	assert.Equal(t, CellMasked, cells[2].State)
	pt.do(func(ctx app.Context) { pt.p.onSeek(ctx, app.Action{Value: 99}) })
	assert.Equal(t, 2, pt.p.player.view, "seeking clamps to the trace")
}

// Every Generate draws a fresh seed unless the seed is pinned; the pinned
// one goes in the URL.
func TestPageSeed(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	seeds := map[uint64]bool{}
	for range 4 {
		pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
		gen := pt.lastOf(protocol.Generate)
		assert.Equal(t, pt.p.settings.Options.Seed, gen.Generate.Options.Seed, "the seed field shows the seed used")
		seeds[gen.Generate.Options.Seed] = true
		pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{}})
	}
	assert.Greater(t, len(seeds), 1, "an unpinned seed changes between runs")
	assert.False(t, pt.p.settings.Query().Has(keySeed), "an unpinned seed stays out of the link")

	pt.p.settings.PinSeed, pt.p.settings.Options.Seed = true, 1234
	for range 2 {
		pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
		gen := pt.lastOf(protocol.Generate)
		assert.Equal(t, uint64(1234), gen.Generate.Options.Seed)
		pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{}})
	}
	assert.Equal(t, "1234", pt.p.settings.Query().Get(keySeed))
}

func TestPageStop(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	gen := pt.link().last()
	pt.do(func(ctx app.Context) { pt.p.stop(ctx) })
	assert.Equal(t, protocol.Stop, pt.link().last().Type)
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
	gen := pt.link().last()
	pt.do(func(ctx app.Context) { pt.p.onModel(ctx, app.Action{Value: models[len(models)-1].ID}) })
	assert.False(t, pt.p.running)
	assert.Nil(t, pt.p.trace)
	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(0, []int{1, 9, 9})})
	pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{Stopped: true}})
	assert.Nil(t, pt.p.trace)
	assert.True(t, pt.p.loading)
}

func TestPageLoadErrors(t *testing.T) {
	pt := newPageTester(t)
	pt.do(func(ctx app.Context) { pt.p.load(ctx, false) })
	stale := pt.link().last().ID
	pt.do(func(ctx app.Context) { pt.p.settings.Model = models[len(models)-1].ID; pt.p.load(ctx, false) })
	if len(models) > 1 {
		pt.respond(protocol.Response{Type: protocol.Error, ID: stale, Error: "context canceled"})
		assert.False(t, pt.p.statusError, "a replaced download's error stays quiet")
	}
	pt.respond(protocol.Response{Type: protocol.Error, ID: pt.link().last().ID, Error: "model file: bad magic", Code: protocol.ErrModelDamaged})
	assert.True(t, pt.p.statusError)
	assert.False(t, pt.p.loading)
	assert.Equal(t, "model file: bad magic", pt.p.status)
	lp := loadProblemOf(pt.p.loadErr, modelByID(pt.p.settings.Model))
	require.NotNil(t, lp)
	assert.Equal(t, "The model file is damaged or incomplete.", lp.Message)

	// Generate stays off without a model.
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	assert.NotEqual(t, protocol.Generate, pt.link().last().Type)

	// Retry loads the same file again, and clears the problem.
	before := len(pt.link().sent)
	pt.do(func(ctx app.Context) { pt.p.load(ctx, true) })
	require.Len(t, pt.link().sent, before+1)
	assert.Equal(t, protocol.Load, pt.link().last().Type)
	assert.Equal(t, modelByID(pt.p.settings.Model).File, pt.link().last().Load.URL)
	assert.Nil(t, pt.p.loadErr)
}

// A failed load is worded for the visitor by its code, with Retry and the
// other model offered.
func TestLoadProblemOf(t *testing.T) {
	entry := models[0]
	assert.Nil(t, loadProblemOf(nil, entry))
	for _, tc := range []struct {
		code, want string
	}{
		{protocol.ErrModelDamaged, "The model file is damaged or incomplete."},
		{protocol.ErrModelUnreachable, "The model file could not be downloaded: check the connection."},
		{"", "The model could not be loaded."},
	} {
		lp := loadProblemOf(&engineError{Message: "details", Code: tc.code}, entry)
		require.NotNil(t, lp, tc.code)
		assert.Equal(t, tc.want, lp.Message, tc.code)
		assert.Equal(t, "details", lp.Detail)
		if len(models) > 1 {
			assert.NotEqual(t, entry.ID, lp.Other, "the other model is offered")
			assert.NotEmpty(t, lp.Other)
		}
	}
}

// Invalid settings send nothing and keep the last result on screen.
func TestPageRejectsBadSettings(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	gen := pt.lastOf(protocol.Generate)
	pt.respond(protocol.Response{Type: protocol.StepDone, ID: gen.ID, Step: step(0, []int{1, 9, 9}, engine.Commit{Pos: 2, Token: 3, Prob: 0.9})})
	pt.respond(protocol.Response{Type: protocol.Done, ID: gen.ID, Done: &protocol.DoneInfo{Steps: 1}})
	trace := pt.p.trace

	before := len(pt.link().sent)
	pt.do(func(ctx app.Context) { pt.p.settings.Options.BlockLength = 7; pt.p.generate(ctx) })
	assert.Len(t, pt.link().sent, before, "nothing is sent")
	assert.Same(t, trace, pt.p.trace, "the last result stays")
	assert.Contains(t, blockedReason(pt.p.problems()), "Block length must divide the length")

	pt.do(func(ctx app.Context) {
		pt.p.settings.Options.BlockLength = pt.p.settings.Options.GenLength
		pt.p.onFieldText(ctx, app.Action{Value: fieldText{Field: fieldSteps, OK: false}})
	})
	assert.Equal(t, "Fix the settings first: Steps must be a whole number.", blockedReason(pt.p.problems()))
	pt.do(func(ctx app.Context) { pt.p.onFieldText(ctx, app.Action{Value: fieldText{Field: fieldSteps, OK: true}}) })
	assert.Empty(t, pt.p.problems(), "a fixed field is no longer reported")
}

// The Length limit comes from the model's canvas and the prompt's real
// length.
func TestPageLengthLimit(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.p.preview = make([]int, 10)
	assert.Equal(t, 118, pt.p.room())
	pt.p.settings.setGenLength(120)
	ps := pt.p.problems()
	require.NotEmpty(t, ps)
	assert.Equal(t, fieldGenLength, ps[0].Field)
	assert.Contains(t, ps[0].Msg, "the prompt takes 10")
}

func TestPagePreview(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	var req protocol.Request
	require.Eventually(t, func() bool {
		pt.disp.Consume()
		req = pt.link().last()
		return req.Type == protocol.Tokenize && req.Generate != nil
	}, 2*time.Second, 10*time.Millisecond, "the prompt is sent for a preview")
	assert.Equal(t, pt.p.settings.Prompt, req.Generate.Prompt)
	pt.respond(protocol.Response{Type: protocol.Tokens, ID: req.ID, IDs: []int{1, 2}})
	assert.Equal(t, []int{1, 2}, pt.p.preview)
	cells := previewCells(pt.p.preview, pt.p.settings.Options.GenLength, testModel.Config.MaskTokenID)
	assert.Len(t, cells, 2+pt.p.settings.Options.GenLength)
}

// With the instruct model, every chip puts an instruct example in the
// prompt; an infill example sets Length 0 and says so.
func TestPageExamples(t *testing.T) {
	for _, m := range models {
		pt := newPageTester(t)
		pt.do(func(ctx app.Context) { pt.p.onModel(ctx, app.Action{Value: m.ID}) })
		for i, ex := range m.Examples {
			pt.do(func(ctx app.Context) { pt.p.onExample(ctx, app.Action{Value: i}) })
			assert.Equal(t, ex.Prompt, pt.p.settings.Prompt, "%s example %d", m.ID, i)
			if ex.Infill {
				assert.Equal(t, 0, pt.p.settings.Options.GenLength, "an infill example only fills its blanks")
				assert.Contains(t, pt.p.exampleNote, "Length is now 0")
			} else {
				assert.Equal(t, modelDefaults(m.ID).Options.GenLength, pt.p.settings.Options.GenLength)
			}
		}
	}
}

// A crashed worker fails what was running, is replaced, and the new one
// loads the model: the page does not stay on "Generating…".
func TestPageWorkerCrash(t *testing.T) {
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	require.True(t, pt.p.running)
	dead := pt.link()
	pt.do(func(ctx app.Context) { pt.p.client.crashed(ctx, pt.p.client.worker, errWorkerDied) })
	assert.True(t, dead.closed, "the dead worker is ended")
	assert.False(t, pt.p.running)
	assert.Contains(t, pt.p.runErr, "the engine worker stopped")
	assert.Contains(t, pt.p.runErr, "restarted")
	require.Len(t, pt.workers.links, 2, "a new worker starts")
	assert.Equal(t, protocol.Load, pt.link().last().Type, "and loads the model again")
	assert.True(t, pt.p.loading)
}

// A worker that stops answering counts as crashed.
func TestClientSilence(t *testing.T) {
	defer func(d time.Duration) { silenceLimit = d }(silenceLimit)
	silenceLimit = 20 * time.Millisecond
	pt := newPageTester(t)
	pt.ready()
	pt.do(func(ctx app.Context) { pt.p.generate(ctx) })
	require.Eventually(t, func() bool {
		pt.disp.Consume()
		return !pt.p.running
	}, 10*time.Second, 5*time.Millisecond, "a silent worker is taken for dead")
	assert.Contains(t, pt.p.runErr, "did not answer")
	assert.GreaterOrEqual(t, len(pt.workers.links), 2, "a new worker is started")
}

// A worker that keeps dying before it answers is not restarted forever.
func TestClientRestartsBounded(t *testing.T) {
	pt := newPageTester(t)
	for range maxRestarts + 2 {
		pt.do(func(ctx app.Context) { pt.p.client.crashed(ctx, pt.p.client.worker, errWorkerDied) })
	}
	assert.Len(t, pt.workers.links, 1+maxRestarts)
	assert.True(t, pt.p.statusError)
	assert.Contains(t, pt.p.status, "reload the page")
}

func TestClientIncompleteMessages(t *testing.T) {
	pt := newPageTester(t)
	for _, typ := range []string{protocol.Progress, protocol.Ready, protocol.StepDone, protocol.Done, protocol.Tokens} {
		var got *engineError
		var id int
		pt.do(func(ctx app.Context) {
			id = pt.p.client.send(ctx, protocol.Request{Type: protocol.Generate}, &requestHandlers{
				fail: func(_ app.Context, err *engineError) { got = err }})
		})
		r := protocol.Response{Type: typ, ID: id}
		pt.respond(r)
		if typ == protocol.Tokens {
			assert.Nil(t, got, "tokens may be empty")
			continue
		}
		require.NotNil(t, got, typ)
		assert.Contains(t, got.Message, "incomplete "+typ)
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

func TestExplainer(t *testing.T) {
	e := &explainer{ModelFile: models[0].File}
	disp := app.NewClientTester(e)
	t.Cleanup(disp.Close)
	var workers *fakeWorkers
	do := func(f func(ctx app.Context)) {
		disp.Dispatch(app.Dispatch{Mode: app.Update, Source: e, Function: f})
		disp.Consume()
	}
	do(func(ctx app.Context) {
		e.client, workers = testClient(t, disp, e)
		e.OnUpdate(ctx)
	})
	assert.Empty(t, workers.link().sent, "nothing loads before the page's model is ready")
	do(func(ctx app.Context) { e.Start = true; e.OnUpdate(ctx) })
	load := workers.link().last()
	require.Equal(t, protocol.Load, load.Type)
	assert.Equal(t, models[0].File, load.Load.URL)
	respond := func(r protocol.Response) { do(func(ctx app.Context) { e.client.route(ctx, r) }) }
	respond(protocol.Response{Type: protocol.Ready, ID: load.ID, Ready: testModel})
	tok := workers.link().last()
	require.Equal(t, protocol.Tokenize, tok.Type)
	assert.Equal(t, explainSentence, tok.Text)

	sentence := []int{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}
	respond(protocol.Response{Type: protocol.Tokens, ID: tok.ID, IDs: sentence})
	req := workers.link().last()
	require.Equal(t, protocol.Generate, req.Type, "the explainer asks for its first guesses at once")
	assert.Equal(t, maskedAt(sentence, explainStartT, 9), req.Generate.IDs)
	assert.Equal(t, 0, req.Generate.Options.GenLength)
	assert.Equal(t, 1, req.Generate.Options.Steps)
	assert.True(t, e.busy)
	respond(protocol.Response{Type: protocol.StepDone, ID: req.ID, Step: step(0, req.Generate.IDs)})
	respond(protocol.Response{Type: protocol.Done, ID: req.ID, Done: &protocol.DoneInfo{}})
	assert.NotNil(t, e.result)
	assert.False(t, e.busy)
}

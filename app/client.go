package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// engineClient talks to one engine worker: it starts the worker, numbers the
// requests, hands every answer to the handlers of the request that caused
// it, and restarts the worker when it dies or stops answering. Each view
// that runs the model (the page's canvas, the explainer) holds its own
// client and so its own worker: one view's generation never cancels
// another's.
//
// Every method and every handler runs on go-app's UI goroutine.
type engineClient struct {
	// start launches a worker (startEngine; tests put a fake here).
	start func(onMessage func(protocol.Response), onCrash func(error)) (engineLink, error)
	// dispatch runs a function on the UI goroutine (ctx.Dispatch).
	dispatch func(func(app.Context))

	// OnHello receives the worker's first message (which kernels run).
	OnHello func(ctx app.Context, h protocol.HelloInfo)
	// OnRestart is called once a dead worker has been replaced: the new
	// one has no model, so the owner loads it again.
	OnRestart func(ctx app.Context, why error)
	// OnWorkerError receives the worker's errors that belong to no request.
	OnWorkerError func(ctx app.Context, err error)

	link     engineLink
	worker   int // number of the running worker; messages of older ones are dropped
	nextID   int
	pending  map[int]*requestHandlers
	inbox    stepInbox
	silence  *time.Timer
	restarts int // restarts since the last answer; bounded so a broken worker does not loop
}

// silenceLimit is how long a worker with requests in flight may stay
// silent before the client takes it for dead. A step takes well under a
// second and a download reports progress every 50 ms.
var silenceLimit = 30 * time.Second

// maxRestarts is how many times in a row the client restarts a worker that
// dies before answering anything.
const maxRestarts = 3

// requestHandlers are what a request's answers call; a nil handler ignores
// its kind of answer.
type requestHandlers struct {
	progress func(app.Context, protocol.Bytes)
	ready    func(app.Context, *protocol.ModelInfo)
	step     func(app.Context, protocol.StepInfo)
	done     func(app.Context, *protocol.DoneInfo)
	tokens   func(app.Context, []int)
	fail     func(app.Context, *engineError)
}

// engineError is an Error answer: the worker's message and its code
// (protocol.ErrModelDamaged, ...; empty when the worker gave none).
type engineError struct {
	Message string
	Code    string
}

func (e *engineError) Error() string { return e.Message }

// Errors of the client itself.
var (
	errWorkerDied   = errors.New("the engine worker stopped")
	errWorkerSilent = fmt.Errorf("the engine worker did not answer for %v", silenceLimit)
)

// newEngineClient returns a client whose callbacks run through dispatch.
func newEngineClient(dispatch func(func(app.Context))) *engineClient {
	return &engineClient{start: startEngine, dispatch: dispatch, pending: map[int]*requestHandlers{}}
}

// Start launches the worker.
func (c *engineClient) Start() error {
	c.worker++
	number := c.worker
	link, err := c.start(
		func(r protocol.Response) { c.receive(number, r) },
		func(err error) {
			c.dispatch(func(ctx app.Context) { c.crashed(ctx, number, err) })
		})
	if err != nil {
		return err
	}
	c.link = link
	return nil
}

// receive takes a message on the browser's event goroutine. Steps wait in
// the inbox for at most stepBatch, so the page redraws a bounded number of
// times per second whatever the engine's speed; any other message first
// applies the steps before it.
func (c *engineClient) receive(worker int, r protocol.Response) {
	if r.Type == protocol.StepDone {
		if c.inbox.add(r) {
			time.AfterFunc(stepBatch, func() {
				c.dispatch(func(ctx app.Context) { c.takeSteps(ctx, worker) })
			})
		}
		return
	}
	c.dispatch(func(ctx app.Context) {
		c.takeSteps(ctx, worker)
		if worker == c.worker {
			c.route(ctx, r)
		}
	})
}

func (c *engineClient) takeSteps(ctx app.Context, worker int) {
	for _, r := range c.inbox.take() {
		if worker == c.worker {
			c.route(ctx, r)
		}
	}
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

// route hands one message to its request's handlers. Ready, Done, Tokens
// and Error end a request.
func (c *engineClient) route(ctx app.Context, r protocol.Response) {
	c.restarts = 0
	c.watch()
	if r.Type == protocol.Hello && r.Hello != nil {
		if c.OnHello != nil {
			c.OnHello(ctx, *r.Hello)
		}
		return
	}
	h := c.pending[r.ID]
	if r.ID == 0 || h == nil {
		if r.Type == protocol.Error && r.ID == 0 && c.OnWorkerError != nil {
			c.OnWorkerError(ctx, &engineError{Message: r.Error, Code: r.Code})
		}
		return // a request the owner has forgotten
	}
	if !complete(r) {
		c.end(ctx, r.ID, &engineError{Message: "the engine worker sent an incomplete " + r.Type + " message"})
		return
	}
	switch r.Type {
	case protocol.Progress:
		if h.progress != nil {
			h.progress(ctx, *r.Progress)
		}
	case protocol.StepDone:
		if h.step != nil {
			h.step(ctx, *r.Step)
		}
	case protocol.Ready:
		c.forget(r.ID)
		if h.ready != nil {
			h.ready(ctx, r.Ready)
		}
	case protocol.Done:
		c.forget(r.ID)
		if h.done != nil {
			h.done(ctx, r.Done)
		}
	case protocol.Tokens:
		c.forget(r.ID)
		if h.tokens != nil {
			h.tokens(ctx, r.IDs)
		}
	case protocol.Error:
		c.end(ctx, r.ID, &engineError{Message: r.Error, Code: r.Code})
	}
}

// end closes a request with an error.
func (c *engineClient) end(ctx app.Context, id int, err *engineError) {
	h := c.pending[id]
	c.forget(id)
	if h != nil && h.fail != nil {
		h.fail(ctx, err)
	}
}

// send posts a request with its handlers and returns its id (0 when it
// could not be sent: then fail has been called).
func (c *engineClient) send(ctx app.Context, req protocol.Request, h *requestHandlers) int {
	c.nextID++
	req.ID = c.nextID
	if c.link == nil {
		h.fail(ctx, &engineError{Message: errNoWorker.Error()})
		return 0
	}
	if err := c.link.Send(req); err != nil {
		h.fail(ctx, &engineError{Message: err.Error()})
		return 0
	}
	c.pending[req.ID] = h
	c.watch()
	return req.ID
}

// Load asks the worker for the model file at url.
func (c *engineClient) Load(ctx app.Context, url string, onProgress func(app.Context, protocol.Bytes),
	onReady func(app.Context, *protocol.ModelInfo), onErr func(app.Context, *engineError)) int {
	return c.send(ctx, protocol.Request{Type: protocol.Load, Load: &protocol.LoadRequest{URL: url}},
		&requestHandlers{progress: onProgress, ready: onReady, fail: onErr})
}

// Generate runs the reverse process: onStep for every step, then onDone
// (also after Stop) or onErr.
func (c *engineClient) Generate(ctx app.Context, req protocol.GenerateRequest, onStep func(app.Context, protocol.StepInfo),
	onDone func(app.Context, *protocol.DoneInfo), onErr func(app.Context, *engineError)) int {
	return c.send(ctx, protocol.Request{Type: protocol.Generate, Generate: &req},
		&requestHandlers{step: onStep, done: onDone, fail: onErr})
}

// Tokenize encodes a prompt exactly as Generate would (blanks and chat
// template included).
func (c *engineClient) Tokenize(ctx app.Context, req protocol.GenerateRequest,
	onTokens func(app.Context, []int), onErr func(app.Context, *engineError)) int {
	return c.send(ctx, protocol.Request{Type: protocol.Tokenize, Generate: &req},
		&requestHandlers{tokens: onTokens, fail: onErr})
}

// TokenizeText encodes plain text.
func (c *engineClient) TokenizeText(ctx app.Context, text string,
	onTokens func(app.Context, []int), onErr func(app.Context, *engineError)) int {
	return c.send(ctx, protocol.Request{Type: protocol.Tokenize, Text: text},
		&requestHandlers{tokens: onTokens, fail: onErr})
}

// Stop ends the running generation after its current step; its Done
// still arrives.
func (c *engineClient) Stop() {
	if c.link != nil {
		c.link.Send(protocol.Request{Type: protocol.Stop})
	}
}

// forget drops a request's handlers: its later answers are ignored.
func (c *engineClient) forget(id int) {
	delete(c.pending, id)
	if len(c.pending) == 0 && c.silence != nil {
		c.silence.Stop()
	}
}

// watch (re)arms the silence timer while requests are in flight.
func (c *engineClient) watch() {
	if len(c.pending) == 0 {
		return
	}
	worker := c.worker
	if c.silence != nil {
		c.silence.Stop()
	}
	c.silence = time.AfterFunc(silenceLimit, func() {
		c.dispatch(func(ctx app.Context) {
			if len(c.pending) > 0 {
				c.crashed(ctx, worker, errWorkerSilent)
			}
		})
	})
}

// crashed replaces a dead worker: every request in flight fails with why,
// a new worker starts and the owner is told to load its model again.
func (c *engineClient) crashed(ctx app.Context, worker int, why error) {
	if worker != c.worker {
		return // already replaced
	}
	if c.link != nil {
		c.link.Close()
		c.link = nil
	}
	pending := c.pending
	c.pending = map[int]*requestHandlers{}
	c.inbox.take()
	c.restarts++
	msg := why.Error()
	restart := c.restarts <= maxRestarts
	if restart {
		msg += "; it was restarted"
	}
	for _, h := range pending {
		if h.fail != nil {
			h.fail(ctx, &engineError{Message: msg})
		}
	}
	if !restart {
		c.worker++ // drop whatever the dead worker still sends
		if c.OnWorkerError != nil {
			c.OnWorkerError(ctx, &engineError{Message: msg + "; reload the page to try again"})
		}
		return
	}
	if err := c.Start(); err != nil {
		if c.OnWorkerError != nil {
			c.OnWorkerError(ctx, &engineError{Message: err.Error()})
		}
		return
	}
	if c.OnRestart != nil {
		c.OnRestart(ctx, why)
	}
}

// stepInbox holds the steps received since the page last drew. The
// worker's messages arrive on the browser's event goroutine; the page
// takes them on its UI goroutine.
type stepInbox struct {
	mu    sync.Mutex
	steps []protocol.Response
}

// stepBatch is the longest a received step waits before the page shows
// it. The engine can step faster than a page is worth redrawing; batching
// keeps the main thread's work per second bounded (about 12 renders)
// whatever the model's speed.
const stepBatch = 80 * time.Millisecond

// add keeps a step and reports whether it is the first of a new batch,
// which the caller must schedule a take for.
func (b *stepInbox) add(r protocol.Response) (first bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.steps = append(b.steps, r)
	return len(b.steps) == 1
}

// take returns the steps in arrival order and empties the inbox.
func (b *stepInbox) take() []protocol.Response {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.steps
	b.steps = nil
	return out
}

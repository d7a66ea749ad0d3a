// Command worker is the engine worker: a small Go wasm binary, without
// go-app, that runs the LLaDA engine inside a Web Worker so the page's main
// thread never does model arithmetic.
//
// The page and the worker exchange the JSON messages of package
// unmask/app/protocol. The logic lives in plain files (this one, prompt.go)
// behind the Host interface, so native tests drive it; main_wasm.go binds it
// to the browser: postMessage, fetch and the event loop.
package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"unmask/app/protocol"
	"unmask/engine"
	"unmask/quant"
)

// Host is what the worker needs from its surroundings.
type Host interface {
	// Send delivers one response to the page.
	Send(protocol.Response)
	// Fetch downloads url, reporting progress (total 0 when unknown). A
	// positive size is the byte count expected: the host allocates no more
	// and refuses a longer body, whatever length the server announces
	// (newBody). Network and server failures are unreachable errors.
	Fetch(ctx context.Context, url string, size int64, progress func(loaded, total int64)) ([]byte, error)
	// Forget drops url from every cache the host keeps, so that the next
	// Fetch of it goes to the network.
	Forget(url string)
	// Yield lets the host's event loop run, so that a Stop request sent
	// during a step is handled before the next one. Go in wasm has no
	// preemption: without it a generation would run to its end unheard.
	Yield()
}

// Worker answers the page's requests. Load and Generate run one at a time
// in their own goroutine; a new one cancels the running one first. Stop
// cancels the running generation, which ends after its current step.
type Worker struct {
	host Host

	mu     sync.Mutex
	cancel context.CancelFunc // cancels the newest job; nil when idle
	newest int                // number of the newest job
	last   <-chan struct{}    // closed when the newest job has ended
	model  *engine.Model
	state  *engine.State
	info   *protocol.ModelInfo
}

// NewWorker returns a worker that talks through host.
func NewWorker(host Host) *Worker {
	return &Worker{host: host}
}

// Hello is the first message the worker sends: which kernels run.
func (w *Worker) Hello() protocol.Response {
	return protocol.Response{Type: protocol.Hello, Hello: &protocol.HelloInfo{
		KernelPath: quant.KernelPath(),
		Note:       kernelNote(quant.KernelPath()),
	}}
}

func kernelNote(path string) string {
	switch path {
	case "go":
		return "WebAssembly SIMD kernels are not active: the engine runs plain Go kernels (slower)"
	case "simd":
		return "WebAssembly SIMD kernels"
	case "relaxed-simd":
		return "WebAssembly relaxed SIMD kernels (self-test passed)"
	}
	return path
}

// Handle takes one request. It never blocks for long: Load and Generate
// continue in a goroutine and answer through the host; wait, when not nil,
// is closed when that work is over (tests use it).
func (w *Worker) Handle(req protocol.Request) (wait <-chan struct{}) {
	switch req.Type {
	case protocol.Stop:
		w.mu.Lock()
		if w.cancel != nil {
			w.cancel()
		}
		w.mu.Unlock()
		return nil
	case protocol.Tokenize:
		w.mu.Lock()
		m := w.model
		w.mu.Unlock()
		switch {
		case m == nil:
			w.fail(req.ID, errors.New("no model loaded yet"))
		case m.Tokenizer == nil:
			w.fail(req.ID, ErrNoTokenizer)
		case req.Generate != nil:
			// The prompt exactly as a generation would build it: blanks,
			// chat template and all (the page previews its canvas).
			ids, _, err := promptIDs(m, req.Generate)
			if err != nil {
				w.fail(req.ID, err)
				return nil
			}
			w.host.Send(protocol.Response{Type: protocol.Tokens, ID: req.ID, IDs: ids})
		default:
			w.host.Send(protocol.Response{Type: protocol.Tokens, ID: req.ID, IDs: m.Tokenizer.Encode(req.Text)})
		}
		return nil
	case protocol.Load:
		if req.Load == nil {
			w.fail(req.ID, errors.New("load request without a model"))
			return nil
		}
		return w.start(req.ID, func(ctx context.Context) error { return w.load(ctx, req.ID, req.Load) })
	case protocol.Generate:
		if req.Generate == nil {
			w.fail(req.ID, errors.New("generate request without options"))
			return nil
		}
		return w.start(req.ID, func(ctx context.Context) error { return w.generate(ctx, req.ID, req.Generate) })
	}
	w.fail(req.ID, fmt.Errorf("unknown request type %q", req.Type))
	return nil
}

// start cancels the running job, then runs job in a goroutine once that one
// has ended, turning its error into an Error response.
func (w *Worker) start(id int, job func(context.Context) error) <-chan struct{} {
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	if w.cancel != nil {
		w.cancel()
	}
	w.cancel = cancel
	w.newest++
	number := w.newest
	previous := w.last
	done := make(chan struct{})
	w.last = done
	w.mu.Unlock()
	go func() {
		defer close(done)
		// Jobs run one at a time, in the order they came. A job cancelled
		// before its turn still runs and ends at once, so its request gets
		// its answer (a stopped Done, or an error).
		if previous != nil {
			<-previous
		}
		err := job(ctx)
		w.mu.Lock()
		cancel()
		// A job that ends after a newer one started leaves the newer
		// one's cancel in place, so a Stop still reaches it.
		if number == w.newest {
			w.cancel = nil
		}
		w.mu.Unlock()
		if err != nil {
			w.fail(id, err)
		}
	}()
	return done
}

func (w *Worker) fail(id int, err error) {
	w.host.Send(protocol.Response{Type: protocol.Error, ID: id, Error: err.Error(), Code: errorCode(err)})
}

// load fetches (or takes) a model file, verifies and parses it; generate
// allocates the engine state for the canvas it runs. A fetched file that
// is not the one pinned, or does not parse, is dropped from the host's
// caches, so that the next load downloads it again.
func (w *Worker) load(ctx context.Context, id int, req *protocol.LoadRequest) error {
	start := time.Now()
	data := req.Bytes
	url := protocol.PinnedURL(req.URL, req.SHA256)
	if req.URL != "" {
		var err error
		lastSent := time.Time{}
		data, err = w.host.Fetch(ctx, url, req.Size, func(loaded, total int64) {
			// Progress at most every 50 ms, and always the last chunk.
			if now := time.Now(); now.Sub(lastSent) > 50*time.Millisecond || loaded == total {
				lastSent = now
				w.host.Send(protocol.Response{Type: protocol.Progress, ID: id,
					Progress: &protocol.Bytes{Loaded: loaded, Total: total}})
			}
		})
		if err != nil {
			if errorCode(err) == "" && ctx.Err() == nil {
				err = unreachable(err)
			}
			if errorCode(err) == protocol.ErrModelDamaged {
				w.host.Forget(url)
			}
			return fmt.Errorf("downloading %s: %w", req.URL, err)
		}
	}
	if len(data) == 0 {
		return errors.New("load request with neither a URL nor bytes")
	}
	err := verify(data, req)
	var m *engine.Model
	if err == nil {
		m, err = engine.Load(data)
		if err != nil {
			err = damaged("model file: %w", err)
		}
	}
	if err != nil {
		if req.URL != "" {
			w.host.Forget(url)
		}
		return err
	}
	info := describe(m, int64(len(data)))
	info.LoadMS = msSince(start)
	w.mu.Lock()
	w.model, w.state, w.info = m, nil, info // the state is sized by the first generation
	w.mu.Unlock()
	w.host.Send(protocol.Response{Type: protocol.Ready, ID: id, Ready: info})
	return nil
}

// describe summarises a model for the page.
func describe(m *engine.Model, fileBytes int64) *protocol.ModelInfo {
	info := &protocol.ModelInfo{
		Config:     m.Config,
		DType:      m.DType().String(),
		FileBytes:  fileBytes,
		KernelPath: quant.KernelPath(),
	}
	for _, t := range m.Weights.Tensors() {
		if t.Matrix != nil {
			info.Params += int64(t.Matrix.Rows) * int64(t.Matrix.Cols)
		} else {
			info.Params += int64(len(*t.Vector))
		}
	}
	info.Tokens = make([]string, m.Config.EmbeddingSize)
	for id := range info.Tokens {
		info.Tokens[id] = tokenText(m, id)
	}
	if m.Tokenizer != nil {
		_, user := m.Tokenizer.Special("user")
		_, assistant := m.Tokenizer.Special("assistant")
		info.Chat = user && assistant
	}
	return info
}

// tokenText is the display text of one id: the tokenizer's, or the special
// role of the id, or its number when the model carries no tokenizer.
func tokenText(m *engine.Model, id int) string {
	switch {
	case id == m.Config.MaskTokenID:
		return "[MASK]"
	case m.Tokenizer != nil:
		return m.Tokenizer.Token(id)
	case id == m.Config.EOSTokenID:
		return "<eos>"
	}
	return fmt.Sprintf("#%d", id)
}

// generate runs one generation, sending a StepDone after every step and a
// Done at the end (also when stopped).
func (w *Worker) generate(ctx context.Context, id int, req *protocol.GenerateRequest) error {
	w.mu.Lock()
	m, st := w.model, w.state
	w.mu.Unlock()
	if m == nil {
		return errors.New("no model loaded yet")
	}
	prompt, masks, err := promptIDs(m, req)
	if err != nil {
		return err
	}
	// The engine checks the options for the model's kind: a causal model
	// refuses those that only mean something for diffusion
	// (ErrCausalOptions) and ignores the denoising schedule.
	opts := req.Options.Engine()
	// Buffers for the canvas in use, not the model's maximum; a longer
	// canvas later gets a larger state.
	T := len(prompt) + opts.GenLength
	if st == nil || st.Cap < T {
		st = engine.NewState(m, max(T, 1))
		w.mu.Lock()
		if w.model == m {
			w.state = st
		}
		w.mu.Unlock()
	}
	// Steps planned: with a threshold the linear schedule is not used and
	// a step commits at least one mask, so at most one step per mask.
	// A causal model writes one token per step, left to right.
	planned := opts.Steps
	switch {
	case m.Config.Causal:
		planned = opts.GenLength
	case opts.Threshold > 0:
		planned = opts.GenLength + masks
	}
	start := time.Now()
	stepStart := start
	steps, passes, computed := 0, 0, 0
	observe := func(s engine.Step) {
		w.host.Send(protocol.Response{Type: protocol.StepDone, ID: id, Step: &protocol.StepInfo{
			Step: s, Steps: planned, ElapsedMS: msSince(stepStart),
		}})
		steps++
		passes += s.Passes // a step with nothing to commit runs none
		computed += s.Passes * (s.ComputedTo - s.ComputedFrom)
		w.host.Yield()
		stepStart = time.Now()
	}
	out, err := st.Generate(ctx, prompt, opts, observe)
	stopped := errors.Is(err, context.Canceled)
	if err != nil && !stopped {
		return err
	}
	elapsed := msSince(start)
	generated := opts.GenLength + masks
	done := &protocol.DoneInfo{
		Output:            out,
		Text:              generatedText(m, prompt, out),
		Stopped:           stopped,
		Steps:             steps,
		ForwardPasses:     passes,
		PositionsComputed: computed,
		PositionsFull:     passes * T,
		ElapsedMS:         elapsed,
	}
	if elapsed > 0 && !stopped {
		done.TokensPerS = float64(generated) / (elapsed / 1000)
	}
	w.host.Send(protocol.Response{Type: protocol.Done, ID: id, Done: done})
	return nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// generatedText is the text of a finished or stopped generation
// (engine.Answer), or nothing for a model without a tokenizer.
func generatedText(m *engine.Model, prompt, canvas []int) string {
	if m.Tokenizer == nil {
		return ""
	}
	return m.Tokenizer.Decode(engine.Answer(prompt, canvas, m.Config.EOSTokenID, m.Config.MaskTokenID))
}

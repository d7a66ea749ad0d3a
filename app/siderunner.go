package main

import (
	"fmt"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// sideRunner is one model of a view that runs two (the Compare view's
// sides, the reversal view's pair): its own engine client and worker, the
// model it holds, and the generation it shows. It is the owning view's
// state, not a component; every method runs on the UI goroutine.
type sideRunner struct {
	client  *engineClient
	file    string // the model file the worker holds or is loading
	model   *protocol.ModelInfo
	loading bool
	waiting []func(app.Context) // what runs once the model is loaded
	preview []Cell              // the canvas a run starts from (prompt and masks), before its first step
	trace   *Trace
	running bool
	err     string // the last load or generation error
}

// newSideRunner starts a worker for one side.
func newSideRunner(ctx app.Context) *sideRunner {
	s := &sideRunner{client: newEngineClient(ctx.Dispatch)}
	s.client.OnRestart = func(ctx app.Context, why error) {
		s.file, s.model, s.loading, s.running = "", nil, false, false
		s.err = why.Error()
	}
	s.client.OnWorkerError = func(ctx app.Context, err error) { s.err = err.Error() }
	if err := s.client.Start(); err != nil {
		s.err = err.Error()
	}
	return s
}

// close ends the worker.
func (s *sideRunner) close() {
	if s.client != nil && s.client.link != nil {
		s.client.link.Close()
	}
}

// withModel runs then once the worker holds file, loading it first when
// it holds another.
func (s *sideRunner) withModel(ctx app.Context, file string, then func(app.Context)) {
	if s.file == file && s.model != nil && !s.loading {
		then(ctx)
		return
	}
	if s.file == file && s.loading {
		s.waiting = append(s.waiting, then)
		return
	}
	s.file, s.model, s.loading, s.err, s.waiting = file, nil, true, "", []func(app.Context){then}
	s.client.Load(ctx, file, nil, func(ctx app.Context, m *protocol.ModelInfo) {
		if s.file != file {
			return
		}
		s.model, s.loading = m, false
		waiting := s.waiting
		s.waiting = nil
		for _, f := range waiting {
			f(ctx)
		}
	}, func(ctx app.Context, err *engineError) {
		if s.file == file {
			s.file, s.loading, s.waiting, s.err = "", false, nil, fmt.Sprintf("loading %s: %s", file, err.Error())
		}
	})
}

// generate runs req with the trace shown live; onDone follows the end
// (also an error: then done is nil).
func (s *sideRunner) generate(ctx app.Context, req protocol.GenerateRequest, onStep func(app.Context), onDone func(app.Context, *protocol.DoneInfo)) {
	o := req.Options.Engine()
	planned := o.Steps
	if s.model.Config.Causal || o.Threshold > 0 {
		planned = o.GenLength
	}
	s.trace = &Trace{Mask: s.model.Config.MaskTokenID, EOS: s.model.Config.EOSTokenID, Planned: planned,
		GenLength: o.GenLength, Threshold: o.Threshold, Chat: req.Chat}
	s.running, s.err = true, ""
	trace := s.trace
	s.client.Generate(ctx, req, func(ctx app.Context, st protocol.StepInfo) {
		if s.trace == trace {
			trace.Add(st)
			if onStep != nil {
				onStep(ctx)
			}
		}
	}, func(ctx app.Context, d *protocol.DoneInfo) {
		if s.trace == trace {
			trace.Done, s.running = d, false
		}
		if onDone != nil {
			onDone(ctx, d)
		}
	}, func(ctx app.Context, err *engineError) {
		if s.trace == trace {
			s.running, s.err = false, err.Error()
		}
		if onDone != nil {
			onDone(ctx, nil)
		}
	})
}

// tokens is the display text of the loaded model's ids.
func (s *sideRunner) tokens() []string {
	if s.model == nil {
		return nil
	}
	return s.model.Tokens
}

// busy says whether the side is loading or generating.
func (s *sideRunner) busy() bool { return s != nil && (s.loading || s.running) }

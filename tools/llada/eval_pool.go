package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"unmask/engine"
)

// pool evaluates many sequences at once: each worker owns a State running
// one thread, so separate sequences keep the cores busy without
// synchronising inside a forward pass. Results are stored by index and
// every job draws its own random numbers, so they do not depend on the
// number of workers. The states are sized for the longest canvas a run
// asks for, not the model's maximum.
type pool struct {
	m      *engine.Model
	states []*engine.State
}

func newPool(m *engine.Model, workers int) *pool {
	return &pool{m: m, states: make([]*engine.State, workers)}
}

// run calls job(state, i) for i in [0, n), stopping at the first error;
// no job's canvas is longer than canvas tokens.
func (p *pool) run(ctx context.Context, canvas, n int, job func(st *engine.State, i int) error) error {
	for i, st := range p.states {
		if st == nil || st.Cap < canvas {
			p.states[i] = engine.NewState(p.m, max(canvas, 1))
			p.states[i].Threads = 1
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, st := range p.states {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := job(st, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

package main

import (
	"sync"
	"time"

	"unmask/app/protocol"
)

// stepBatch is the longest a received step waits before the page shows
// it. The engine can step faster than a page is worth redrawing; batching
// keeps the main thread's work per second bounded (about 12 renders)
// whatever the model's speed.
const stepBatch = 80 * time.Millisecond

// stepInbox holds the steps received since the page last drew. The
// worker's messages arrive on the browser's event goroutine; the page
// takes them on its UI goroutine.
type stepInbox struct {
	mu    sync.Mutex
	steps []protocol.Response
}

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

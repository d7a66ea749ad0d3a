package main

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// Go's collector in WebAssembly runs on the page's only thread and stops it
// while it marks: one collection in the middle of a generation is a long
// task of tens of milliseconds. The page therefore runs with automatic
// collection off, a memory limit as a safety net, and collects explicitly
// when it is idle: a moment after a model loads and after each generation.

// gcSafetyMargin is how much the heap may grow between two collections
// before the runtime collects on its own.
const gcSafetyMargin = 96 << 20

// gcIdleDelay is how long after a burst of work the page collects.
const gcIdleDelay = time.Second

// holdGC turns automatic collection off, with the limit above the heap's
// present size.
func holdGC() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(int64(m.HeapAlloc) + gcSafetyMargin)
}

// idleCollector collects garbage once the page has been idle for
// gcIdleDelay: not streaming, not loading, not replaying. While it is busy
// the collection waits, so it never lands in the middle of what the
// visitor watches; at most one collection is pending.
type idleCollector struct{ pending bool }

// schedule asks for a collection when busy next says the page is idle.
func (c *idleCollector) schedule(ctx app.Context, busy func() bool) {
	if c.pending {
		return
	}
	c.pending = true
	var try func(ctx app.Context)
	later := func() { time.AfterFunc(gcIdleDelay, func() { ctx.Dispatch(try) }) }
	try = func(ctx app.Context) {
		if busy() {
			later()
			return
		}
		c.pending = false
		runtime.GC()
		holdGC()
	}
	later()
}

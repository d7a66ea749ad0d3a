package main

import (
	"math"
	"runtime"
	"runtime/debug"
)

// Go's collector in WebAssembly runs on the page's only thread and stops it
// while it marks: one collection in the middle of a generation is a long
// task of tens of milliseconds. While the engine streams steps the page
// therefore only collects if its heap grows past a safety limit, and it
// collects once the generation is over and the page idle.

// gcSafetyMargin is how much the heap may grow while collection is held.
const gcSafetyMargin = 96 << 20

// holdGC postpones collection until releaseGC.
func holdGC() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	debug.SetMemoryLimit(int64(m.HeapAlloc) + gcSafetyMargin)
	debug.SetGCPercent(-1)
}

// releaseGC restores the collector's defaults and collects.
func releaseGC() {
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	runtime.GC()
}

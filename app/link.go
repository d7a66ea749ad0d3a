package main

import (
	"errors"

	"unmask/app/protocol"
)

// engineLink carries requests to one engine worker. Its answers arrive
// through the callbacks given to startEngine.
type engineLink interface {
	Send(protocol.Request) error
	// Close ends the worker.
	Close()
}

// workerScript is the engine worker's glue, relative to the page.
const workerScript = "web/worker.js"

// errNoWorker reports a page that cannot start the engine worker.
var errNoWorker = errors.New("this browser cannot start the engine worker (Web Workers and WebAssembly are required)")

package main

import (
	"errors"

	"unmask/app/protocol"
)

// engineLink carries requests to the engine worker. Responses arrive
// through the callback given to startEngine, on the page's main thread.
type engineLink interface {
	Send(protocol.Request) error
}

// workerScript is the engine worker's glue, relative to the page.
const workerScript = "web/worker.js"

// errNoWorker reports a page that cannot start the engine worker.
var errNoWorker = errors.New("this browser cannot start the engine worker (Web Workers and WebAssembly are required)")

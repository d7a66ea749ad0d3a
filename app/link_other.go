//go:build !(js && wasm)

package main

import "unmask/app/protocol"

// startEngine has no worker to start outside the browser: the native build
// only serves and writes the site.
func startEngine(func(protocol.Response), func(error)) (engineLink, error) { return nil, errNoWorker }

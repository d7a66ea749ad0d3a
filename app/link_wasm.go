//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"syscall/js"

	"unmask/app/protocol"
)

// workerLink is a Web Worker running the engine.
type workerLink struct {
	worker    js.Value
	callbacks []js.Func
}

// startEngine starts the engine worker; onResponse receives every message
// it sends, decoded, and onCrash the worker's uncaught errors, from the
// browser's event loop.
func startEngine(onResponse func(protocol.Response), onCrash func(error)) (engineLink, error) {
	ctor := js.Global().Get("Worker")
	if ctor.Type() != js.TypeFunction || js.Global().Get("WebAssembly").IsUndefined() {
		return nil, errNoWorker
	}
	w := ctor.New(workerScript)
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var r protocol.Response
		data := args[0].Get("data")
		if data.Type() != js.TypeString {
			r = protocol.Response{Type: protocol.Error, Error: "the engine worker sent a message that is not JSON"}
		} else if err := json.Unmarshal([]byte(data.String()), &r); err != nil {
			r = protocol.Response{Type: protocol.Error, Error: "bad message from the engine worker: " + err.Error()}
		}
		onResponse(r)
		return nil
	})
	// An uncaught error inside the worker (a WebAssembly trap, memory
	// exhausted) leaves it dead: the client replaces it.
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := errWorkerDied.Error()
		if len(args) > 0 && args[0].Get("message").Type() == js.TypeString {
			msg += ": " + args[0].Get("message").String()
		}
		onCrash(errors.New(msg))
		return nil
	})
	w.Set("onmessage", onMessage)
	w.Set("onerror", onError)
	w.Set("onmessageerror", onError)
	return &workerLink{worker: w, callbacks: []js.Func{onMessage, onError}}, nil
}

func (l *workerLink) Close() {
	l.worker.Call("terminate")
	for _, f := range l.callbacks {
		f.Release()
	}
}

func (l *workerLink) Send(r protocol.Request) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	l.worker.Call("postMessage", string(data))
	return nil
}

//go:build js && wasm

package main

import (
	"encoding/json"
	"syscall/js"

	"unmask/app/protocol"
)

// workerLink is a Web Worker running the engine.
type workerLink struct{ worker js.Value }

// startEngine starts the engine worker; onResponse receives every message
// it sends, decoded, from the browser's event loop.
func startEngine(onResponse func(protocol.Response)) (engineLink, error) {
	ctor := js.Global().Get("Worker")
	if ctor.Type() != js.TypeFunction || js.Global().Get("WebAssembly").IsUndefined() {
		return nil, errNoWorker
	}
	w := ctor.New(workerScript)
	w.Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
		var r protocol.Response
		data := args[0].Get("data")
		if data.Type() != js.TypeString {
			r = protocol.Response{Type: protocol.Error, Error: "the engine worker sent a message that is not JSON"}
		} else if err := json.Unmarshal([]byte(data.String()), &r); err != nil {
			r = protocol.Response{Type: protocol.Error, Error: "bad message from the engine worker: " + err.Error()}
		}
		onResponse(r)
		return nil
	}))
	w.Set("onerror", js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "the engine worker failed"
		if len(args) > 0 && args[0].Get("message").Type() == js.TypeString {
			msg += ": " + args[0].Get("message").String()
		}
		onResponse(protocol.Response{Type: protocol.Error, Error: msg})
		return nil
	}))
	return workerLink{worker: w}, nil
}

func (l workerLink) Send(r protocol.Request) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	l.worker.Call("postMessage", string(data))
	return nil
}

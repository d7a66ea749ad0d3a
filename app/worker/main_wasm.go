//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"syscall/js"

	"unmask/app/protocol"
	"unmask/quant"
)

// The glue script (web/worker.js) defines unmaskYield(callback), which calls
// callback from a fresh task, and forwards every message from the page to
// the function main registers as unmaskReceive; it queues messages that
// arrive before that.
func main() {
	// The loader (web/kernels/kernels.js) installed the fastest kernels
	// this browser supports; use them.
	if _, err := quant.UseKernels("auto"); err != nil {
		browser{}.Send(protocol.Response{Type: protocol.Error, Error: err.Error()})
	}
	w := NewWorker(browser{})
	receive := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var req protocol.Request
		if len(args) != 1 || args[0].Type() != js.TypeString {
			w.fail(0, errors.New("worker messages are JSON strings"))
			return nil
		}
		if err := json.Unmarshal([]byte(args[0].String()), &req); err != nil {
			w.fail(0, fmt.Errorf("bad request: %w", err))
			return nil
		}
		w.Handle(req)
		return nil
	})
	browser{}.Send(w.Hello())
	js.Global().Set("unmaskReceive", receive)
	if started := js.Global().Get("unmaskStarted"); started.Type() == js.TypeFunction {
		started.Invoke()
	}
	select {}
}

// browser is the Host inside a Web Worker (or Node, for tests).
type browser struct{}

func (browser) Send(r protocol.Response) {
	data, err := json.Marshal(r)
	if err != nil {
		data, _ = json.Marshal(protocol.Response{Type: protocol.Error, ID: r.ID, Error: err.Error()})
	}
	js.Global().Call("postMessage", string(data))
}

func (browser) Yield() {
	done := make(chan struct{})
	var f js.Func
	f = js.FuncOf(func(js.Value, []js.Value) any {
		f.Release()
		close(done)
		return nil
	})
	js.Global().Call("unmaskYield", f)
	<-done
}

// Fetch streams the response body so the page can show progress. The
// size expected, not the length the server announces, bounds what it
// keeps: a compressing host announces the compressed length, a broken one
// any number.
func (browser) Fetch(ctx context.Context, url string, size int64, progress func(loaded, total int64)) ([]byte, error) {
	resp, err := await(js.Global().Call("fetch", url))
	if err != nil {
		return nil, unreachable(err)
	}
	if !resp.Get("ok").Bool() {
		return nil, unreachable(fmt.Errorf("HTTP %d %s", resp.Get("status").Int(), resp.Get("statusText").String()))
	}
	headers := resp.Get("headers")
	announced := int64(-1)
	if h := headers.Call("get", "Content-Length"); h.Type() == js.TypeString {
		if n, err := strconv.ParseInt(h.String(), 10, 64); err == nil {
			announced = n
		}
	}
	encoding := headers.Call("get", "Content-Encoding")
	encoded := encoding.Type() == js.TypeString && !identity(encoding.String())
	if resp.Get("body").IsNull() {
		return nil, nil // no body: verify reports the file incomplete
	}
	reader := resp.Get("body").Call("getReader")
	b, err := newBody(size, announced, encoded)
	if err != nil {
		reader.Call("cancel")
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			reader.Call("cancel")
			return nil, err
		}
		chunk, err := await(reader.Call("read"))
		if err != nil {
			return nil, unreachable(err)
		}
		if chunk.Get("done").Bool() {
			return b.data, nil
		}
		value := chunk.Get("value")
		dst, err := b.reserve(value.Get("length").Int())
		if err != nil {
			reader.Call("cancel")
			return nil, err
		}
		js.CopyBytesToGo(dst, value)
		progress(int64(len(b.data)), b.total)
	}
}

// Forget drops url from the caches of the page's origin, where its service
// worker keeps the model files (web/worker.js: unmaskForget).
func (browser) Forget(url string) {
	if forget := js.Global().Get("unmaskForget"); forget.Type() == js.TypeFunction {
		if _, err := await(forget.Invoke(url)); err != nil {
			js.Global().Get("console").Call("warn", "could not drop "+url+" from the cache: "+err.Error())
		}
	}
}

// await blocks the calling goroutine (not the event loop) until the promise
// settles.
func await(promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "promise rejected"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	promise.Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}

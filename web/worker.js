// Unmask engine worker glue: starts the Go engine (worker.wasm) inside this
// Web Worker and passes JSON messages between the page and it.
//
// The Go side calls postMessage(jsonString) to answer, and unmaskYield(cb)
// between denoising steps: cb runs from a fresh task, so a "stop" message
// from the page is handled between two steps (Go in wasm has no preemption).
"use strict";

const pending = []; // messages that arrive before Go is running
self.onmessage = (e) => {
  if (self.unmaskReceive) self.unmaskReceive(e.data);
  else pending.push(e.data);
};

self.unmaskStarted = () => {
  for (const msg of pending.splice(0)) self.unmaskReceive(msg);
};

const yieldChannel = new MessageChannel();
const yieldQueue = [];
yieldChannel.port1.onmessage = () => yieldQueue.shift()();
self.unmaskYield = (cb) => {
  yieldQueue.push(cb);
  yieldChannel.port2.postMessage(0);
};

function fail(err) {
  postMessage(JSON.stringify({ type: "error", id: 0, error: "engine worker failed to start: " + err }));
}

importScripts("wasm_exec.js");

const go = new Go();
WebAssembly.instantiateStreaming(fetch("worker.wasm"), go.importObject)
  .then((r) => go.run(r.instance))
  .catch(fail);

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

// unmaskForget(url) drops url from every cache of this origin, where the
// page's service worker keeps the model files: the engine calls it for a
// file that failed its check, so that the next load downloads it again.
self.unmaskForget = async (url) => {
  if (!self.caches) return;
  for (const name of await caches.keys()) {
    await (await caches.open(name)).delete(url);
  }
};

function fail(err) {
  postMessage(JSON.stringify({ type: "error", id: 0, error: "engine worker failed to start: " + err }));
}

// The kernel loader instantiates Go with the WebAssembly SIMD kernels
// (plain Go kernels where SIMD128 is missing) and runs it.
importScripts("wasm_exec.js", "kernels/kernels.js");

loadGoWithKernels("worker.wasm", "kernels").catch(fail);

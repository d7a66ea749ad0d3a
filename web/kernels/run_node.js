// Runs a Go js/wasm program under Node with the quant kernels loaded, as
// Go's go_js_wasm_exec does without them:
//
//   node --stack-size=8192 [--experimental-wasm-relaxed-simd] run_node.js PROGRAM.wasm [ARGS...]
//
// It serves as `go test -exec` and `go run -exec` for GOOS=js GOARCH=wasm.
// The environment chooses the kernels: UNMASK_KERNELS=auto (default),
// relaxed-simd, simd or go; UNMASK_GLUE=table (default) or js.
"use strict";

const path = require("path");
const { execFileSync } = require("child_process");

if (process.argv.length < 3) {
  console.error("usage: run_node.js PROGRAM.wasm [ARGS...]");
  process.exit(2);
}

// What wasm_exec.js expects of its host (as Go's wasm_exec_node.js sets up).
globalThis.require = require;
globalThis.fs = require("fs");
globalThis.path = path;
globalThis.TextEncoder = require("util").TextEncoder;
globalThis.TextDecoder = require("util").TextDecoder;
globalThis.performance ??= require("perf_hooks").performance;
globalThis.crypto ??= require("crypto");

const goroot = process.env.GOROOT || execFileSync("go", ["env", "GOROOT"], { encoding: "utf8" }).trim();
require(path.join(goroot, "lib", "wasm", "wasm_exec.js"));
const { loadGoWithKernels } = require("./kernels.js");

const go = new Go();
go.argv = process.argv.slice(2);
go.env = Object.assign({ TMPDIR: require("os").tmpdir() }, process.env);
go.exit = process.exit;

loadGoWithKernels(process.argv[2], __dirname, {
  go,
  kernels: process.env.UNMASK_KERNELS || "auto",
  glue: process.env.UNMASK_GLUE || "table",
}).then(({ done }) => {
  process.on("exit", (code) => { // Node exits when no event is pending
    if (code === 0 && !go.exited) {
      // deadlock: make Go print the error and stack traces
      go._pendingEvent = { id: 0 };
      go._resume();
    }
  });
  return done;
}).catch((err) => {
  console.error(err);
  process.exit(1);
});

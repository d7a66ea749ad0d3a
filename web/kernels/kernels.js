// Unmask kernel loader: starts a Go js/wasm program together with the
// WebAssembly SIMD kernels of package quant, in a Web Worker or in Node.
//
// Load it as a classic script after Go's wasm_exec.js
// (importScripts("wasm_exec.js", "kernels/kernels.js") in a worker; it
// defines globalThis.loadGoWithKernels) or with require() in Node.
//
//   loadGoWithKernels(goWasm, kernelsBase, options?)
//       -> Promise<{go, instance, kernelPath, done}>
//
//   goWasm        the Go program: a URL (browser) or file path (Node), its
//                 bytes (ArrayBuffer or typed array), or a WebAssembly.Module
//   kernelsBase   the folder holding glue.wasm, kernels.wasm and
//                 kernels_relaxed.wasm: a URL (browser, relative to the
//                 script's location) or a directory path (Node)
//   options.go      a Go object from wasm_exec.js, argv and env already set
//                   (default: new Go())
//   options.kernels the fastest path to offer: "auto" (default),
//                   "relaxed-simd" (prefer it even where slower), "simd"
//                   or "go"
//   options.glue    "table" (default) or "js": how Go reaches the kernels;
//                   "js" (trampolines) exists only to measure the difference
//
// The promise resolves once go.run has started the program:
//   go, instance  the Go object and the program's WebAssembly instance
//   kernelPath    the fastest path the program may use: "relaxed-simd"
//                 (relaxed SIMD present, its start-up self-test passed and
//                 it timed faster than SIMD128), "simd", or "go" when
//                 SIMD128 is missing: say so visibly then, the engine runs
//                 many times slower on the Go references
//   done          go.run's promise, settled when the program exits
// The program picks the kernels itself with quant.UseKernels("auto"); from
// then on quant.KernelPath() equals kernelPath.
//
//   detectKernels() -> {simd, relaxed}   feature detection alone
//
// Order matters: Go is instantiated first (importing the forwarders of
// glue.wasm), then the kernel module with Go's exported memory, whose
// functions fill the glue's table, and only then go.run. The kernels work
// on Go's memory in place; nothing here keeps a typed-array view of it, so
// memory growth is harmless.
"use strict";

(function (root) {
  const isNode = typeof process === "object" && process.versions != null &&
    process.versions.node != null && typeof importScripts !== "function";

  // Slot order of glue.wasm's table.
  const SLOTS = ["matmul_q8", "matmul_f32", "quantize", "dot_f32", "axpy_f32",
    "attention", "rmsnorm", "silu_mul", "rope", "logit_stats"];
  const RELAXED_SLOTS = ["matmul_q8"]; // from slot 10
  const LEVEL = { go: 0, simd: 1, "relaxed-simd": 2 };

  // (module (func (result v128) (v128.const i32x4 0 0 0 0)))
  const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
  // (module (func (result v128) (i16x8.relaxed_dot_i8x16_i7x16_s (v128.const ...) (v128.const ...))))
  const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 43, 1, 41, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 146, 2, 11]);

  function detectKernels() {
    const simd = WebAssembly.validate(SIMD_PROBE);
    return { simd, relaxed: simd && WebAssembly.validate(RELAXED_PROBE) };
  }

  function isRemote(s) { return /^[a-z]+:/i.test(s) && !/^file:/i.test(s); }

  function resolve(base, name) {
    if (isNode && !isRemote(base)) return require("path").join(base, name);
    const b = base.endsWith("/") ? base : base + "/";
    return new URL(name, new URL(b, root.location ? root.location.href : undefined)).href;
  }

  async function bytesOf(src) {
    if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return src;
    if (isNode && !isRemote(src)) return require("fs").promises.readFile(src);
    const resp = await fetch(src);
    if (!resp.ok) throw new Error(`${src}: HTTP ${resp.status} ${resp.statusText}`);
    return resp.arrayBuffer();
  }

  async function compile(src) {
    if (src instanceof WebAssembly.Module) return src;
    if (typeof src === "string" && !isNode && WebAssembly.compileStreaming) {
      try {
        return await WebAssembly.compileStreaming(fetch(src));
      } catch (e) {
        // A server without the application/wasm type: fall back to bytes.
      }
    }
    return WebAssembly.compile(await bytesOf(src));
  }

  // Deterministic test data for the relaxed self-test.
  function fill(mem, off, n, kind, seed) {
    let s = seed >>> 0;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    if (kind === "i8") {
      const v = new Int8Array(mem.buffer, off, n);
      for (let i = 0; i < n; i++) v[i] = (next() >>> 24) - 128;
    } else {
      const v = new Float32Array(mem.buffer, off, n);
      for (let i = 0; i < n; i++) v[i] = (next() / 4294967296) * 2 - 1;
    }
  }

  // relaxedCheck runs the relaxed int8 product and the SIMD one on the same
  // inputs, in private memories, and compares them: they must agree bit
  // for bit. It repeats so that both of V8's tiers run the code (a
  // baseline-compiler bug once doubled a relaxed dot product). It then
  // times both on a larger product. It returns {failure, faster}.
  async function relaxedCheck(simdModule, relaxedModule) {
    const memory = () => new WebAssembly.Memory({ initial: 4 });
    const simdMem = memory(), relaxedMem = memory();
    const simd = (await WebAssembly.instantiate(simdModule, { env: { memory: simdMem } })).exports;
    const relaxed = (await WebAssembly.instantiate(relaxedModule, {
      env: { memory: relaxedMem },
      simd: (await WebAssembly.instantiate(simdModule, { env: { memory: relaxedMem } })).exports,
    })).exports;
    // x (T, cols) at 0, scales at 64 KiB, w (rows, cols) at 80 KiB and its
    // scales at 144 KiB, y (T, rows) at 160 KiB. No -128: with one the
    // relaxed kernel hands the call to the SIMD one.
    const X = 0, XS = 65536, W = 81920, WS = 147456, Y = 163840;
    const shapes = [[5, 13, 72, 24], [2, 8, 40, 40], [3, 4, 256, 256]];
    for (const m of [simdMem, relaxedMem]) {
      fill(m, X, 65536, "i8", 1);
      fill(m, XS, 4096, "f32", 2);
      fill(m, W, 65536, "i8", 3);
      fill(m, WS, 4096, "f32", 4);
      for (const [off, n] of [[X, 65536], [W, 65536]]) {
        const v = new Int8Array(m.buffer, off, n);
        for (let i = 0; i < n; i++) if (v[i] === -128) v[i] = 127;
      }
    }
    for (let round = 0; round < 300; round++) {
      for (const [T, rows, cols, group] of shapes) {
        simd.matmul_q8(Y, X, XS, W, WS, T, rows, cols, group, 0, rows);
        relaxed.matmul_q8(Y, X, XS, W, WS, T, rows, cols, group, 0, rows);
        const a = new Float32Array(simdMem.buffer, Y, T * rows);
        const b = new Float32Array(relaxedMem.buffer, Y, T * rows);
        for (let i = 0; i < a.length; i++) {
          if (!Object.is(a[i], b[i])) return { failure: `matmul_q8 ${T}x${rows}x${cols} differs at ${i}`, faster: false };
        }
      }
    }
    // 32 tokens x 256 rows x 256 columns, best of 5 runs each.
    const time = (f) => {
      let best = Infinity;
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        for (let r = 0; r < 4; r++) f(Y, X, XS, W, WS, 32, 256, 256, 256, 0, 256);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    return { failure: "", faster: time(relaxed.matmul_q8) < time(simd.matmul_q8) };
  }

  async function loadGoWithKernels(goWasm, kernelsBase, options = {}) {
    const go = options.go || new root.Go();
    const want = options.kernels || "auto";
    if (want !== "auto" && !(want in LEVEL)) throw new Error(`unknown kernel path ${want}`);
    const maxLevel = want === "auto" ? 2 : LEVEL[want];
    const features = detectKernels();

    const glueModule = await compile(resolve(kernelsBase, "glue.wasm"));
    const glue = (await WebAssembly.instantiate(glueModule, {})).exports;
    const trampolines = { level: 0, fastest: 0, fns: {} };
    let imports = glue;
    if (options.glue === "js") {
      imports = { kernel_level: () => trampolines.level, kernel_fastest: () => trampolines.fastest };
      const names = SLOTS.concat(RELAXED_SLOTS.map((n) => "relaxed_" + n));
      for (const name of names) {
        imports[name] = (a, b, c, d, e, f, g, h, i, j, k, l) => trampolines.fns[name](a, b, c, d, e, f, g, h, i, j, k, l);
      }
    }
    const importObject = Object.assign({}, go.importObject, { kernels: imports });
    const goModule = await compile(goWasm);
    const instance = await WebAssembly.instantiate(goModule, importObject);
    const env = { env: { memory: instance.exports.mem } };

    const install = (exports, names, first, prefix) => {
      names.forEach((name, i) => {
        glue.table.set(first + i, exports[name]);
        trampolines.fns[prefix + name] = exports[name];
      });
    };
    let level = 0, fastest = 0;
    if (maxLevel >= 1 && features.simd) {
      const simdModule = await compile(resolve(kernelsBase, "kernels.wasm"));
      const simd = (await WebAssembly.instantiate(simdModule, env)).exports;
      install(simd, SLOTS, 0, "");
      level = fastest = 1;
      if (maxLevel >= 2 && features.relaxed) {
        const relaxedModule = await compile(resolve(kernelsBase, "kernels_relaxed.wasm"));
        const check = await relaxedCheck(simdModule, relaxedModule);
        if (check.failure === "") {
          const relaxed = (await WebAssembly.instantiate(relaxedModule, Object.assign({ simd }, env))).exports;
          install(relaxed, RELAXED_SLOTS, SLOTS.length, "relaxed_");
          level = 2;
          // An explicit request for relaxed SIMD is honoured even where it is slower.
          fastest = check.faster || want === "relaxed-simd" ? 2 : 1;
        } else if (root.console) {
          console.warn(`relaxed SIMD kernels disabled: self-test failed (${check.failure})`);
        }
      }
    }
    glue.level.value = level;
    glue.fastest.value = fastest;
    trampolines.level = level;
    trampolines.fastest = fastest;
    const done = go.run(instance);
    return { go, instance, kernelPath: ["go", "simd", "relaxed-simd"][fastest], done };
  }

  root.loadGoWithKernels = loadGoWithKernels;
  root.detectKernels = detectKernels;
  if (typeof module === "object" && module.exports) {
    module.exports = { loadGoWithKernels, detectKernels };
  }
})(typeof globalThis !== "undefined" ? globalThis : self);

// Runs the site's service worker (a rendered app-worker.js, argv[2]) under
// Node in a simulated worker scope, with an in-memory Cache Storage and a
// scripted network, and checks what it serves and what it keeps
// (TestServiceWorker in serviceworker_test.go). The site it expects:
// shell ["./", "./app.js"], files ["./web/app.wasm"], one model
// "./web/models/m.unmask?sha256=" + sha256("good model").
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");

const scope = "https://example.test/site/";
const at = (path) => new URL(path, scope).href;
const modelURL = at("web/models/m.unmask?sha256=" +
  require("node:crypto").createHash("sha256").update("good model").digest("hex"));

// network: url -> body served; every fetch is logged.
const network = new Map();
const fetched = [];
async function fakeFetch(input, init = {}) {
  const url = typeof input === "string" ? input : input.url;
  fetched.push({ url, cache: init.cache ?? input.cache ?? "default" });
  if (!network.has(url)) {
    return new Response("not found", { status: 404 });
  }
  return new Response(network.get(url), { status: 200 });
}

class FakeCache {
  constructor() {
    this.entries = new Map(); // url -> Response
  }
  key(request, ignoreSearch) {
    const url = new URL(typeof request === "string" ? at(request) : request.url);
    if (ignoreSearch) url.search = "";
    return url.href;
  }
  async match(request, options = {}) {
    const key = this.key(request, options.ignoreSearch);
    for (const [url, response] of this.entries) {
      if (this.key(url, options.ignoreSearch) === key) return response.clone();
    }
    return undefined;
  }
  async put(request, response) {
    this.entries.set(this.key(request), new Response(await response.arrayBuffer(), response));
  }
  async delete(request) {
    return this.entries.delete(this.key(request));
  }
  async keys() {
    return [...this.entries.keys()].map((url) => new Request(url));
  }
}

const stores = new Map();
const caches = {
  async open(name) {
    if (!stores.has(name)) stores.set(name, new FakeCache());
    return stores.get(name);
  },
  async keys() {
    return [...stores.keys()];
  },
  async delete(name) {
    return stores.delete(name);
  },
};

// load runs one version of the worker script in a fresh scope.
function load(script, active) {
  const listeners = {};
  const self = {
    registration: { scope, active },
    location: new URL("app-worker.js", scope),
    addEventListener: (type, listener) => { listeners[type] = listener; },
    skipWaiting: async () => {},
    clients: { claim: async () => {} },
  };
  // Relative URLs resolve against the worker's address, as in a browser.
  class WorkerRequest extends Request {
    constructor(input, init) {
      super(typeof input === "string" ? new URL(input, self.location).href : input, init);
    }
  }
  vm.runInNewContext(script, {
    self, caches, fetch: fakeFetch, Request: WorkerRequest, Response, URL, crypto: globalThis.crypto,
    Uint8Array, Array, String, Object, Map, Set, Promise, Error, console,
  });
  return listeners;
}

// lifecycle runs install or activate and waits for it.
async function lifecycle(listeners, type) {
  let work;
  listeners[type]({ waitUntil: (p) => { work = p; } });
  await work;
}

// request dispatches one fetch event; it returns the response, or null
// when the worker leaves the request to the browser, once every
// waitUntil has settled.
async function request(listeners, url, mode = "cors") {
  let response = null;
  const pending = [];
  listeners.fetch({
    request: { url, method: "GET", mode },
    respondWith: (p) => { response = p; },
    waitUntil: (p) => { pending.push(p); },
  });
  response = response && await response;
  const text = response && await response.text();
  await Promise.all(pending);
  return text;
}

const count = (url) => fetched.filter((f) => f.url === url).length;

async function main() {
  const script = (version) => fs.readFileSync(process.argv[2], "utf8").replace(/"v1"/, JSON.stringify(version));
  network.set(at("./"), "index");
  network.set(at("app.js"), "app.js");
  network.set(at("web/app.wasm"), "wasm");

  // First install: the shell only, from the HTTP cache if it can.
  let sw = load(script("v1"), null);
  await lifecycle(sw, "install");
  assert.deepEqual(fetched.map((f) => [f.url, f.cache]).sort(),
    [[at("./"), "force-cache"], [at("app.js"), "force-cache"]]);
  await lifecycle(sw, "activate");

  // A file of the site: downloaded once, then from the cache.
  assert.equal(await request(sw, at("web/app.wasm")), "wasm");
  assert.equal(await request(sw, at("web/app.wasm")), "wasm");
  assert.equal(count(at("web/app.wasm")), 1, "app.wasm downloaded twice");

  // Navigations to any path or query get the cached page.
  assert.equal(await request(sw, at("some/path?steps=8"), "navigate"), "index");
  assert.equal(count(at("some/path?steps=8")), 0);

  // Another origin, and files the site does not list, are left alone.
  assert.equal(await request(sw, "https://elsewhere.test/x.js"), null);
  assert.equal(await request(sw, at("web/unlisted.txt")), null);

  // A model is kept only when its bytes have the pinned sha256.
  network.set(modelURL, "damaged model");
  assert.equal(await request(sw, modelURL), "damaged model");
  assert.equal(await (await caches.open(`unmask ${scope} models`)).match(modelURL), undefined,
    "a damaged model was kept");
  network.set(modelURL, "good model");
  assert.equal(await request(sw, modelURL), "good model");
  network.set(modelURL, "changed on the host");
  assert.equal(await request(sw, modelURL), "good model");
  assert.equal(count(modelURL), 2);

  // An update revalidates the shell and the files the visitor had, drops
  // the old version's cache, and keeps models whose pins it still lists.
  fetched.length = 0;
  sw = load(script("v2"), {});
  await lifecycle(sw, "install");
  assert.deepEqual(fetched.map((f) => [f.url, f.cache]).sort(),
    [[at("./"), "no-cache"], [at("app.js"), "no-cache"], [at("web/app.wasm"), "no-cache"]]);
  await lifecycle(sw, "activate");
  assert.deepEqual((await caches.keys()).sort(), [`unmask ${scope} models`, `unmask ${scope} v2`]);
  network.clear();
  assert.equal(await request(sw, at("web/app.wasm")), "wasm", "not kept across the update");
  assert.equal(await request(sw, modelURL), "good model", "the model was not kept across the update");

  // A version that pins another file drops the old one.
  sw = load(script("v3").replace(/m\.unmask\?sha256=[0-9a-f]+/, "m.unmask?sha256=00"), {});
  await lifecycle(sw, "activate");
  assert.deepEqual(await (await caches.open(`unmask ${scope} models`)).keys(), []);
}

main().then(() => console.log("ok"), (err) => {
  console.error(err);
  process.exit(1);
});

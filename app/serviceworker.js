// Unmask's service worker (app/site.go writes it as app-worker.js with the
// site's file lists): the page works offline after one visit, and a first
// visit downloads every file once.
//
// - The shell (index.html, go-app's scripts, styles, icons) was loaded
//   before this worker ran: a first install copies it from the browser's
//   HTTP cache instead of downloading it again.
// - Every other file of the site (app.wasm, the engine worker, kernels) is
//   kept the first time the page fetches it; the page waits for this worker
//   to control it before it fetches app.wasm (app/whencontrolled.js).
// - Model files are fetched by content, as models/NAME.unmask?sha256=PIN,
//   and kept (across versions of the site) only when their bytes have that
//   sha256. The engine worker checks them again and drops a copy that
//   fails (web/worker.js: unmaskForget).
"use strict";

const version = {{json .Version}};
const shell = {{json .Shell}}; // paths, cached on install
const files = {{json .Files}}; // paths, cached when first fetched
const models = {{json .Models}}; // path with its pin -> sha256

// Caches are named after the scope, so that two copies of the site on one
// origin (two project pages of one GitHub account) keep apart.
const prefix = "unmask " + self.registration.scope + " ";
const siteCache = prefix + version;
const modelCache = prefix + "models";

const absolute = (path) => new URL(path, self.location).href;
const siteURLs = new Set([...shell, ...files].map(absolute));
const fileURLs = new Set(files.map(absolute));
const modelURLs = new Map(Object.entries(models).map(([path, sha]) => [absolute(path), sha]));

self.addEventListener("install", (event) => {
  event.waitUntil(install());
});

async function install() {
  const cache = await caches.open(siteCache);
  const names = await caches.keys();
  const previous = names.find((name) => name.startsWith(prefix) && name !== siteCache && name !== modelCache);
  // A first install takes the copies the page has just loaded, whatever
  // their age; an update (an older worker is active) asks the server,
  // which answers "not modified" for what did not change.
  const mode = self.registration.active ? "no-cache" : "force-cache";
  await Promise.all(shell.map(async (path) => {
    const response = await fetch(new Request(path, { cache: mode }));
    if (!response.ok) {
      throw new Error(`caching ${path}: HTTP ${response.status}`);
    }
    await cache.put(absolute(path), response);
  }));
  if (previous) {
    // The files the visitor had are fetched again now, so that the site
    // still works offline after this update.
    const old = await caches.open(previous);
    for (const request of await old.keys()) {
      if (fileURLs.has(request.url)) {
        const response = await fetch(request.url, { cache: "no-cache" });
        if (response.ok) {
          await cache.put(request.url, response);
        }
      }
    }
  }
  await self.skipWaiting();
}

self.addEventListener("activate", (event) => {
  event.waitUntil(activate());
});

async function activate() {
  for (const name of await caches.keys()) {
    if (name.startsWith(prefix) && name !== siteCache && name !== modelCache) {
      await caches.delete(name);
    }
  }
  const cache = await caches.open(modelCache);
  for (const request of await cache.keys()) {
    if (!modelURLs.has(request.url)) {
      await cache.delete(request);
    }
  }
  // Control the page that installed this worker at once: it waits for
  // that before fetching app.wasm.
  await self.clients.claim();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (modelURLs.has(request.url)) {
    event.respondWith(fromCache(event, modelCache, keepModel));
  } else if (siteURLs.has(request.url)) {
    event.respondWith(fromCache(event, siteCache, keepFile));
  }
});

// page answers a navigation with the cached page: every address shows it,
// whatever its path or query (settings live in the query).
async function page(request) {
  const cache = await caches.open(siteCache);
  return (await cache.match(absolute("./"))) || fetch(request);
}

// fromCache answers from the named cache, else from the network, handing
// a good answer to keep for next time.
async function fromCache(event, name, keep) {
  const url = event.request.url;
  const cache = await caches.open(name);
  const cached = await cache.match(url);
  if (cached) {
    return cached;
  }
  const response = await fetch(event.request);
  if (response.status === 200) {
    event.waitUntil(keep(cache, url, response.clone()).catch(() => {}));
  }
  return response;
}

const keepFile = (cache, url, response) => cache.put(url, response);

// keepModel keeps a model file only when its bytes have the pinned sha256;
// a download that broke off is not kept (the engine worker reports it).
async function keepModel(cache, url, response) {
  const bytes = await response.arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (sha === modelURLs.get(url)) {
    await cache.put(url, new Response(bytes, {
      headers: {
        "Content-Type": response.headers.get("Content-Type") || "application/octet-stream",
        "Content-Length": String(bytes.byteLength),
      },
    }));
  }
}

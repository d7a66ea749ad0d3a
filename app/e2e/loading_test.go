package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The loading tests serve the built site from a server that counts what it
// sends and can misbehave on chosen paths, as real hosts do: compress,
// announce absurd lengths, serve a damaged model, go offline.

// host serves a site folder, counting requests and body bytes per path.
type host struct {
	url     string
	dir     string
	link    *link
	offline atomic.Bool
	gzip    atomic.Bool // compress every response, as many static hosts do (compressed)

	mu       sync.Mutex
	requests map[string]int
	images   map[string]int // requests for an image the document shows
	bytes    map[string]int64
	last     time.Time               // when the last request arrived
	override map[string]http.Handler // path to a handler that replaces the file
}

func newHost(t *testing.T, dir string) *host {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &host{url: "http://" + ln.Addr().String() + "/", dir: dir, link: newLink(),
		requests: map[string]int{}, images: map[string]int{}, bytes: map[string]int64{}, override: map[string]http.Handler{}}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.offline.Load() {
			hangUp(w)
			return
		}
		h.mu.Lock()
		// An image the document shows is the browser's own fetch, repeated
		// per use when the host asks to revalidate: counted in bytes only.
		if r.Header.Get("Sec-Fetch-Dest") == "image" {
			h.images[r.URL.Path]++
		} else {
			h.requests[r.URL.Path]++
		}
		h.last = time.Now()
		handler := h.override[r.URL.Path]
		h.mu.Unlock()
		cw := &countingWriter{ResponseWriter: w, link: h.link}
		defer func() { h.mu.Lock(); h.bytes[r.URL.Path] += cw.n; h.mu.Unlock() }()
		if handler == nil {
			handler = files
		}
		// Ask browsers to revalidate every use of a stored copy, as many
		// static hosts do, and answer every request in full: a file
		// fetched twice then costs its bytes twice instead of hiding in
		// the browser's HTTP cache.
		w.Header().Set("Cache-Control", "no-cache")
		for _, k := range []string{"If-Modified-Since", "If-None-Match", "If-Range", "Range"} {
			r.Header.Del(k)
		}
		if h.gzip.Load() && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			compressed(cw, r, handler)
			return
		}
		handler.ServeHTTP(cw, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h
}

// serveInstead makes path answer with handler (nil: the file again).
func (h *host) serveInstead(path string, handler http.Handler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if handler == nil {
		delete(h.override, path)
		return
	}
	h.override[path] = handler
}

// snapshot returns the requests (but images), the image requests and the
// bytes per path so far.
func (h *host) snapshot() (requests, images map[string]int, bytes map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.requests), maps.Clone(h.images), maps.Clone(h.bytes)
}

// quiet waits until no request has arrived for the given time.
func (h *host) quiet(t *testing.T, d, timeout time.Duration) {
	t.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		h.mu.Lock()
		idle := time.Since(h.last)
		h.mu.Unlock()
		if idle >= d {
			return
		}
	}
	t.Fatalf("the page kept requesting files for %s", timeout)
}

type countingWriter struct {
	http.ResponseWriter
	link *link
	n    int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	var written int
	for len(p) > 0 {
		chunk := p[:min(len(p), 16<<10)]
		w.link.send(len(chunk))
		n, err := w.ResponseWriter.Write(chunk)
		written += n
		w.n += int64(n)
		if err != nil {
			return written, err
		}
		p = p[len(chunk):]
	}
	return written, nil
}

// link is the connection every response shares: with UNMASK_E2E_MBPS set
// (megabits per second), bytes leave no faster than that, so that a
// measurement shows what downloading twice costs on a real network.
type link struct {
	mu       sync.Mutex
	bytesPer time.Duration // time one byte takes; 0: unlimited
	free     time.Time     // when the link has sent what it was given
}

func newLink() *link {
	mbps, _ := strconv.ParseFloat(os.Getenv("UNMASK_E2E_MBPS"), 64)
	if mbps <= 0 {
		return &link{}
	}
	return &link{bytesPer: time.Duration(8e3 / mbps)} // 8 bits / (mbps * 1e6 /s), in ns
}

// send waits until n more bytes have had their time on the link.
func (l *link) send(n int) {
	if l.bytesPer == 0 {
		return
	}
	l.mu.Lock()
	if now := time.Now(); l.free.Before(now) {
		l.free = now
	}
	l.free = l.free.Add(time.Duration(n) * l.bytesPer)
	until := l.free
	l.mu.Unlock()
	time.Sleep(time.Until(until))
}

// compressed answers as a compressing host does: the body gzipped, and
// Content-Length the compressed size.
func compressed(w http.ResponseWriter, r *http.Request, handler http.Handler) {
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	maps.Copy(w.Header(), rec.Header())
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// siteDir is the built site: dist/, or UNMASK_E2E_DIST to measure another
// build (an older one, for a before/after comparison).
func siteDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("UNMASK_E2E") == "" {
		t.Skip("end-to-end test: run with UNMASK_E2E=1 after make static (make e2e does both)")
	}
	dir := os.Getenv("UNMASK_E2E_DIST")
	if dir == "" {
		dir = filepath.Join(root, "dist")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Fatalf("no site in %s: run make static first (%v)", dir, err)
	}
	return dir
}

// readyClock records, in the page, when Generate first becomes enabled
// (milliseconds since the navigation started).
const readyClock = `
window.__readyAt = 0;
const __readyTimer = setInterval(() => {
  const b = document.querySelector("[data-testid=generate]");
  if (b && !b.disabled && b.isConnected && document.querySelector("[data-testid=status]")?.textContent.startsWith("Ready")) {
    window.__readyAt = performance.now();
    clearInterval(__readyTimer);
  }
}, 5);
`

// addScript runs script in every document the browser opens from now on.
func addScript(t *testing.T, ctx context.Context, script string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
	require.NoError(t, err)
}

// jsControlled is true once the service worker controls the page.
const jsControlled = `!!navigator.serviceWorker.controller`

// waitForError waits until the status line shows an error and returns it.
func waitForError(t *testing.T, ctx context.Context, what string, timeout time.Duration) string {
	t.Helper()
	js := `document.querySelector("[data-testid=status].error")?.textContent ?? ""`
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	require.NoError(t, err, "waiting for %s", what)
	return eval[string](t, ctx, js)
}

// jsProblem is the plain-words message of a failed model load.
const jsProblem = `document.querySelector("[data-testid=model-problem] strong")?.textContent ?? ""`

// A first visit fetches every file once, the unused model never; after it
// an offline reload works with the model that was used.
func TestLoadingFirstVisit(t *testing.T) {
	dir := siteDir(t)
	h := newHost(t, dir)
	ctx, cons := browser(t)
	addScript(t, ctx, readyClock)

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.url)))
	waitFor(t, ctx, "the model to load", jsReady, 2*time.Minute)
	readyMS := eval[float64](t, ctx, `window.__readyAt`)
	waitFor(t, ctx, "the service worker", `navigator.serviceWorker.ready.then(r => !!r.active)`, time.Minute)
	h.quiet(t, 2*time.Second, time.Minute)
	requests, images, sent := h.snapshot()
	var total int64
	var lines []string
	for p, n := range sent {
		total += n
		lines = append(lines, fmt.Sprintf("%s %d×, %d bytes", p, requests[p]+images[p], n))
	}
	slices.Sort(lines)
	t.Logf("first visit: %.2f MB in %d files, app.wasm fetched from %.0f ms, Ready after %.0f ms (%s; load average %s)\n%s",
		float64(total)/1e6, len(sent), eval[float64](t, ctx, jsWASMStart), readyMS, eval[string](t, ctx, jsStatus),
		loadAverage(), strings.Join(lines, "\n"))

	for p, n := range requests {
		require.Equal(t, 1, n, "%s was fetched %d times", p, n)
	}
	require.Contains(t, requests, "/web/models/unmask-base.unmask")
	require.NotContains(t, requests, "/web/models/unmask-instruct.unmask", "the unused model was downloaded")
	require.Empty(t, cons.take(), "console errors on the first visit")

	// Offline: the page, its engine and the model it used come from the
	// cache, on the page's own address and on one with settings.
	cachedModels(t, ctx, 1)
	h.offline.Store(true)
	for _, u := range []string{h.url, h.url + "?steps=8&len=8"} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(u)))
		waitFor(t, ctx, "the model to load offline", jsReady, 2*time.Minute)
	}
	require.Empty(t, cons.take(), "console errors offline")
	// The model never used is not there offline: one clear error.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.url+"?model=instruct")))
	require.Contains(t, waitForError(t, ctx, "the unused model to fail offline", 2*time.Minute), "unmask-instruct")
	require.Equal(t, "The model file could not be downloaded: check the connection.", eval[string](t, ctx, jsProblem))
	cons.take() // the failed download's own report

	// A hard reload bypasses the service worker: the page must not wait
	// for a worker that will not control it before fetching app.wasm.
	h.offline.Store(false)
	_, err := chromedp.RunResponse(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		ignoreCache := true
		_, err := cdp.Call(ctx, tg, page.Reload, page.ReloadParams{IgnoreCache: &ignoreCache})
		return err
	}))
	require.NoError(t, err)
	waitFor(t, ctx, "the model to load after a hard reload", jsReady, 2*time.Minute)
	require.False(t, eval[bool](t, ctx, jsControlled), "a hard reload is not controlled")
	require.Less(t, eval[float64](t, ctx, jsWASMStart), 5000.0, "app.wasm waited for the service worker")
}

// jsWASMStart is when the page started fetching app.wasm (ms since the
// navigation started).
const jsWASMStart = `performance.getEntriesByType("resource").find((e) => e.name.endsWith("/web/app.wasm")).startTime`

const (
	modelPath = "/web/models/unmask-base.unmask"
	// jsModelCache lists the URLs in the service worker's model cache.
	jsModelCache = `caches.keys().then(async (names) => {
		const name = names.find((n) => n.endsWith(" models"));
		return name ? (await (await caches.open(name)).keys()).map((r) => r.url) : [];
	})`
	// jsSpoilCachedModel replaces the cached model file with zeros of its
	// size, as a damaged disk or an older worker might have left it.
	jsSpoilCachedModel = `caches.keys().then(async (names) => {
		const cache = await caches.open(names.find((n) => n.endsWith(" models")));
		const [request] = await cache.keys();
		const size = Number((await cache.match(request)).headers.get("Content-Length"));
		await cache.put(request, new Response(new Uint8Array(size)));
		return request.url;
	})`
)

// cachedModels waits until the model cache holds n files and returns them.
func cachedModels(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	var urls []string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if urls = eval[[]string](t, ctx, jsModelCache); len(urls) == n {
			return urls
		}
	}
	t.Fatalf("the model cache holds %v, not %d files", urls, n)
	return nil
}

// modelRequests is how often the model file was asked of the server.
func modelRequests(h *host) int {
	requests, _, _ := h.snapshot()
	return requests[modelPath]
}

// A host that announces an absurd length, then serves a damaged model, is
// refused with one clear error each, and nothing damaged stays cached: once
// the host serves the right file, a reload is Ready. A cached copy spoilt
// later is dropped on its first failed check and downloaded again.
func TestLoadingDamagedModel(t *testing.T) {
	dir := siteDir(t)
	h := newHost(t, dir)
	ctx, cons := browser(t)
	good, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(modelPath)))
	require.NoError(t, err)

	h.serveInstead(modelPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000000000")
		w.Write(good)
	}))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.url)))
	msg := waitForError(t, ctx, "the absurd length to be refused", 2*time.Minute)
	require.Contains(t, msg, "announced 1000000000000 bytes")
	require.Equal(t, "The model file is damaged or incomplete.", eval[string](t, ctx, jsProblem))

	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	h.serveInstead(modelPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "unmask-base.unmask", time.Time{}, bytes.NewReader(flipped))
	}))
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	msg = waitForError(t, ctx, "the damaged model to be refused", 2*time.Minute)
	require.Contains(t, msg, "sha256")
	require.Empty(t, eval[[]string](t, ctx, jsModelCache), "a damaged model was cached")
	viewportScreenshot(t, ctx, "model-error")

	// The host now serves the right file: Retry loads it.
	h.serveInstead(modelPath, nil)
	before := modelRequests(h)
	eval[bool](t, ctx, `document.querySelector("[data-testid=retry]").click(); true`)
	// The click reaches the page's Go code asynchronously: until it has,
	// the status still shows the previous error.
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`!document.querySelector("[data-testid=status].error")`,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "Retry did not clear the error")
	waitFor(t, ctx, "the replaced model to load", jsReady, 2*time.Minute)
	require.Equal(t, before+1, modelRequests(h))
	cachedModels(t, ctx, 1) // the service worker keeps it once it has checked it

	spoilt := eval[string](t, ctx, jsSpoilCachedModel)
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	msg = waitForError(t, ctx, "the spoilt cached copy to be refused", 2*time.Minute)
	require.Contains(t, msg, "sha256")
	require.NotContains(t, eval[[]string](t, ctx, jsModelCache), spoilt, "the spoilt copy stays cached")
	before = modelRequests(h)
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	waitFor(t, ctx, "the model to load again", jsReady, 2*time.Minute)
	require.Equal(t, before+1, modelRequests(h), "the model did not come from the network")
	for _, e := range cons.take() {
		require.NotRegexp(t, `panic|makeslice|exit code`, e)
	}
}

// A host that compresses (Content-Length then counts compressed bytes)
// serves a working page, online and then offline.
func TestLoadingGzipHost(t *testing.T) {
	dir := siteDir(t)
	h := newHost(t, dir)
	h.gzip.Store(true)
	ctx, cons := browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(h.url)))
	waitFor(t, ctx, "the model to load from a compressing host", jsReady, 2*time.Minute)
	_, _, sent := h.snapshot()
	info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(modelPath)))
	require.NoError(t, err)
	require.Less(t, sent[modelPath], info.Size(), "the model was not sent compressed")
	require.Empty(t, cons.take(), "console errors with a compressing host")

	waitFor(t, ctx, "the service worker", jsControlled, time.Minute)
	cachedModels(t, ctx, 1)
	h.quiet(t, time.Second, time.Minute)
	h.offline.Store(true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	waitFor(t, ctx, "the model to load offline", jsReady, 2*time.Minute)
}

package e2e

import (
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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
	offline atomic.Bool
	gzip    atomic.Bool // compress every response, as many static hosts do

	mu       sync.Mutex
	requests map[string]int
	bytes    map[string]int64
	last     time.Time               // when the last request arrived
	override map[string]http.Handler // path to a handler that replaces the file
}

func newHost(t *testing.T, dir string) *host {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &host{url: "http://" + ln.Addr().String() + "/", dir: dir,
		requests: map[string]int{}, bytes: map[string]int64{}, override: map[string]http.Handler{}}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.offline.Load() {
			hangUp(w)
			return
		}
		h.mu.Lock()
		h.requests[r.URL.Path]++
		h.last = time.Now()
		handler := h.override[r.URL.Path]
		h.mu.Unlock()
		cw := &countingWriter{ResponseWriter: w}
		defer func() { h.mu.Lock(); h.bytes[r.URL.Path] += cw.n; h.mu.Unlock() }()
		var out http.ResponseWriter = cw
		if h.gzip.Load() && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			gz := &gzipWriter{ResponseWriter: cw, zw: gzip.NewWriter(cw)}
			defer gz.zw.Close()
			out = gz
		}
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
		handler.ServeHTTP(out, r)
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

// snapshot returns the requests and bytes per path so far.
func (h *host) snapshot() (map[string]int, map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	requests, bytes := map[string]int{}, map[string]int64{}
	for p, n := range h.requests {
		requests[p] = n
	}
	for p, n := range h.bytes {
		bytes[p] = n
	}
	return requests, bytes
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
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// gzipWriter compresses a response body and drops the length the file
// server announced, as a compressing host does.
type gzipWriter struct {
	http.ResponseWriter
	zw *gzip.Writer
}

func (w *gzipWriter) WriteHeader(status int) {
	w.Header().Del("Content-Length")
	w.Header().Set("Content-Encoding", "gzip")
	w.ResponseWriter.WriteHeader(status)
}

func (w *gzipWriter) Write(p []byte) (int, error) { return w.zw.Write(p) }

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
	requests, bytes := h.snapshot()
	var total int64
	var lines []string
	for p, n := range bytes {
		total += n
		lines = append(lines, fmt.Sprintf("%s %d×, %d bytes", p, requests[p], n))
	}
	slices.Sort(lines)
	t.Logf("first visit: %.2f MB in %d files, Ready after %.0f ms (load average %s)\n%s",
		float64(total)/1e6, len(requests), readyMS, loadAverage(), strings.Join(lines, "\n"))

	for p, n := range requests {
		require.Equal(t, 1, n, "%s was fetched %d times", p, n)
	}
	require.Contains(t, requests, "/web/models/unmask-base.unmask")
	require.NotContains(t, requests, "/web/models/unmask-instruct.unmask", "the unused model was downloaded")
	require.Empty(t, cons.take(), "console errors on the first visit")

	// Offline: the page, its engine and the model it used come from the
	// cache, on the page's own address and on one with settings.
	h.offline.Store(true)
	for _, u := range []string{h.url, h.url + "?steps=8&len=8"} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(u)))
		waitFor(t, ctx, "the model to load offline", jsReady, 2*time.Minute)
	}
	require.Empty(t, cons.take(), "console errors offline")
}

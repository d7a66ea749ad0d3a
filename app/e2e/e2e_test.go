// Package e2e drives the built site (dist/) in headless Chromium: it loads
// with no console errors, a generation fills every mask, the step slider
// replays from step 0, Stop works, the main thread has no long task while
// generating, and an offline reload still works. It saves screenshots to
// build/screenshots/.
//
// It needs `make static` and Debian's chromium, so it runs only with
// UNMASK_E2E=1 (`make e2e`, part of `make test`).
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

const root = "../.."

// longTaskBudget is the longest main-thread task allowed while generating.
const longTaskBudget = 50.0 // ms

// site serves dist/ on a loopback port; offline makes every request fail
// at the network level, as with no connection.
type site struct {
	url     string
	offline atomic.Bool
}

func serve(t *testing.T, dir string) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &site{url: "http://" + ln.Addr().String() + "/"}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.offline.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "offline", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// console collects the page's console errors and uncaught exceptions.
type console struct {
	mu     sync.Mutex
	errors []string
}

func (c *console) watch(ctx context.Context) {
	for m, err := range chromedp.Console(ctx) {
		if err != nil {
			return
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			c.mu.Lock()
			c.errors = append(c.errors, m.String())
			c.mu.Unlock()
		}
	}
}

func (c *console) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.errors
	c.errors = nil
	return out
}

// longTaskScript records every long task of the page's main thread.
const longTaskScript = `
window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, duration: e.duration});
  }).observe({type: "longtask", buffered: true});
} catch (e) {}
`

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, js)
	return v
}

func waitFor(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	// An error in the status line ends the wait at once.
	failed := `document.querySelector("[data-testid=status].error")`
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void]("("+js+") || "+failed,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-testid=status]")?.textContent ?? ""`))
	if err != nil {
		t.Fatalf("waiting for %s: %v (status: %q)", what, err, status)
	}
	if isError, _ := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!"+failed)); isError {
		t.Fatalf("waiting for %s: the page reports an error: %s", what, status)
	}
}

// screenshot saves the whole page as build/screenshots/NAME.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	save(t, name, png)
}

// viewportScreenshot saves what the viewport shows.
func viewportScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	save(t, name, png)
}

func save(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := filepath.Join(root, "build", "screenshots")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot %s", filepath.Clean(path))
}

// loadAverage is the machine's one-minute load average, for the log.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

// JavaScript snippets over the page's test hooks.
const (
	jsReady    = `(() => { const b = document.querySelector("[data-testid=generate]"); return !!b && !b.disabled; })()`
	jsStates   = `[...document.querySelectorAll("[data-testid=token]")].map(e => e.dataset.state)`
	jsStatus   = `document.querySelector("[data-testid=status]").textContent`
	jsFinished = `(() => { const s = document.querySelector("[data-testid=status]").textContent;
		return document.querySelector("[data-testid=canvas]").dataset.run !== window.__run && (s.startsWith("Done") || s.startsWith("Stopped")); })()`
	jsSliderMax = `Number(document.querySelector("[data-testid=step-slider]").max)`
	jsClickGen  = `window.__run = document.querySelector("[data-testid=canvas]").dataset.run; window.__genStart = performance.now(); document.querySelector("[data-testid=generate]").click(); true`
	jsMarkEnd   = `window.__genEnd = performance.now(); true`
	jsLongest   = `Math.max(0, ...window.__longTasks.filter(e => e.start + e.duration >= window.__genStart && e.start <= window.__genEnd).map(e => e.duration))`
	jsLongList  = `JSON.stringify(window.__longTasks.map(e => [Math.round(e.start - window.__genStart), Math.round(e.duration)]))`
)

func seek(t *testing.T, ctx context.Context, v int) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const s = document.querySelector("[data-testid=step-slider]");
		s.value = %d; s.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, v))
	label := "before step 1"
	if v > 0 {
		label = fmt.Sprintf("after step %d of", v)
	}
	waitFor(t, ctx, "the slider to show step "+fmt.Sprint(v),
		fmt.Sprintf(`document.querySelector(".step-label").textContent.startsWith(%q)`, label), 10*time.Second)
}

func count(states []string, want string) int {
	n := 0
	for _, s := range states {
		if s == want {
			n++
		}
	}
	return n
}

// generate clicks Generate and waits for the end; it returns the longest
// main-thread task in between (ms).
func generate(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	eval[bool](t, ctx, jsClickGen)
	waitFor(t, ctx, "the generation to finish", jsFinished, 3*time.Minute)
	eval[bool](t, ctx, jsMarkEnd)
	return eval[float64](t, ctx, jsLongest)
}

func browser(t *testing.T) (context.Context, *console) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "Debian's chromium is needed (make e2e installs it)")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	c := &console{}
	_, err = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: longTaskScript})
		return err
	}))
	require.NoError(t, err)
	go c.watch(ctx)
	return ctx, c
}

// openSite serves the built site and starts Chromium, or skips the test
// unless UNMASK_E2E is set.
func openSite(t *testing.T) (*site, context.Context, *console) {
	t.Helper()
	if os.Getenv("UNMASK_E2E") == "" {
		t.Skip("end-to-end test: run with UNMASK_E2E=1 after make static (make e2e does both)")
	}
	dist := filepath.Join(root, "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("no site in %s: run make static first (%v)", dist, err)
	}
	s := serve(t, dist)
	ctx, cons := browser(t)
	return s, ctx, cons
}

func TestSite(t *testing.T) {
	s, ctx, cons := openSite(t)

	// Load: the model downloads and Generate becomes enabled.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url)))
	waitFor(t, ctx, "the model to load", jsReady, 2*time.Minute)
	require.Empty(t, cons.take(), "console errors while loading")
	waitFor(t, ctx, "the canvas preview", `document.querySelectorAll("[data-testid=token]").length > 0`, time.Minute)
	viewportScreenshot(t, ctx, "ready")

	// How it works: the model guesses the masked words of the demo sentence.
	waitFor(t, ctx, "the explainer's sentence", `!!document.querySelector(".demo-canvas")`, time.Minute)
	eval[bool](t, ctx, `[...document.querySelectorAll(".demo button")].find(b => b.textContent === "Ask the model").click(); true`)
	waitFor(t, ctx, "the model's guesses", `document.querySelectorAll(".demo-canvas .cell.new").length > 0`, time.Minute)

	// Generate with the default settings: every mask is filled.
	longest := generate(t, ctx)
	require.True(t, strings.HasPrefix(eval[string](t, ctx, jsStatus), "Done"), eval[string](t, ctx, jsStatus))
	states := eval[[]string](t, ctx, jsStates)
	require.NotEmpty(t, states)
	require.Zero(t, count(states, "masked"), "masks left after generating: %v", states)
	steps := eval[int](t, ctx, jsSliderMax)
	require.Greater(t, steps, 0)
	tps := eval[string](t, ctx, `[...document.querySelectorAll(".stat")].find(e => e.querySelector("dt").textContent === "tokens / s").querySelector("dd").textContent`)
	kernel := eval[string](t, ctx, `[...document.querySelectorAll(".stat")].find(e => e.querySelector("dt").textContent === "kernels").querySelector("dd").textContent`)
	t.Logf("long tasks (start relative to Generate, ms): %s", eval[string](t, ctx, jsLongList))
	t.Logf("generation: %d steps, %s tokens/s, kernels %s, longest main-thread task while generating %.0f ms (load average %s)",
		steps, tps, kernel, longest, loadAverage())
	eval[bool](t, ctx, `document.querySelector("[data-testid=token][data-pos='12']")?.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})); true`)
	screenshot(t, ctx, "desktop")
	// Long tasks are wall-clock time: on a machine whose cores other work
	// keeps busy, the scheduler can stretch a short task past the budget.
	// Two more generations get a chance; the budget must hold in one.
	for attempt := 2; longest > longTaskBudget && attempt <= 3; attempt++ {
		longest = generate(t, ctx)
		t.Logf("generation %d: longest main-thread task %.0f ms (load average %s); long tasks %s",
			attempt, longest, loadAverage(), eval[string](t, ctx, jsLongList))
	}
	require.LessOrEqual(t, longest, longTaskBudget, "a long task blocked the main thread while generating")

	// Replay: step 0 shows every generated position masked, the last step
	// none; the middle shows the block outline.
	seek(t, ctx, 0)
	states = eval[[]string](t, ctx, jsStates)
	require.Zero(t, count(states, "new")+count(states, "kept"), "step 0 shows committed tokens: %v", states)
	require.Equal(t, len(states)-count(states, "prompt"), count(states, "masked"))
	seek(t, ctx, steps/2)
	states = eval[[]string](t, ctx, jsStates)
	require.Positive(t, count(states, "new"))
	require.Positive(t, count(states, "masked"))
	screenshot(t, ctx, "replay")
	seek(t, ctx, steps)
	require.Zero(t, count(eval[[]string](t, ctx, jsStates), "masked"))
	require.Empty(t, cons.take(), "console errors while generating")

	// Infilling: with no length, only the blanks are filled.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?prompt="+url.QueryEscape("The ___ was here, and ___ too.")+"&len=0&steps=8")))
	waitFor(t, ctx, "the model to load for infilling", jsReady, 2*time.Minute)
	generate(t, ctx)
	states = eval[[]string](t, ctx, jsStates)
	require.Zero(t, count(states, "masked"), "blanks left: %v", states)
	require.Equal(t, 8, count(states, "new")+count(states, "kept"), "two blanks of 4 masks: %v", states)
	require.Empty(t, cons.take(), "console errors while infilling")

	// The instruct model answers inside its chat template.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?model=instruct&len=32&block=32&steps=32")))
	waitFor(t, ctx, "the instruct model to load", jsReady, 2*time.Minute)
	generate(t, ctx)
	require.Zero(t, count(eval[[]string](t, ctx, jsStates), "masked"), "the instruct model left masks")
	require.Empty(t, cons.take(), "console errors with the instruct model")

	// Phone width.
	_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true})
		return err
	}))
	require.NoError(t, err)
	eval[bool](t, ctx, `window.scrollTo(0, 0); true`)
	viewportScreenshot(t, ctx, "phone")
	screenshot(t, ctx, "phone-full")
	_, err = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	require.NoError(t, err)

	// Stop: a long generation stops after a step, with masks left.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?len=96&block=96&steps=96")))
	waitFor(t, ctx, "the model to load again", jsReady, 2*time.Minute)
	eval[bool](t, ctx, jsClickGen)
	waitFor(t, ctx, "the first step", `document.querySelector("[data-testid=status]").textContent.startsWith("Generating: step")`, time.Minute)
	eval[bool](t, ctx, `document.querySelector("[data-testid=stop]").click(); true`)
	waitFor(t, ctx, "the generation to stop", jsFinished, time.Minute)
	require.True(t, strings.HasPrefix(eval[string](t, ctx, jsStatus), "Stopped"), eval[string](t, ctx, jsStatus))
	require.Positive(t, count(eval[[]string](t, ctx, jsStates), "masked"), "a stopped generation leaves masks")
	require.Less(t, eval[int](t, ctx, jsSliderMax), 96)
	require.Empty(t, cons.take(), "console errors around Stop")

	// Offline: once the service worker has cached the site, a reload with
	// no network still loads the model and generates.
	waitFor(t, ctx, "the service worker", `navigator.serviceWorker.ready.then(r => !!r.active)`, time.Minute)
	s.offline.Store(true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	waitFor(t, ctx, "the model to load offline", jsReady, 2*time.Minute)
	generate(t, ctx)
	require.Zero(t, count(eval[[]string](t, ctx, jsStates), "masked"), "offline generation left masks")
	if errs := cons.take(); len(errs) > 0 {
		t.Fatalf("console errors offline: %v", errors.New(strings.Join(errs, "\n")))
	}
}

// Package e2e drives the built site (dist/) in headless Chromium: it loads
// with no console errors, a generation fills every mask, the step slider
// replays from step 0 with the text of the step shown and without moving,
// Play and Pause, a fresh or pinned seed, inline validation, the infill and
// instruct examples, one step per key press, a clamped link, the phone
// layout, Stop and focus, the main thread has no long task while
// generating, an offline reload still works, and a damaged model file
// offers Retry and the other model. It saves screenshots to
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
	"github.com/chromedp/chromedp/kb"
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
	// replaced serves other bytes for a path (a damaged model file).
	replaced sync.Map // URL path -> []byte
}

func serve(t *testing.T, dir string) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &site{url: "http://" + ln.Addr().String() + "/"}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.offline.Load() {
			hangUp(w)
			return
		}
		if data, ok := s.replaced.Load(r.URL.Path); ok {
			w.Write(data.([]byte))
			return
		}
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// hangUp answers a request as a lost connection does.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	http.Error(w, "offline", http.StatusServiceUnavailable)
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

// waitForState waits for js to be true, errors on the page included.
func waitForState(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	require.NoError(t, err, "waiting for %s", what)
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
	jsReady  = `(() => { const b = document.querySelector("[data-testid=generate]"); return !!b && !b.disabled; })()`
	jsStates = `[...document.querySelectorAll("[data-testid=token]")].map(e => e.dataset.state)`
	jsStatus = `document.querySelector("[data-testid=status]").textContent`
	// jsEngineDone: the engine has finished the generation started last.
	jsEngineDone = `(() => { const s = document.querySelector("[data-testid=status]").textContent;
		return document.querySelector("[data-testid=canvas]").dataset.run !== window.__run && (s.startsWith("Done") || s.startsWith("Stopped")); })()`
	// jsFinished: and the canvas, paced by the speed control, shows its
	// last step.
	jsFinished = `(() => { const slider = document.querySelector("[data-testid=step-slider]");
		return ` + jsEngineDone + ` && slider.value === slider.max; })()`
	jsSliderMax = `Number(document.querySelector("[data-testid=step-slider]").max)`
	jsClickGen  = `window.__run = document.querySelector("[data-testid=canvas]").dataset.run; window.__genStart = performance.now(); document.querySelector("[data-testid=generate]").click(); true`
	jsMarkEnd   = `window.__genEnd = performance.now(); true`
	jsLongest   = `Math.max(0, ...window.__longTasks.filter(e => e.start + e.duration >= window.__genStart && e.start <= window.__genEnd).map(e => e.duration))`
	jsLongList  = `JSON.stringify(window.__longTasks.map(e => [Math.round(e.start - window.__genStart), Math.round(e.duration)]))`
	jsStepText  = "[data-testid=step-text]"
	jsSlider    = "[data-testid=step-slider]"
	jsSeed      = `document.querySelector("[data-testid=seed]").value`
	// jsSmallTargets lists the visible controls and cells smaller than
	// 44 x 44 px.
	jsSmallTargets = `[...document.querySelectorAll(".page button, .page select, .page input[type=number], .page input[type=range], [data-testid=token]")]
		.filter(e => e.offsetParent !== null)
		.map(e => [e, e.getBoundingClientRect()])
		.filter(([e, r]) => r.width < 43.5 || r.height < 43.5)
		.map(([e, r]) => (e.dataset.testid || e.id || e.className || e.tagName) + " " + Math.round(r.width) + "x" + Math.round(r.height))`
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

// click clicks the first element that matches a CSS selector.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	require.True(t, eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true; })()`, sel)),
		"nothing to click at %s", sel)
}

// text is the text of the first element that matches a CSS selector.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
}

// typeInto sets an input's value as typing does (one input event).
func typeInto(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, sel, value))
}

// top is the viewport y of an element's top edge.
func top(t *testing.T, ctx context.Context, sel string) float64 {
	t.Helper()
	return eval[float64](t, ctx, fmt.Sprintf(`document.querySelector(%q).getBoundingClientRect().top`, sel))
}

// view is the step the slider shows.
func view(t *testing.T, ctx context.Context) int {
	t.Helper()
	return eval[int](t, ctx, `Number(document.querySelector("[data-testid=step-slider]").value)`)
}

// generate clicks Generate and waits for the end, the canvas's included; it
// returns the longest main-thread task while the engine generated (ms).
func generate(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	eval[bool](t, ctx, jsClickGen)
	// The budget holds while the engine streams its steps; the canvas,
	// paced by the speed control, may show them for a while after.
	waitFor(t, ctx, "the generation to finish", jsEngineDone, 3*time.Minute)
	eval[bool](t, ctx, jsMarkEnd)
	waitFor(t, ctx, "the canvas to show the last step", jsFinished, 3*time.Minute)
	return eval[float64](t, ctx, jsLongest)
}

func browser(t *testing.T) (context.Context, *console) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "Debian's chromium is needed (make e2e installs it)")
	// The profile is removed after the browser, and a file Chromium is
	// still closing does not fail the test (t.TempDir would).
	profile, err := os.MkdirTemp("", "unmask-e2e-")
	require.NoError(t, err)
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
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc(); os.RemoveAll(profile) })
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

	// How it works: once scrolled to, the model guesses the masked words
	// of the demo sentence.
	require.False(t, eval[bool](t, ctx, `!!document.querySelector(".demo-canvas")`), "the explainer started before it was near the screen")
	eval[bool](t, ctx, `document.getElementById("how").scrollIntoView(); true`)
	waitFor(t, ctx, "the explainer's sentence", `!!document.querySelector(".demo-canvas")`, time.Minute)
	eval[bool](t, ctx, `window.scrollTo(0, 0); true`)
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
	// none; the middle shows the block outline. The text under the slider
	// is the canvas of the step shown, and the slider stays where it is.
	seek(t, ctx, 0)
	states = eval[[]string](t, ctx, jsStates)
	require.Zero(t, count(states, "new")+count(states, "kept"), "step 0 shows committed tokens: %v", states)
	require.Equal(t, len(states)-count(states, "prompt"), count(states, "masked"))
	atStart := text(t, ctx, jsStepText)
	require.NotEmpty(t, atStart)
	require.Empty(t, strings.Trim(atStart, "░"), "the text at step 0 is all masks: %q", atStart)
	sliderY := top(t, ctx, jsSlider)
	seek(t, ctx, steps/2)
	states = eval[[]string](t, ctx, jsStates)
	require.Positive(t, count(states, "new"))
	require.Positive(t, count(states, "masked"))
	midway := text(t, ctx, jsStepText)
	require.Contains(t, midway, "░", "the text midway still has masks")
	require.NotEmpty(t, strings.Trim(midway, "░"), "the text midway has words")
	require.InDelta(t, sliderY, top(t, ctx, jsSlider), 0.5, "the slider moved while scrubbing")
	screenshot(t, ctx, "replay")
	seek(t, ctx, steps)
	require.Zero(t, count(eval[[]string](t, ctx, jsStates), "masked"))
	require.NotContains(t, text(t, ctx, jsStepText), "░")
	require.InDelta(t, sliderY, top(t, ctx, jsSlider), 0.5, "the slider moved while scrubbing")
	require.Empty(t, cons.take(), "console errors while generating")

	// Play, then Pause: the replay stops where it is.
	seek(t, ctx, 0)
	click(t, ctx, "[data-testid=play]")
	waitFor(t, ctx, "the replay to move", `Number(document.querySelector("[data-testid=step-slider]").value) > 0`, 10*time.Second)
	click(t, ctx, "[data-testid=play]")
	paused := view(t, ctx)
	time.Sleep(400 * time.Millisecond)
	require.Equal(t, paused, view(t, ctx), "the replay went on after Pause")
	require.Equal(t, "Play", eval[string](t, ctx, `document.querySelector("[data-testid=play]").getAttribute("aria-label")`))

	// Every Generate draws a fresh seed; a pinned one stays, in the link,
	// and repeats the run.
	seed := eval[string](t, ctx, jsSeed)
	generate(t, ctx)
	require.NotEqual(t, seed, eval[string](t, ctx, jsSeed), "the seed did not change between runs")
	seed = eval[string](t, ctx, jsSeed)
	click(t, ctx, "[data-testid=seed-pin]")
	waitFor(t, ctx, "the pinned seed in the link", fmt.Sprintf(`new URLSearchParams(location.search).get("seed") === %q`, seed), 10*time.Second)
	generate(t, ctx)
	require.Equal(t, seed, eval[string](t, ctx, jsSeed))
	first := text(t, ctx, jsStepText)
	generate(t, ctx)
	require.Equal(t, first, text(t, ctx, jsStepText), "a pinned seed repeats the run")

	// A bad value is reported next to its field as it is typed; Generate
	// says why it is off, and the last result stays.
	before := eval[[]string](t, ctx, jsStates)
	typeInto(t, ctx, "[data-testid=block-length]", "7")
	waitFor(t, ctx, "the block length problem", `!!document.querySelector("[data-testid=problem-block-length]")`, 10*time.Second)
	require.True(t, eval[bool](t, ctx, `document.querySelector("[data-testid=generate]").disabled`))
	require.Contains(t, text(t, ctx, "[data-testid=generate-why]"), "Block length must divide the length")
	require.Equal(t, before, eval[[]string](t, ctx, jsStates), "the last result was wiped")
	typeInto(t, ctx, "[data-testid=block-length]", "8")
	waitFor(t, ctx, "the problem to clear", `!document.querySelector("[data-testid=problem-block-length]")`, 10*time.Second)
	waitFor(t, ctx, "Generate to come back", jsReady, 10*time.Second)
	require.Empty(t, text(t, ctx, "[data-testid=generate-why]"))

	// Infilling: the infill example sets Length 0, says so, and only the
	// blanks are filled, each word after a single space.
	eval[bool](t, ctx, `[...document.querySelectorAll("[data-testid=example]")].find(b => b.textContent.includes("___")).click(); true`)
	waitFor(t, ctx, "the infill example's settings", `document.querySelector("[data-testid=gen-length]").value === "0"`, 10*time.Second)
	require.Contains(t, text(t, ctx, ".example-note"), "Length is now 0")
	waitFor(t, ctx, "the infill preview", jsReady, 10*time.Second)
	generate(t, ctx)
	states = eval[[]string](t, ctx, jsStates)
	require.Zero(t, count(states, "masked"), "blanks left: %v", states)
	require.Equal(t, 12, count(states, "new")+count(states, "kept"), "three blanks of 4 masks: %v", states)
	require.Zero(t, eval[int](t, ctx, `[...document.querySelectorAll("[data-testid=token][data-state=prompt]")].filter(e => e.textContent === "·").length`),
		"a space before a blank became a prompt cell of its own")
	require.Empty(t, cons.take(), "console errors while infilling")

	// The instruct model, loaded by the link: its own examples, its note,
	// an answer inside its chat template.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?model=instruct&len=32&block=32&steps=32")))
	waitFor(t, ctx, "the instruct model to load", jsReady, 2*time.Minute)
	require.Contains(t, text(t, ctx, "[data-testid=model-note]"), "fine-tuned")
	chips := eval[[]string](t, ctx, `[...document.querySelectorAll("[data-testid=example]")].map(b => b.textContent)`)
	require.NotEmpty(t, chips)
	for i, chip := range chips {
		eval[bool](t, ctx, fmt.Sprintf(`document.querySelectorAll("[data-testid=example]")[%d].click(); true`, i))
		waitFor(t, ctx, "the example in the prompt", fmt.Sprintf(`document.querySelector("[data-testid=prompt]").value === %q`, chip), 10*time.Second)
	}
	waitFor(t, ctx, "the instruct model's preview", jsReady, 10*time.Second)
	generate(t, ctx)
	require.Zero(t, count(eval[[]string](t, ctx, jsStates), "masked"), "the instruct model left masks")
	require.Empty(t, cons.take(), "console errors with the instruct model")

	// The slowest speed: the engine runs on, the canvas moves one step per
	// key press; with a threshold, the line under the slider says how many
	// positions reached it.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?len=16&block=16&steps=16&speed=key&threshold=0.9")))
	waitFor(t, ctx, "the model to load for stepping", jsReady, 2*time.Minute)
	eval[bool](t, ctx, jsClickGen)
	waitFor(t, ctx, "the engine to finish", jsEngineDone, 3*time.Minute)
	require.Equal(t, 0, view(t, ctx), "at one step per key press the canvas waits for a key")
	waitFor(t, ctx, "focus on Next step, where the key presses go", `document.activeElement.id === "next-step"`, 10*time.Second)
	for want := 1; want <= 2; want++ {
		require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("\r")))
		waitFor(t, ctx, fmt.Sprintf("step %d after a key press", want), fmt.Sprintf(`document.querySelector(".step-label").textContent.startsWith("after step %d of")`, want), 10*time.Second)
	}
	require.Equal(t, 2, view(t, ctx))
	require.Contains(t, text(t, ctx, "[data-testid=threshold-note]"), "Step 2:")
	eval[bool](t, ctx, `document.querySelector("[data-testid=step-slider]").focus(); true`)
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)))
	waitFor(t, ctx, "step 3 after an arrow key", `document.querySelector(".step-label").textContent.startsWith("after step 3 of")`, 10*time.Second)

	// A link asking for a billion steps is clamped, with a notice.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?steps=1000000000")))
	waitFor(t, ctx, "the model to load with a clamped link", `!!document.querySelector("[data-testid=canvas]") && !!document.querySelector(".notice")`, 2*time.Minute)
	require.Contains(t, text(t, ctx, ".notice"), "steps=1000000000 is outside 1..1024: using 1024")

	// Phone: after Generate the canvas is in view, every target is at
	// least 44 px, zoom is allowed and a tapped cell's inspector is on
	// screen.
	_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5})
		return err
	}))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url)))
	waitFor(t, ctx, "the model to load on a phone", jsReady, 2*time.Minute)
	viewport := eval[string](t, ctx, `document.querySelector("meta[name=viewport]").content`)
	require.NotContains(t, viewport, "user-scalable")
	require.NotContains(t, viewport, "maximum-scale")
	eval[bool](t, ctx, `window.scrollTo(0, 0); true`)
	generate(t, ctx)
	waitFor(t, ctx, "the canvas to scroll into view", `(() => { const r = document.querySelector("[data-testid=canvas]").getBoundingClientRect();
		return r.top >= 0 && r.top < innerHeight * 0.6; })()`, 10*time.Second)
	viewportScreenshot(t, ctx, "phone")
	small := eval[[]string](t, ctx, jsSmallTargets)
	require.Empty(t, small, "touch targets under 44 px")
	eval[bool](t, ctx, `document.querySelector("[data-testid=token][data-state=kept]").click(); true`)
	waitFor(t, ctx, "the inspector on screen", `(() => { const e = document.querySelector("[data-testid=inspector]"); if (!e) return false;
		const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight + 1 && r.height > 40; })()`, 10*time.Second)
	viewportScreenshot(t, ctx, "phone-inspector")
	click(t, ctx, "[data-testid=inspector-close]")
	screenshot(t, ctx, "phone-full")
	_, err = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: false}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	require.NoError(t, err)
	require.Empty(t, cons.take(), "console errors on a phone")

	// Stop: a long generation stops after a step, with masks left; focus
	// is on Stop while it runs and back on Generate after.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+"?len=96&block=96&steps=96")))
	waitFor(t, ctx, "the model to load again", jsReady, 2*time.Minute)
	eval[bool](t, ctx, jsClickGen)
	waitFor(t, ctx, "the first step", `document.querySelector("[data-testid=status]").textContent.startsWith("Generating: step")`, time.Minute)
	require.Equal(t, "stop", eval[string](t, ctx, `document.activeElement.id`), "focus while generating")
	eval[bool](t, ctx, `document.querySelector("[data-testid=stop]").click(); true`)
	waitFor(t, ctx, "the generation to stop", jsFinished, time.Minute)
	require.True(t, strings.HasPrefix(eval[string](t, ctx, jsStatus), "Stopped"), eval[string](t, ctx, jsStatus))
	require.Positive(t, count(eval[[]string](t, ctx, jsStates), "masked"), "a stopped generation leaves masks")
	require.Less(t, eval[int](t, ctx, jsSliderMax), 96)
	waitFor(t, ctx, "focus back on Generate", `document.activeElement.id === "generate"`, 10*time.Second)
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

// A damaged model file: the page says so next to the picker, offers Retry
// and the other model, and the other model works.
func TestSiteModelError(t *testing.T) {
	if os.Getenv("UNMASK_E2E") == "" {
		t.Skip("end-to-end test: run with UNMASK_E2E=1 after make static (make e2e does both)")
	}
	dist := filepath.Join(root, "dist")
	model, err := os.ReadFile(filepath.Join(dist, "web", "models", "unmask-base.unmask"))
	require.NoError(t, err, "run make static first")
	s := serve(t, dist)
	s.replaced.Store("/web/models/unmask-base.unmask", model[:len(model)/2])
	ctx, cons := browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url)))
	waitForState(t, ctx, "the model problem", `!!document.querySelector("[data-testid=model-problem]")`, 2*time.Minute)
	require.NotEmpty(t, text(t, ctx, "[data-testid=model-problem] strong"))
	require.True(t, eval[bool](t, ctx, `!!document.querySelector("[data-testid=retry]")`))
	require.True(t, eval[bool](t, ctx, `document.querySelector("[data-testid=generate]").disabled`))
	viewportScreenshot(t, ctx, "model-error")

	// Retry fails again on the same damaged file, and says so again.
	eval[bool](t, ctx, `window.__problem = document.querySelector("[data-testid=model-problem]"); true`)
	click(t, ctx, "[data-testid=retry]")
	waitForState(t, ctx, "the model problem again, from the retried load", `(() => {
		const e = document.querySelector("[data-testid=model-problem]"); return !!e && e !== window.__problem; })()`, time.Minute)

	click(t, ctx, "[data-testid=use-other-model]")
	waitFor(t, ctx, "the other model to load", jsReady, 2*time.Minute)
	require.Contains(t, text(t, ctx, "[data-testid=model-note]"), "fine-tuned")
	require.False(t, eval[bool](t, ctx, `!!document.querySelector("[data-testid=model-problem]")`))
	for _, e := range cons.take() {
		// The worker's failed load is expected here; nothing else is.
		require.Contains(t, e, "model", "console error: %s", e)
	}
}

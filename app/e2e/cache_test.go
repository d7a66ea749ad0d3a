package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// jsCached counts the cells the canvas marks as coming from the cache.
const jsCached = `[...document.querySelectorAll("[data-testid=token]")].filter(e => e.dataset.cached === "true").length`

// stat reads one figure of the stats panel by its label.
func stat(label string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(".stat")].find(e => e.querySelector("dt").textContent === %q).querySelector("dd").textContent`, label)
}

// Each cache mode, chosen by the URL, generates in Chromium and fills
// every mask; during a block's later step the canvas marks exactly the
// positions that came from the cache (none without one, those before the
// block with prefix, all but the block with dual), and the stats show the
// share of work saved.
func TestSiteCacheModes(t *testing.T) {
	s, ctx, cons := openSite(t)
	const genLength, block = 64, 16
	for _, mode := range []string{"none", "prefix", "dual"} {
		url := fmt.Sprintf("%s?len=%d&block=%d&steps=%d&cache=%s", s.url, genLength, block, genLength, mode)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
		waitFor(t, ctx, "the model to load ("+mode+")", jsReady, 2*time.Minute)
		require.Equal(t, mode, eval[string](t, ctx, `document.querySelector("[data-testid=cache]").value`))
		generate(t, ctx)
		require.True(t, strings.HasPrefix(eval[string](t, ctx, jsStatus), "Done"), eval[string](t, ctx, jsStatus))
		states := eval[[]string](t, ctx, jsStates)
		require.Zero(t, count(states, "masked"), "%s left masks: %v", mode, states)
		prompt := count(states, "prompt")
		require.Equal(t, prompt+genLength, len(states))

		// Step 2 is the first block's second step: a cached one.
		seek(t, ctx, 2)
		cached := eval[int](t, ctx, jsCached)
		want := map[string]int{"none": 0, "prefix": prompt, "dual": len(states) - block}[mode]
		require.Equal(t, want, cached, "%s: cells from the cache at step 2", mode)
		seek(t, ctx, 1)
		require.Zero(t, eval[int](t, ctx, jsCached), "%s: a block's first step recomputes everything", mode)

		saved := eval[string](t, ctx, stat("saved by cache"))
		positions := eval[string](t, ctx, stat("positions / pass"))
		t.Logf("cache %s: %s positions per pass, %s saved, %s tokens/s", mode, positions, saved, eval[string](t, ctx, stat("tokens / s")))
		if mode == "none" {
			require.Equal(t, "0%", saved)
			require.Equal(t, fmt.Sprint(len(states)), positions)
		} else {
			require.NotEqual(t, "0%", saved)
		}
		if mode == "dual" {
			seek(t, ctx, 2)
			screenshot(t, ctx, "cache-dual")
		}
		require.Empty(t, cons.take(), "console errors with cache %s", mode)
	}
}

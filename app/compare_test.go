package main

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
)

// Both sides' settings, the prompt and the preset survive the URL; a side
// without keys keeps its preset's settings; a reversal model stays itself.
func TestCompareURL(t *testing.T) {
	for _, p := range comparePresets {
		left, right := p.Left, p.Right
		right.Options.Cache = engine.PrefixCache
		right.Options.Temperature = 0.5
		q := compareQuery(p.ID, "A ___ prompt", [2]Settings{left, right})
		back, err := url.ParseQuery(q.Encode())
		require.NoError(t, err)
		preset, prompt, sides, errs := parseCompare(back)
		require.Empty(t, errs, p.ID)
		assert.Equal(t, p.ID, preset)
		assert.Equal(t, "A ___ prompt", prompt)
		assert.Equal(t, left.Model, sides[0].Model, p.ID)
		assert.Equal(t, left.Options, sides[0].Options, p.ID)
		assert.Equal(t, right.Model, sides[1].Model, p.ID)
		assert.Equal(t, right.Options, sides[1].Options, p.ID)
	}
	preset, prompt, sides, errs := parseCompare(url.Values{"preset": {"ar"}})
	require.Empty(t, errs)
	ar, _ := presetByID("ar")
	assert.Equal(t, "ar", preset)
	assert.Equal(t, ar.Prompt, prompt)
	assert.Equal(t, [2]Settings{ar.Left, ar.Right}, sides)
	assert.Equal(t, "ar", sides[1].Model)

	_, _, _, errs = parseCompare(url.Values{"l.steps": {"x"}})
	assert.Len(t, errs, 1, "a bad value is reported")
}

func TestViewFor(t *testing.T) {
	assert.IsType(t, &compareView{}, viewFor(viewCompare))
	assert.IsType(t, &reversalView{}, viewFor(viewReversal))
	assert.IsType(t, &page{}, viewFor(""))
	assert.IsType(t, &page{}, viewFor("nonsense"))
}

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/app/protocol"
	"unmask/engine"
)

const M = 99 // mask id in these tests

// twoStepTrace: prompt [5 6], then 4 masks in one block; step 0 commits
// positions 3 and 2, step 1 commits 4 and 5 (5 is EOS = 7).
func twoStepTrace(done bool) *Trace {
	t := &Trace{Mask: M, EOS: 7, Planned: 2}
	cand := func(tok int, p float64) []engine.Candidate {
		return []engine.Candidate{{Token: tok, Prob: p}, {Token: 1, Prob: 0.01}}
	}
	t.Add(protocol.StepInfo{Step: engine.Step{Index: 0, BlockStart: 2, BlockEnd: 6,
		Canvas:     []int{5, 6, M, M, M, M},
		Committed:  []engine.Commit{{Pos: 2, Token: 10, Prob: 0.9}, {Pos: 3, Token: 11, Prob: 0.8}},
		Candidates: map[int][]engine.Candidate{2: cand(10, 0.9), 3: cand(11, 0.8), 4: cand(12, 0.3), 5: cand(7, 0.2)},
	}, Steps: 2, ElapsedMS: 3})
	t.Add(protocol.StepInfo{Step: engine.Step{Index: 1, BlockStart: 2, BlockEnd: 6,
		Canvas:     []int{5, 6, 10, 11, M, M},
		Committed:  []engine.Commit{{Pos: 4, Token: 12, Prob: 0.5}, {Pos: 5, Token: 7, Prob: 0.7}},
		Candidates: map[int][]engine.Candidate{4: cand(12, 0.5), 5: cand(7, 0.7)},
	}, Steps: 2, ElapsedMS: 5})
	if done {
		t.Done = &protocol.DoneInfo{Output: []int{5, 6, 10, 11, 12, 7}, Steps: 2}
	}
	return t
}

func states(cells []Cell) []CellState {
	out := make([]CellState, len(cells))
	for i, c := range cells {
		out[i] = c.State
	}
	return out
}

func TestTraceView(t *testing.T) {
	tr := twoStepTrace(true)
	P, X, N, K := CellPrompt, CellMasked, CellNew, CellKept
	assert.Equal(t, []CellState{P, P, X, X, X, X}, states(tr.View(0)))
	assert.Equal(t, []CellState{P, P, N, N, X, X}, states(tr.View(1)))
	assert.Equal(t, []CellState{P, P, K, K, N, N}, states(tr.View(2)))
	assert.Equal(t, states(tr.View(2)), states(tr.View(7)), "views past the end clamp")

	final := tr.View(2)
	assert.Equal(t, []int{5, 6, 10, 11, 12, 7}, []int{final[0].Token, final[1].Token, final[2].Token, final[3].Token, final[4].Token, final[5].Token})
	assert.True(t, final[5].EOS)
	assert.False(t, final[4].EOS)
	assert.Equal(t, 1, final[4].CommitStep)
	assert.InDelta(t, 0.9, final[2].Prob, 1e-12)
	assert.True(t, final[2].InBlock)
	assert.False(t, final[1].InBlock)
	assert.Equal(t, 2, tr.SliderMax())
	assert.Nil(t, (&Trace{}).View(0))
}

func TestTraceSliderMaxWhileGenerating(t *testing.T) {
	tr := &Trace{Mask: M, Planned: 8}
	assert.Equal(t, 8, tr.SliderMax())
	tr = twoStepTrace(false)
	tr.Planned = 8
	assert.Equal(t, 8, tr.SliderMax(), "planned steps while generating")
	tr.Done = &protocol.DoneInfo{Steps: 2}
	assert.Equal(t, 2, tr.SliderMax(), "steps taken once done")
}

func TestTraceInspect(t *testing.T) {
	tr := twoStepTrace(true)
	in := tr.Inspect(0, 1)
	assert.True(t, in.Prompt)
	assert.Empty(t, in.Candidates)

	in = tr.Inspect(2, 2) // committed at step 0
	assert.Equal(t, 0, in.CommitStep)
	assert.Equal(t, 10, in.Commit.Token)
	assert.Equal(t, 0, in.AtStep)
	require.Len(t, in.Candidates, 2)

	in = tr.Inspect(4, 1) // masked at view 1, step 1 fills it
	assert.Equal(t, -1, in.CommitStep)
	assert.Equal(t, 1, in.LaterStep)
	assert.Equal(t, 1, in.AtStep)
	assert.Equal(t, 12, in.Commit.Token)
	assert.InDelta(t, 0.5, in.Candidates[0].Prob, 1e-12)

	in = tr.Inspect(4, 0) // before any step: the first step's candidates
	assert.Equal(t, 0, in.AtStep)
	assert.InDelta(t, 0.3, in.Candidates[0].Prob, 1e-12)
}

func TestTraceSummaries(t *testing.T) {
	tr := twoStepTrace(true)
	s := tr.Summaries()
	require.Len(t, s, 2)
	assert.Equal(t, 2, s[0].Committed)
	assert.InDelta(t, 0.85, s[0].MeanProb, 1e-12)
	assert.InDelta(t, 0.6, s[1].MeanProb, 1e-12)
	assert.InDelta(t, 4, tr.MeanStepMS(), 1e-12)
	assert.Contains(t, chartSVG(s, 1, 2), `class="bar current"`)
	assert.Contains(t, chartLabel(s), "2 steps committed 4 tokens")
}

func TestPreviewCells(t *testing.T) {
	cells := previewCells([]int{5, M, 6}, 2, M)
	assert.Equal(t, []CellState{CellPrompt, CellMasked, CellPrompt, CellMasked, CellMasked}, states(cells))
	assert.Equal(t, 4, cells[4].Pos)
	assert.Equal(t, M, cells[4].Token)
}

func TestCommitOrder(t *testing.T) {
	assert.Equal(t, []int{0, 0, 1, 1}, twoStepTrace(true).CommitOrder())
	assert.Nil(t, (&Trace{}).CommitOrder())
}

func TestDisplayToken(t *testing.T) {
	tokens := []string{" the", "\n", "  ", "x"}
	assert.Equal(t, " the", displayToken(tokens, 0))
	assert.Equal(t, "↵", displayToken(tokens, 1))
	assert.Equal(t, "··", displayToken(tokens, 2))
	assert.Equal(t, "#9", displayToken(tokens, 9))
}

func TestMaskedAtIsMonotone(t *testing.T) {
	ids := make([]int, 40)
	for i := range ids {
		ids[i] = i
	}
	prev := 0
	for _, tt := range []float64{0, 0.1, 0.3, 0.5, 0.8, 1.01} {
		masked := maskedAt(ids, tt, -1)
		n := 0
		for i, id := range masked {
			if id == -1 {
				n++
			} else {
				assert.Equal(t, i, id)
			}
		}
		assert.GreaterOrEqual(t, n, prev)
		prev = n
	}
	assert.Equal(t, 40, prev, "t above 1 masks everything")
}

// During a cached step the canvas marks the positions whose keys and
// values came from the cache; the work counts positions run against full
// passes.
func TestTraceCachedPositions(t *testing.T) {
	tr := &Trace{Mask: M, EOS: 7, Planned: 2}
	canvas := []int{5, 6, M, M, M, M, M, M}
	// Step 0: a block's first pass over the whole canvas. Step 1: a dual
	// cache step over the block [2, 4) with guidance (two passes).
	tr.Add(protocol.StepInfo{Step: engine.Step{Index: 0, BlockStart: 2, BlockEnd: 4, Canvas: canvas,
		Committed: []engine.Commit{{Pos: 2, Token: 10}}, Passes: 1, ComputedFrom: 0, ComputedTo: 8}})
	tr.Add(protocol.StepInfo{Step: engine.Step{Index: 1, BlockStart: 2, BlockEnd: 4, Canvas: []int{5, 6, 10, M, M, M, M, M},
		Committed: []engine.Commit{{Pos: 3, Token: 11}}, Passes: 2, ComputedFrom: 2, ComputedTo: 4}})
	cached := func(cells []Cell) []bool {
		out := make([]bool, len(cells))
		for i, c := range cells {
			out[i] = c.Cached
		}
		return out
	}
	assert.Equal(t, make([]bool, 8), cached(tr.View(0)), "before any step")
	assert.Equal(t, make([]bool, 8), cached(tr.View(1)), "a full pass recomputes everything")
	assert.Equal(t, []bool{true, true, false, false, true, true, true, true}, cached(tr.View(2)))
	computed, full := tr.Work()
	assert.Equal(t, 8+2*2, computed)
	assert.Equal(t, 3*8, full)

	s := statsOf(tr)
	assert.InDelta(t, 4.0, s.PositionsPerPass, 1e-12, "12 positions over 3 passes")
	assert.InDelta(t, 0.5, s.Saved, 1e-12)

	// A step that ran no pass (its block was already full) shows no cache.
	tr.Add(protocol.StepInfo{Step: engine.Step{Index: 2, BlockStart: 2, BlockEnd: 4, Canvas: []int{5, 6, 10, 11, M, M, M, M}}})
	assert.Equal(t, make([]bool, 8), cached(tr.View(3)))
}

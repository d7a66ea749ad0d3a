package engine_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/checkpoint"
	"unmask/engine/conformance"
)

var checkpoints = conformance.Checkpoints

func loadConformance(t *testing.T, name string) (*engine.Model, conformance.Golden) {
	t.Helper()
	dir := filepath.Join("..", "testdata", name)
	m, err := checkpoint.Load(dir)
	require.NoError(t, err)
	g, err := conformance.Load(dir)
	require.NoError(t, err)
	require.Equal(t, g.MaskTokenID, m.Config.MaskTokenID)
	return m, g
}

// maxLogitError is the largest |logit - golden| over a case.
func maxLogitError(t *testing.T, st *engine.State, ids []int, want [][]float64) float64 {
	t.Helper()
	logits, err := st.Forward(ids)
	require.NoError(t, err)
	V := st.Model.Config.EmbeddingSize
	var worst float64
	for i, row := range want {
		require.Len(t, row, V)
		for j, w := range row {
			worst = max(worst, math.Abs(float64(logits[i*V+j])-w))
		}
	}
	return worst
}

// generateTrace runs a golden case and returns its trace: the canvas
// before every step, then the final canvas.
func generateTrace(t *testing.T, st *engine.State, g conformance.GenerateCase) [][]int {
	t.Helper()
	var trace [][]int
	out, err := st.Generate(context.Background(), g.Prompt, g.Options(), func(s engine.Step) {
		trace = append(trace, s.Canvas)
	})
	require.NoError(t, err)
	return append(trace, out)
}

func TestConformanceF32(t *testing.T) {
	for _, name := range checkpoints {
		m, g := loadConformance(t, name)
		for _, threads := range []int{1, 2} {
			st := engine.NewState(m, 0)
			st.Threads = threads
			for _, lc := range g.LogitsCases {
				require.LessOrEqual(t, maxLogitError(t, st, lc.InputIDs, lc.Logits), 1e-3,
					"%s, %d tokens, %d threads", name, len(lc.InputIDs), threads)
			}
			for i, gc := range g.GenerateCases {
				trace := generateTrace(t, st, gc)
				require.Equal(t, gc.Trace, trace, "%s case %d, %d threads", name, i, threads)
				require.Equal(t, gc.Output, trace[len(trace)-1], "%s case %d", name, i)
			}
		}
	}
}

// Fast-dLLM's generators (no cache, prefix and dual cache, each with the
// linear schedule and with a threshold) are reproduced step for step, and
// each step's forward passes and computed positions are what the
// reference's do: the whole canvas at a block's first step, then the block
// and what follows it (prefix) or the block alone (dual).
func TestConformanceCache(t *testing.T) {
	for _, name := range checkpoints {
		m, _ := loadConformance(t, name)
		g, err := conformance.LoadCache(filepath.Join("..", "testdata", name))
		require.NoError(t, err)
		require.NotEmpty(t, g.GenerateCases)
		for _, threads := range []int{1, 2} {
			st := engine.NewState(m, 0)
			st.Threads = threads
			for i, gc := range g.GenerateCases {
				var trace [][]int
				passes := 0
				out, err := st.Generate(context.Background(), gc.Prompt, gc.Options(), func(s engine.Step) {
					trace = append(trace, s.Canvas)
					passes += s.Passes
					from, to := s.BlockStart, len(s.Canvas)
					switch {
					case gc.Cache == "none" || isBlockStart(s, g.MaskTokenID):
						from = 0
					case gc.Cache == "dual":
						to = s.BlockEnd
					}
					assert.Equal(t, [2]int{from, to}, [2]int{s.ComputedFrom, s.ComputedTo}, "%s case %d (%s) step %d", name, i, gc.Cache, s.Index)
				})
				require.NoError(t, err)
				trace = append(trace, out)
				require.Equal(t, gc.Trace, trace, "%s case %d (%s, threshold %v), %d threads", name, i, gc.Cache, gc.Threshold, threads)
				require.Equal(t, gc.ForwardPasses, passes, "%s case %d", name, i)
			}
		}
	}
}

// isBlockStart says whether a step is its block's first: the block is
// still all masks (every fixture's block starts so).
func isBlockStart(s engine.Step, mask int) bool {
	for _, id := range s.Canvas[s.BlockStart:s.BlockEnd] {
		if id != mask {
			return false
		}
	}
	return true
}

// TestConformanceQ8 measures how far int8 weights move the answers. The
// reference is not expected to be reproduced exactly; the test reports the
// agreement and fails only if the int8 model is clearly broken.
func TestConformanceQ8(t *testing.T) {
	for _, name := range checkpoints {
		m, g := loadConformance(t, name)
		for _, group := range []int{0, 32} {
			st := engine.NewState(m.Quantize(group), 0)
			var worst, scale float64
			for _, lc := range g.LogitsCases {
				worst = max(worst, maxLogitError(t, st, lc.InputIDs, lc.Logits))
				for _, row := range lc.Logits {
					for _, v := range row {
						scale = max(scale, math.Abs(v))
					}
				}
			}
			t.Logf("%s q8 group %d: max logit error %.4f (largest logit %.2f)", name, group, worst, scale)
			// These random weights are larger than trained ones and int8
			// moves the logits by up to ~16% of their range; a broken int8
			// path moves them by far more.
			require.Less(t, worst, 0.25*scale, "%s q8 logits far from the reference", name)
			for i, gc := range g.GenerateCases {
				trace := generateTrace(t, st, gc)
				agree := 0
				for agree < len(trace) && agree < len(gc.Trace) && slices.Equal(trace[agree], gc.Trace[agree]) {
					agree++
				}
				t.Logf("%s q8 group %d case %d: %d of %d trace canvases agree", name, group, i, agree, len(gc.Trace))
			}
		}
	}
}

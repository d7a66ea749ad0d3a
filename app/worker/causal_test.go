package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/app/protocol"
	"unmask/engine"
)

// A causal model runs in the worker: one step per generated token (the
// steps planned are GenLength, whatever Steps says), options that only
// describe a denoising schedule are not checked as diffusion options, and
// those that would change an autoregressive result are refused with the
// engine's ErrCausalOptions.
func TestCausalModel(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "web", "models", "reversal-ar.unmask"))
	require.NoError(t, err)
	h := &fakeHost{}
	w := NewWorker(h)
	ready := loadBytes(t, h, w, data)
	require.Equal(t, protocol.Ready, ready.Type, ready.Error)
	require.True(t, ready.Ready.Config.Causal)

	// Five steps with blocks of 3 over 2 tokens is no valid diffusion
	// schedule; a causal model ignores both.
	opts := engine.Options{Steps: 5, GenLength: 2, BlockLength: 3, Remasking: engine.LowConfidence, TopK: 2}
	run(t, w, protocol.Request{Type: protocol.Generate, ID: 2, Generate: &protocol.GenerateRequest{
		Prompt: "Who is Tana's mentor?", Options: protocol.WireOptions(opts)}})
	var steps int
	var done *protocol.DoneInfo
	for _, r := range h.take() {
		switch r.Type {
		case protocol.StepDone:
			assert.Equal(t, opts.GenLength, r.Step.Steps)
			assert.Equal(t, steps, r.Step.Index)
			steps++
		case protocol.Done:
			done = r.Done
		default:
			t.Fatalf("unexpected %s: %s", r.Type, r.Error)
		}
	}
	require.NotNil(t, done)
	assert.Equal(t, steps, done.Steps)
	assert.Equal(t, steps, done.ForwardPasses)
	assert.GreaterOrEqual(t, steps, 1)
	assert.LessOrEqual(t, steps, opts.GenLength)
	// A fact the model was trained on forwards (web/models/README.md).
	assert.Equal(t, "Fesan", done.Text)

	for _, bad := range []engine.Options{
		{Steps: 2, GenLength: 2, BlockLength: 2, CFGScale: 1},
		{Steps: 2, GenLength: 2, BlockLength: 2, Threshold: 0.9},
	} {
		run(t, w, protocol.Request{Type: protocol.Generate, ID: 3, Generate: &protocol.GenerateRequest{
			Prompt: "Who is Tana's mentor?", Options: protocol.WireOptions(bad)}})
		r := h.take()
		require.NotEmpty(t, r)
		last := r[len(r)-1]
		require.Equal(t, protocol.Error, last.Type)
		assert.Contains(t, last.Error, engine.ErrCausalOptions.Error())
	}
}

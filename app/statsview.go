package main

import (
	"fmt"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
)

// runStats are the numbers of one generation.
type runStats struct {
	Steps         int
	MeanStepMS    float64
	ForwardPasses int
	// PositionsPerPass is the mean of the canvas positions each forward
	// pass ran; Saved the share of full passes' positions a cache skipped.
	PositionsPerPass float64
	Saved            float64
	TokensPerS       float64
	ElapsedMS        float64
	Done             bool
}

// statsOf summarises a trace (zero before the first generation).
func statsOf(t *Trace) runStats {
	if t == nil {
		return runStats{}
	}
	s := runStats{Steps: t.Len(), MeanStepMS: t.MeanStepMS()}
	if computed, full := t.Work(); full > 0 {
		passes := 0
		for _, st := range t.Steps {
			passes += st.Passes
		}
		s.PositionsPerPass = float64(computed) / float64(passes)
		s.Saved = 1 - float64(computed)/float64(full)
	}
	if t.Done != nil {
		s.Done = true
		s.ForwardPasses = t.Done.ForwardPasses
		s.TokensPerS = t.Done.TokensPerS
		s.ElapsedMS = t.Done.ElapsedMS
	}
	return s
}

// statsView shows how fast the engine ran and what it ran.
type statsView struct {
	app.Compo

	Trace  runStats
	Model  *protocol.ModelInfo
	Kernel string
	Entry  string // the model's name
}

func (s *statsView) Render() app.UI {
	dash := "–"
	stat := func(label, value, help string) app.UI {
		return app.Div().Class("stat").Title(help).Body(
			app.Dt().Text(label),
			app.Dd().Text(value),
		)
	}
	msStep, passes, tps, positions, saved := dash, dash, dash, dash, dash
	if s.Trace.Steps > 0 {
		msStep = fmt.Sprintf("%.1f", s.Trace.MeanStepMS)
	}
	if s.Trace.PositionsPerPass > 0 {
		positions = fmt.Sprintf("%.0f", s.Trace.PositionsPerPass)
		saved = fmt.Sprintf("%.0f%%", 100*s.Trace.Saved)
	}
	if s.Trace.Done {
		passes = fmt.Sprint(s.Trace.ForwardPasses)
		if s.Trace.TokensPerS > 0 {
			tps = fmt.Sprintf("%.0f", s.Trace.TokensPerS)
		}
	}
	size := dash
	if m := s.Model; m != nil {
		size = fmt.Sprintf("%s: %.1fM params, %s, %.1f MB", s.Entry, float64(m.Params)/1e6, m.DType, float64(m.FileBytes)/1e6)
	}
	kernel := dash
	if s.Kernel != "" {
		kernel = kernelLabel(s.Kernel)
	}
	return app.Dl().Class("stats").Aria("label", "Statistics").Body(
		stat("ms / step", msStep, "Mean time of one denoising step in the worker"),
		stat("forward passes", passes, "Passes of the mask predictor run (two per step with CFG; a step with nothing to commit runs none)"),
		stat("positions / pass", positions, "Canvas positions each pass ran through the model, on average (the whole canvas without a cache)"),
		stat("saved by cache", saved, "Share of the positions full passes would have run that the cache skipped"),
		stat("tokens / s", tps, "Tokens filled per second of generation"),
		stat("kernels", kernel, "The matrix kernels the engine worker runs"),
		stat("model", size, "Parameters, storage type and file size"),
	)
}

package main

import (
	"fmt"
	"strings"

	"unmask/app/protocol"
	"unmask/engine"
)

// Trace is one generation as the worker streamed it: every step with its
// trace, and the end. The page replays any step from it without running
// the model again.
type Trace struct {
	Mask    int // the mask token id
	EOS     int // the end-of-text token id
	Planned int // steps planned (an upper bound with a threshold)
	// GenLength, Threshold and Chat are the generation's settings that
	// the views below need.
	GenLength int
	Threshold float64
	Chat      bool
	Steps     []protocol.StepInfo  // in order
	Done      *protocol.DoneInfo   // nil while generating
	commits   map[int]commitRecord // position -> when and how it was filled
}

// commitRecord is when a position was filled.
type commitRecord struct {
	Step int // 0-based step index
	engine.Commit
}

// CellState is how the canvas shows one position.
type CellState string

const (
	CellPrompt CellState = "prompt" // given by the user
	CellMasked CellState = "masked" // still the mask token
	CellNew    CellState = "new"    // filled by the step just shown
	CellKept   CellState = "kept"   // filled by an earlier step
)

// Add appends a step as it arrives.
func (t *Trace) Add(s protocol.StepInfo) {
	if t.commits == nil {
		t.commits = map[int]commitRecord{}
	}
	t.Steps = append(t.Steps, s)
	for _, c := range s.Committed {
		t.commits[c.Pos] = commitRecord{Step: s.Index, Commit: c}
	}
}

// Work is the model's work over the steps received: canvas positions run
// through the Transformer, and what full passes would have run. A cache
// saves the difference.
func (t *Trace) Work() (computed, full int) {
	for _, s := range t.Steps {
		computed += s.Passes * (s.ComputedTo - s.ComputedFrom)
		full += s.Passes * len(s.Canvas)
	}
	return computed, full
}

// Len is the number of steps received; views go from 0 (before the first
// step) to Len (after the last).
func (t *Trace) Len() int { return len(t.Steps) }

// SliderMax is the step slider's range: the planned steps while
// generating, the steps taken once done.
func (t *Trace) SliderMax() int {
	if t.Done != nil {
		return t.Len()
	}
	return max(t.Planned, t.Len())
}

// Cell is one position of the canvas at some view.
type Cell struct {
	Pos     int
	Token   int
	State   CellState
	EOS     bool
	Prob    float64 // the model's probability of the token when committed
	InBlock bool    // inside the block the view's step works on
	// Cached: the view's step ran the model over only part of the canvas
	// (a Fast-dLLM cache) and this position's keys and values came from
	// the cache instead of being recomputed.
	Cached     bool
	CommitStep int // 0-based step that filled it; -1 for prompt and masked
	// Final is the token a later step of the trace puts in a cell still
	// masked (-1 if none): the cell keeps that token's width, hidden, so
	// the canvas has the same layout at every step of a replay.
	Final int
}

// View is the canvas after v steps (0 <= v <= Len), cell by cell.
func (t *Trace) View(v int) []Cell {
	if len(t.Steps) == 0 {
		return nil
	}
	v = min(max(v, 0), t.Len())
	initial := t.Steps[0].Canvas
	block := t.Steps[max(v-1, 0)].Step
	cached := v > 0 && block.Passes > 0 // the step shown ran the model
	cells := make([]Cell, len(initial))
	for p, id := range initial {
		c := Cell{Pos: p, Token: id, CommitStep: -1, Final: -1,
			InBlock: p >= block.BlockStart && p < block.BlockEnd,
			Cached:  cached && (p < block.ComputedFrom || p >= block.ComputedTo)}
		switch rec, ok := t.commits[p]; {
		case id != t.Mask:
			c.State = CellPrompt
		case ok && rec.Step < v:
			c.Token, c.Prob, c.CommitStep = rec.Token, rec.Prob, rec.Step
			c.State = CellKept
			if rec.Step == v-1 {
				c.State = CellNew
			}
		default:
			c.State = CellMasked
			if ok {
				c.Final = rec.Token
			}
		}
		c.EOS = c.State != CellMasked && c.Token == t.EOS
		cells[p] = c
	}
	return cells
}

// previewCells is the canvas a generation will start from: the prompt as
// the worker encoded it (its blanks masked) and genLength masks.
func previewCells(prompt []int, genLength, mask int) []Cell {
	cells := make([]Cell, 0, len(prompt)+genLength)
	for p, id := range prompt {
		state := CellPrompt
		if id == mask {
			state = CellMasked
		}
		cells = append(cells, Cell{Pos: p, Token: id, State: state, CommitStep: -1, Final: -1})
	}
	for i := range genLength {
		cells = append(cells, Cell{Pos: len(prompt) + i, Token: mask, State: CellMasked, CommitStep: -1, Final: -1})
	}
	return cells
}

// Inspection is what the page shows about one position at one view.
type Inspection struct {
	Pos        int
	Prompt     bool               // given by the user
	CommitStep int                // 0-based step that filled it by this view; -1 if none
	LaterStep  int                // the step that fills it after this view; -1 if none
	Commit     engine.Commit      // the filling, when CommitStep or LaterStep is set
	AtStep     int                // the step whose candidates are listed; -1 for none
	Candidates []engine.Candidate // the model's top-k there
}

// Inspect explains position p at view v: for a filled position, the
// candidates of the step that filled it; for a masked one, what the model
// predicts at the next step, and when the trace fills it.
func (t *Trace) Inspect(p, v int) Inspection {
	in := Inspection{Pos: p, CommitStep: -1, LaterStep: -1, AtStep: -1}
	if len(t.Steps) == 0 {
		return in
	}
	v = min(max(v, 0), t.Len())
	if initial := t.Steps[0].Canvas; p >= 0 && p < len(initial) && initial[p] != t.Mask {
		in.Prompt = true
		return in
	}
	rec, ok := t.commits[p]
	switch {
	case ok && rec.Step < v:
		in.CommitStep, in.Commit, in.AtStep = rec.Step, rec.Commit, rec.Step
	default:
		if v < t.Len() {
			in.AtStep = v
		}
		if ok {
			in.LaterStep, in.Commit = rec.Step, rec.Commit
		}
	}
	if in.AtStep >= 0 {
		in.Candidates = t.Steps[in.AtStep].Candidates[p]
	}
	return in
}

// StepSummary is one bar of the chart.
type StepSummary struct {
	Committed int     // tokens filled by the step
	MeanProb  float64 // their mean probability
	ElapsedMS float64
}

// Summaries lists every step's summary.
func (t *Trace) Summaries() []StepSummary {
	out := make([]StepSummary, len(t.Steps))
	for i, s := range t.Steps {
		out[i] = StepSummary{Committed: len(s.Committed), ElapsedMS: s.ElapsedMS}
		for _, c := range s.Committed {
			out[i].MeanProb += c.Prob
		}
		if n := len(s.Committed); n > 0 {
			out[i].MeanProb /= float64(n)
		}
	}
	return out
}

// CommitOrder lists, for every position that was masked at the start, the
// 0-based step that filled it (-1 if none did), in canvas order.
func (t *Trace) CommitOrder() []int {
	if len(t.Steps) == 0 {
		return nil
	}
	var order []int
	for p, id := range t.Steps[0].Canvas {
		if id != t.Mask {
			continue
		}
		step := -1
		if rec, ok := t.commits[p]; ok {
			step = rec.Step
		}
		order = append(order, step)
	}
	return order
}

// MeanStepMS is the average time of a step.
func (t *Trace) MeanStepMS() float64 {
	if len(t.Steps) == 0 {
		return 0
	}
	var sum float64
	for _, s := range t.Steps {
		sum += s.ElapsedMS
	}
	return sum / float64(len(t.Steps))
}

// maskGlyph stands for a masked position in the text of a step.
const maskGlyph = "░"

// Text is the text after v steps, as a reader wants it (engine.Answer's
// rule): the generated part, cut at its first EOS, or the whole canvas
// when the prompt had blanks (without a chat template's tokens); masks
// still open show as maskGlyph.
func (t *Trace) Text(v int, tokens []string) string {
	cells := t.View(v)
	generated := max(len(cells)-t.GenLength, 0)
	start := generated
	for _, c := range cells[:generated] {
		if c.State != CellPrompt && !t.Chat {
			start = 0 // blanks in the prompt: show it whole
			break
		}
	}
	var b strings.Builder
	for _, c := range cells[start:] {
		switch {
		case c.Pos >= generated && c.EOS:
			return b.String()
		case c.State == CellMasked:
			b.WriteString(maskGlyph)
		case c.Token >= 0 && c.Token < len(tokens):
			b.WriteString(tokens[c.Token])
		}
	}
	return b.String()
}

// ThresholdNote says, for a generation with a parallel threshold, how many
// of the masked positions of the block that step v worked on had a best
// guess at or above the threshold, and how many the step committed: with
// a model whose guesses are unsure, few or none reach it and the step
// commits only the one it must.
func (t *Trace) ThresholdNote(v int) string {
	if t.Threshold <= 0 || v < 1 || v > t.Len() {
		return ""
	}
	s := t.Steps[v-1]
	above, masked := 0, 0
	for p := s.BlockStart; p < s.BlockEnd && p < len(s.Canvas); p++ {
		if s.Canvas[p] != t.Mask {
			continue
		}
		masked++
		if c := s.Candidates[p]; len(c) > 0 && c[0].Prob >= t.Threshold {
			above++
		}
	}
	return fmt.Sprintf("Step %d: %d of the block's %d masked positions had a best guess with probability %.2f or more; it committed %d.",
		v, above, masked, t.Threshold, len(s.Committed))
}

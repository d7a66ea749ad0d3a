package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"unmask/engine"
)

// animation redraws the canvas in the terminal after every step, like
// llama.cpp's --diffusion-visual: masks as shaded blocks, the tokens just
// committed in bold green, earlier ones plain, the prompt dim.
type animation struct {
	w         io.Writer
	m         *engine.Model
	promptLen int
	delay     time.Duration
	steps     int
}

const (
	ansiHome  = "\x1b[H\x1b[2J"
	ansiDim   = "\x1b[2m"
	ansiNew   = "\x1b[1;32m"
	ansiMask  = "\x1b[90m"
	ansiReset = "\x1b[0m"
)

func newAnimation(w io.Writer, m *engine.Model, promptLen int, delay time.Duration) *animation {
	return &animation{w: w, m: m, promptLen: promptLen, delay: delay}
}

// frame draws the canvas as it is after step s commits.
func (a *animation) frame(s engine.Step) {
	canvas := append([]int(nil), s.Canvas...)
	fresh := map[int]bool{}
	for _, c := range s.Committed {
		canvas[c.Pos] = c.Token
		fresh[c.Pos] = true
	}
	a.steps++
	a.draw(fmt.Sprintf("step %d, block %d: %d committed", s.Index+1, s.Block+1, len(s.Committed)), canvas, fresh)
	time.Sleep(a.delay)
}

func (a *animation) final(out []int) {
	a.draw(fmt.Sprintf("done after %d steps", a.steps), out, nil)
}

func (a *animation) draw(title string, canvas []int, fresh map[int]bool) {
	var b strings.Builder
	b.WriteString(ansiHome + title + "\n\n")
	for pos, id := range canvas {
		switch {
		case id == a.m.Config.MaskTokenID:
			b.WriteString(ansiMask + "░░" + ansiReset)
			continue
		case fresh[pos]:
			b.WriteString(ansiNew)
		case pos < a.promptLen:
			b.WriteString(ansiDim)
		}
		b.WriteString(a.token(id) + ansiReset)
	}
	b.WriteString("\n")
	io.WriteString(a.w, b.String())
}

func (a *animation) token(id int) string {
	if a.m.Tokenizer == nil {
		return fmt.Sprintf("%d ", id)
	}
	return a.m.Tokenizer.Token(id)
}

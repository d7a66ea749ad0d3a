package main

import (
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// canvasView draws the canvas: one cell per position, masked cells as
// tiles, the tokens of the step just shown highlighted and coloured by
// confidence, earlier ones calm, the prompt set apart, the active block
// outlined and EOS padding distinct.
type canvasView struct {
	app.Compo

	Cells     []Cell
	Tokens    []string // display text by id
	Selected  int      // inspected position, -1 for none
	Planned   int      // masks the next generation appends (for the empty state)
	ShowBlock bool     // outline the block of the step shown
}

func (c *canvasView) Render() app.UI {
	if len(c.Cells) == 0 {
		return app.Div().Class("canvas empty").DataSet("testid", "canvas").Body(
			app.P().Text(fmt.Sprintf("Press Generate: the prompt and %d masks appear here, and each step unmasks some of them.", c.Planned)),
		)
	}
	return app.Div().Class("canvas").DataSet("testid", "canvas").TabIndex(0).Role("group").
		Aria("label", "Canvas, one cell per token. Arrow keys move the inspector, Escape closes it.").
		OnKeyDown(c.onKey).
		Body(app.Range(c.Cells).Slice(func(i int) app.UI { return c.renderCell(c.Cells[i]) }))
}

func (c *canvasView) onKey(ctx app.Context, e app.Event) {
	sel := c.Selected
	switch e.Get("key").String() {
	case "ArrowRight", "ArrowDown":
		sel++
	case "ArrowLeft", "ArrowUp":
		sel--
	case "Home":
		sel = 0
	case "End":
		sel = len(c.Cells) - 1
	case "Escape":
		ctx.NewActionWithValue(actInspect, -1)
		return
	default:
		return
	}
	e.PreventDefault()
	ctx.NewActionWithValue(actInspect, min(max(sel, 0), len(c.Cells)-1))
}

func (c *canvasView) renderCell(cell Cell) app.UI {
	classes := []string{"cell", string(cell.State)}
	if cell.EOS {
		classes = append(classes, "eos")
	}
	if c.ShowBlock && cell.InBlock {
		classes = append(classes, "block")
		if cell.Pos == 0 || !c.Cells[cell.Pos-1].InBlock {
			classes = append(classes, "block-start")
		}
		if cell.Pos == len(c.Cells)-1 || !c.Cells[cell.Pos+1].InBlock {
			classes = append(classes, "block-end")
		}
	}
	if cell.Pos == c.Selected {
		classes = append(classes, "selected")
	}
	text := ""
	switch {
	case cell.State == CellMasked:
		text = ""
	case cell.EOS:
		text = "eos"
	default:
		text = displayToken(c.Tokens, cell.Token)
	}
	pos := cell.Pos
	el := app.Span().Class(strings.Join(classes, " ")).
		DataSet("testid", "token").DataSet("state", string(cell.State)).DataSet("pos", pos).
		Title(c.cellTitle(cell)).
		OnClick(func(ctx app.Context, e app.Event) { ctx.NewActionWithValue(actInspect, pos) }).
		OnMouseEnter(func(ctx app.Context, e app.Event) { ctx.NewActionWithValue(actInspect, pos) }).
		Text(text)
	if cell.State == CellNew || cell.State == CellKept {
		el = el.Style("--p", fmt.Sprintf("%.3f", cell.Prob))
	}
	return el
}

func (c *canvasView) cellTitle(cell Cell) string {
	switch cell.State {
	case CellMasked:
		return fmt.Sprintf("position %d: still masked", cell.Pos)
	case CellPrompt:
		return fmt.Sprintf("position %d: prompt", cell.Pos)
	}
	return fmt.Sprintf("position %d: committed at step %d with p = %.2f", cell.Pos, cell.CommitStep+1, cell.Prob)
}

// displayToken is a token's text for a cell: visible whitespace where the
// token is only whitespace, and newlines as ↵.
func displayToken(tokens []string, id int) string {
	if id < 0 || id >= len(tokens) {
		return fmt.Sprintf("#%d", id)
	}
	t := strings.ReplaceAll(tokens[id], "\n", "↵")
	if strings.TrimSpace(t) == "" {
		return strings.ReplaceAll(t, " ", "·")
	}
	return t
}

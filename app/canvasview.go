package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// canvasView draws the canvas: one cell per position, masked cells as
// tiles, the tokens of the step just shown highlighted and coloured by
// confidence, earlier ones calm, the prompt set apart, the active block
// outlined, EOS padding distinct, and during a cached step the positions
// the model did not recompute dimmed.
type canvasView struct {
	app.Compo

	Cells     []Cell
	Tokens    []string // display text by id
	Selected  int      // inspected position, -1 for none
	Planned   int      // masks the next generation appends (for the empty state)
	Run       int      // the generation shown (data-run, for automated checks)
	EOS       int      // the end-of-text id
	ShowBlock bool     // outline the block of the step shown
	Name      string   // the element's id and data-testid; "canvas" when empty (other views draw canvases too)
}

func (c *canvasView) name() string {
	if c.Name == "" {
		return "canvas"
	}
	return c.Name
}

func (c *canvasView) Render() app.UI {
	if len(c.Cells) == 0 {
		return app.Div().ID(c.name()).Class("canvas empty").DataSet("testid", c.name()).DataSet("run", c.Run).Body(
			app.P().Text(fmt.Sprintf("Press Generate: the prompt and %d masks appear here, and each step unmasks some of them.", c.Planned)),
		)
	}
	// One handler on the canvas serves every cell (event delegation), so a
	// step's update touches only the cells that changed.
	return app.Div().ID(c.name()).Class("canvas").DataSet("testid", c.name()).DataSet("run", c.Run).TabIndex(0).Role("group").
		Aria("label", "Canvas, one cell per token. Arrow keys move the inspector, Escape closes it.").
		OnKeyDown(c.onKey).
		OnClick(c.onPointer).
		OnMouseOver(c.onPointer).
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

// onPointer inspects the cell under the pointer or the tap.
func (c *canvasView) onPointer(ctx app.Context, e app.Event) {
	pos := e.Get("target").Get("dataset").Get("pos")
	if !pos.Truthy() {
		return
	}
	if p, err := strconv.Atoi(pos.String()); err == nil && p != c.Selected {
		ctx.NewActionWithValue(actInspect, p)
	}
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
	if cell.Cached {
		classes = append(classes, "cached")
	}
	if cell.Pos == c.Selected {
		classes = append(classes, "selected")
	}
	text := ""
	switch {
	case cell.State == CellMasked && cell.Final < 0:
		text = ""
	case cell.State == CellMasked:
		// A mask a later step fills takes that token's width, its text
		// hidden: the canvas keeps one layout, and one height, at every
		// step of a replay, so the controls below it stay put.
		text = cellText(c.Tokens, cell.Final, cell.Final == c.EOS)
		classes = append(classes, "sized")
	case cell.EOS:
		text = "eos"
	default:
		text = cellText(c.Tokens, cell.Token, false)
	}
	// A word's leading space becomes a gap before its cell, so the
	// canvas reads as text.
	if trimmed := strings.TrimPrefix(text, " "); trimmed != text && trimmed != "" {
		text = trimmed
		classes = append(classes, "lead")
	}
	el := app.Span().Class(strings.Join(classes, " ")).
		DataSet("testid", "token").DataSet("state", string(cell.State)).DataSet("pos", cell.Pos).
		DataSet("cached", cell.Cached).
		Text(text)
	if cell.State == CellNew || cell.State == CellKept {
		el = el.Style("--p", fmt.Sprintf("%.3f", cell.Prob))
	}
	return el
}

// cellText is what a cell holding id shows.
func cellText(tokens []string, id int, eos bool) string {
	if eos {
		return "eos"
	}
	return displayToken(tokens, id)
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

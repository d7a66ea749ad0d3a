package main

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// fillOrder draws, position by position, the step that filled it (order[i]
// < 0: never filled), darker earlier, under a caption.
func fillOrder(order []int, caption string) app.UI {
	last := 0
	for _, s := range order {
		last = max(last, s)
	}
	return app.Div().Body(
		app.P().Class("help").Text(caption),
		app.Div().Class("order").Aria("label", "Step that filled each position").Body(
			app.Range(order).Slice(func(i int) app.UI {
				s := order[i]
				if s < 0 {
					return app.Span().Class("cell masked")
				}
				cls, lightness := orderShade(float64(s) / float64(max(last, 1)))
				return app.Span().Class(cls).Style("--l", strconv.FormatFloat(lightness, 'f', 0, 64)+"%").Text(strconv.Itoa(s + 1))
			}),
		),
	)
}

// orderShade is the class and background lightness (percent) of an order
// cell filled at fraction f of the run: the first half dark (22-40%) under
// white numbers, the second light (52-88%) under dark ones. Both keep
// 4.5:1 contrast; the lightness between, where neither would, is skipped.
func orderShade(f float64) (class string, lightness float64) {
	if f <= 0.5 {
		return "cell order-cell", 22 + 36*f
	}
	return "cell order-cell late", 52 + 72*(f-0.5)
}

package main

import (
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// stepChart plots tokens committed per step (bars) and their mean
// confidence (line), marking the step shown.
type stepChart struct {
	app.Compo

	Steps   []StepSummary
	Current int // steps shown; the bar of step Current is highlighted
	Planned int // width of the x axis while generating
}

const (
	chartW, chartH = 320.0, 96.0
	chartPad       = 4.0
)

func (c *stepChart) Render() app.UI {
	return app.Figure().Class("chart").Body(
		app.Raw(chartSVG(c.Steps, c.Current, c.Planned)),
		app.FigCaption().Body(
			app.Span().Class("key bars").Text("tokens committed per step"),
			app.Span().Class("key line").Text("their mean probability"),
		),
	)
}

// chartSVG draws the chart as one <svg> element.
func chartSVG(steps []StepSummary, current, planned int) string {
	n := max(len(steps), planned, 1)
	most := 1
	for _, s := range steps {
		most = max(most, s.Committed)
	}
	slot := (chartW - 2*chartPad) / float64(n)
	inner := chartH - 2*chartPad
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" preserveAspectRatio="none">`,
		chartW, chartH, chartLabel(steps))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, chartPad, chartH-chartPad, chartW-chartPad, chartH-chartPad)
	var line []string
	for i, s := range steps {
		x := chartPad + float64(i)*slot
		h := inner * float64(s.Committed) / float64(most)
		cls := "bar"
		if i == current-1 {
			cls += " current"
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"/>`,
			cls, x+slot*0.1, chartH-chartPad-h, slot*0.8, h)
		if s.Committed > 0 {
			line = append(line, fmt.Sprintf("%.2f,%.2f", x+slot/2, chartH-chartPad-inner*s.MeanProb))
		}
	}
	if len(line) > 0 {
		fmt.Fprintf(&b, `<polyline class="conf" points="%s"/>`, strings.Join(line, " "))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// chartLabel summarises the chart for screen readers.
func chartLabel(steps []StepSummary) string {
	if len(steps) == 0 {
		return "No steps yet."
	}
	total := 0
	var conf float64
	for _, s := range steps {
		total += s.Committed
		conf += s.MeanProb * float64(s.Committed)
	}
	if total > 0 {
		conf /= float64(total)
	}
	return fmt.Sprintf("%d steps committed %d tokens, mean probability %.2f.", len(steps), total, conf)
}

package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot geometry and colours.
const (
	plotW, plotH                       = 960, 560
	marginL, marginR, marginT, marginB = 70, 24, 40, 56
)

var (
	colTrain   = color.RGBA{70, 130, 180, 255} // steel blue
	colHeldout = color.RGBA{230, 120, 20, 255} // orange
	colAxis    = color.RGBA{40, 40, 40, 255}
	colGrid    = color.RGBA{225, 225, 225, 255}
	colPhase   = color.RGBA{150, 150, 150, 255}
)

// writePlot draws the training and held-out loss against tokens seen as a
// PNG: axes with ticks and labels, a line per series, and a dashed line
// where the objective changes.
func writePlot(path string, rec *record) error {
	img := renderPlot(rec)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func renderPlot(rec *record) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	x0, x1, y0, y1 := marginL, plotW-marginR, plotH-marginB, marginT

	// Ranges: tokens from 0, losses from the smallest to the largest
	// held-out value or the 95th percentile of training (early spikes
	// would flatten the rest).
	maxTok := 1.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range rec.Heldout {
		lo, hi = math.Min(lo, p.Loss), math.Max(hi, p.Loss)
	}
	var trainLosses []float64
	for _, p := range rec.Train {
		lo = math.Min(lo, p.Loss)
		trainLosses = append(trainLosses, p.Loss)
		maxTok = math.Max(maxTok, float64(p.Tokens))
	}
	if len(trainLosses) > 0 {
		hi = math.Max(hi, percentile(trainLosses, 0.95))
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	lo, hi, step := niceRange(lo, hi)
	px := func(tokens int64) int { return x0 + int(float64(tokens)/maxTok*float64(x1-x0)) }
	py := func(loss float64) int {
		loss = math.Max(lo, math.Min(hi, loss))
		return y0 - int((loss-lo)/(hi-lo)*float64(y0-y1))
	}

	// Grid, ticks and labels.
	for v := lo; v <= hi+step/2; v += step {
		y := py(v)
		hline(img, x0, x1, y, colGrid)
		label(img, x0-8-textWidth(fmt.Sprintf("%.1f", v)), y+4, fmt.Sprintf("%.1f", v), colAxis)
	}
	tokStep := niceStep(maxTok / 6)
	for v := 0.0; v <= maxTok; v += tokStep {
		x := px(int64(v))
		vline(img, x, y1, y0, colGrid)
		text := tokenLabel(v, tokStep)
		label(img, x-textWidth(text)/2, y0+18, text, colAxis)
	}
	hline(img, x0, x1, y0, colAxis)
	vline(img, x0, y1, y0, colAxis)
	label(img, (x0+x1)/2-textWidth("tokens seen")/2, plotH-12, "tokens seen", colAxis)
	label(img, 8, y1-14, "loss (nats/token)", colAxis)
	title := fmt.Sprintf("Unmask %s training: %d steps, %.2fM tokens", rec.Settings.Objective, lastStep(rec), float64(lastTokens(rec))/1e6)
	label(img, (x0+x1)/2-textWidth(title)/2, 20, title, colAxis)

	// Objective changes.
	for i := 1; i < len(rec.Train); i++ {
		if rec.Train[i].Objective != rec.Train[i-1].Objective {
			x := px(rec.Train[i-1].Tokens)
			for y := y1; y < y0; y += 8 {
				vline(img, x, y, min(y+4, y0), colPhase)
			}
			text := rec.Train[i-1].Objective + " -> " + rec.Train[i].Objective
			label(img, x+4, y1+14, text, colPhase)
		}
	}

	polyline(img, rec.Train, px, py, colTrain, 1)
	polyline(img, rec.Heldout, px, py, colHeldout, 2)
	for _, p := range rec.Heldout {
		dot(img, px(p.Tokens), py(p.Loss), 3, colHeldout)
	}

	// Legend.
	lx, ly := x1-170, y1+14
	hlineThick(img, lx, lx+24, ly-4, colTrain, 1)
	label(img, lx+30, ly, "train", colTrain)
	hlineThick(img, lx, lx+24, ly+14, colHeldout, 2)
	label(img, lx+30, ly+18, "held-out", colHeldout)
	return img
}

// tokenLabel writes a token count at the precision its tick step needs.
func tokenLabel(v, step float64) string {
	switch {
	case step >= 1e5:
		return fmt.Sprintf("%.1fM", v/1e6)
	case step >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func lastStep(rec *record) int {
	if n := len(rec.Train); n > 0 {
		return rec.Train[n-1].Step
	}
	return 0
}

func lastTokens(rec *record) int64 {
	if n := len(rec.Train); n > 0 {
		return rec.Train[n-1].Tokens
	}
	return 0
}

func percentile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ { // insertion sort: a few thousand points at most
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[int(q*float64(len(s)-1))]
}

// niceRange widens [lo, hi] to multiples of a 1-2-5 step giving about six
// intervals.
func niceRange(lo, hi float64) (float64, float64, float64) {
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5, hi+0.5
	}
	step := niceStep((hi - lo) / 6)
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func polyline(img *image.RGBA, pts []point, px func(int64) int, py func(float64) int, c color.RGBA, width int) {
	for i := 1; i < len(pts); i++ {
		if pts[i].Objective != pts[i-1].Objective {
			continue // the losses of two objectives are not one curve
		}
		line(img, px(pts[i-1].Tokens), py(pts[i-1].Loss), px(pts[i].Tokens), py(pts[i].Loss), c, width)
	}
}

// line is Bresenham's algorithm with a square pen of the given width.
func line(img *image.RGBA, xa, ya, xb, yb int, c color.RGBA, width int) {
	dx, dy := abs(xb-xa), -abs(yb-ya)
	sx, sy := sign(xb-xa), sign(yb-ya)
	e := dx + dy
	for {
		dot(img, xa, ya, width-1, c)
		if xa == xb && ya == yb {
			return
		}
		e2 := 2 * e // both tests use the error before this step
		if e2 >= dy {
			e += dy
			xa += sx
		}
		if e2 <= dx {
			e += dx
			ya += sy
		}
	}
}

func dot(img *image.RGBA, x, y, r int, c color.RGBA) {
	for i := -r; i <= r; i++ {
		for j := -r; j <= r; j++ {
			img.SetRGBA(x+i, y+j, c)
		}
	}
}

func hline(img *image.RGBA, xa, xb, y int, c color.RGBA) { hlineThick(img, xa, xb, y, c, 0) }

func hlineThick(img *image.RGBA, xa, xb, y int, c color.RGBA, r int) {
	for x := xa; x <= xb; x++ {
		for j := -r; j <= r; j++ {
			img.SetRGBA(x, y+j, c)
		}
	}
}

func vline(img *image.RGBA, x, ya, yb int, c color.RGBA) {
	for y := ya; y <= yb; y++ {
		img.SetRGBA(x, y, c)
	}
}

func label(img *image.RGBA, x, y int, text string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(text)
}

func textWidth(text string) int { return font.MeasureString(basicfont.Face7x13, text).Round() }

func abs(v int) int  { return max(v, -v) }
func sign(v int) int { return min(1, max(-1, v)) }

package main

import (
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLineReachesBothEnds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		img := image.NewRGBA(image.Rect(0, 0, 100, 80))
		xa, ya, xb, yb := r.IntN(100), r.IntN(80), r.IntN(100), r.IntN(80)
		line(img, xa, ya, xb, yb, colTrain, 1)
		assert.Equal(t, colTrain, img.RGBAAt(xa, ya))
		assert.Equal(t, colTrain, img.RGBAAt(xb, yb))
	}
}

func TestWritePlot(t *testing.T) {
	rec := &record{Settings: settings{Objective: "llada"}}
	for i := 1; i <= 50; i++ {
		obj := "ar"
		if i > 20 {
			obj = "llada"
		}
		p := point{Step: i * 10, Tokens: int64(i) * 20480, Objective: obj, Loss: 8 - 0.05*float64(i) + 0.1*rand.Float64()}
		rec.Train = append(rec.Train, p)
		if i%5 == 0 {
			p.Loss += 0.2
			rec.Heldout = append(rec.Heldout, p)
		}
	}
	path := filepath.Join(t.TempDir(), "loss.png")
	require.NoError(t, writePlot(path, rec))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, plotW, plotH), img.Bounds())
	counts := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	assert.Greater(t, counts[[3]uint32{70, 130, 180}], 500, "train curve drawn")
	assert.Greater(t, counts[[3]uint32{230, 120, 20}], 300, "held-out curve drawn")
	assert.Greater(t, counts[[3]uint32{150, 150, 150}], 50, "phase marker drawn")
}

func TestWritePlotEmptyRecord(t *testing.T) {
	require.NoError(t, writePlot(filepath.Join(t.TempDir(), "empty.png"), &record{}))
}

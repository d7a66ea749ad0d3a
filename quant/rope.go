package quant

import "math"

// RoPETables fills the rotary position tables that RoPE reads, (T, hd/2)
// each for T = len(cos)/(hd/2) positions: with inv_freq[i] =
// theta^(-2i/hd), cos[pos*hd/2+i] = cos(pos·inv_freq[i]) and likewise sin,
// computed in float64 and stored in float32. The engine and the trainer
// both use it, so a model trains and runs with the same rotations.
func RoPETables(cos, sin []float32, hd int, theta float64) {
	half := hd / 2
	for pos := range len(cos) / half {
		for i := range half {
			invFreq := math.Pow(theta, -2*float64(i)/float64(hd))
			angle := float64(pos) * invFreq
			cos[pos*half+i] = float32(math.Cos(angle))
			sin[pos*half+i] = float32(math.Sin(angle))
		}
	}
}

package linalg

import (
	"math"

	"unmask/internal/cephes"
)

// Pointwise kernels: the exponentials of attention, SiLU and the loss.
// Each calls the implementation installed by the platform file; the
// references are in kernels_generic.go.

// Exp is e^x in float32 by Cephes' expf: range reduction by ln 2 and a
// degree-6 polynomial, relative error below 2e-7 for x in [-87, 88]
// (inputs are clamped there, so tiny results stay normal numbers).
func Exp(x float32) float32 {
	x = max(expLo, min(expHi, x))
	n := float32(math.RoundToEven(float64(x * cephes.Log2e)))
	r := x - n*cephes.Ln2Hi - n*cephes.Ln2Lo
	p := float32(cephes.ExpP0)
	p = p*r + cephes.ExpP1
	p = p*r + cephes.ExpP2
	p = p*r + cephes.ExpP3
	p = p*r + cephes.ExpP4
	p = p*r + cephes.ExpP5
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// The clamps of this implementation; its other constants are Cephes'
// (package cephes, shared with the engine's kernels).
const (
	expLo = -87.3
	expHi = 88.3
)

// Softmax replaces x by softmax(scale·x).
func Softmax(x []float32, scale float32) {
	if len(x) > 0 {
		softmaxImpl(x, scale)
	}
}

// ExpShift sets dst[i] = e^(src[i]-shift) and returns their sum; dst may
// be src.
func ExpShift(dst, src []float32, shift float32) float32 {
	return expScaledImpl(dst[:len(src)], src, 1, shift)
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) { scaleImpl(x, s) }

// Max is the largest element of a non-empty x.
func Max(x []float32) float32 { return maxImpl(x) }

// SiLUMul sets act[i] = silu(gate[i])·up[i], silu(g) = g·σ(g).
func SiLUMul(act, gate, up []float32) { siluMulImpl(act, gate[:len(act)], up[:len(act)]) }

// SiLUMulBack takes the gradient of act in dgate and leaves there that of
// gate, writing the gradient of up into dup:
//
//	dup = dact·silu(g),  dgate = dact·up·σ(g)·(1 + g·(1-σ(g)))
func SiLUMulBack(dgate, dup, gate, up []float32) {
	siluMulBackImpl(dgate, dup[:len(dgate)], gate[:len(dgate)], up[:len(dgate)])
}

// Package cephes holds the constants of Cephes' expf, the float32
// exponential that both the engine's kernels (package quant) and the
// trainer's (tools/train/linalg) build on: e^x = 2^n·e^r with
// n = round(x·log2 e), r = x - n·ln 2 (ln 2 split in a high part with few
// enough bits that n·Ln2Hi is exact, and a low part), and
// e^r ≈ 1 + r + r²·(((((ExpP0·r + ExpP1)·r + ExpP2)·r + ExpP3)·r + ExpP4)·r + ExpP5).
package cephes

const (
	Log2e = 1.44269504088896341
	Ln2Hi = 0.693359375
	Ln2Lo = -2.12194440e-4
	ExpP0 = 1.9875691500e-4
	ExpP1 = 1.3981999507e-3
	ExpP2 = 8.3334519073e-3
	ExpP3 = 4.1665795894e-2
	ExpP4 = 1.6666665459e-1
	ExpP5 = 5.0000001201e-1
)

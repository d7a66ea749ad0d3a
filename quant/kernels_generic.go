package quant

import "math"

// The reference kernels. Each is the definition of its fast twin; the fast
// twins are tested against these on tables of shapes and by fuzzing.

// matMulF32Generic computes, for t < T and r0 <= o < r1,
//
//	y[t*rows+o] = Σ_i x[t*cols+i] * w[o*cols+i]
func matMulF32Generic(y, x, w []float32, T, rows, cols, r0, r1 int) {
	for t := range T {
		xt := x[t*cols : (t+1)*cols]
		for o := r0; o < r1; o++ {
			y[t*rows+o] = dotF32Generic(xt, w[o*cols:(o+1)*cols])
		}
	}
}

// matMulQ8Generic computes, for t < T and r0 <= o < r1, with G = cols/group,
//
//	y[t*rows+o] = Σ_g xs[t*G+g] * ws[o*G+g] * Σ_{i<group} xq[t*cols+g*group+i] * wq[o*cols+g*group+i]
//
// where the inner sum is exact in int32.
func matMulQ8Generic(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	G := cols / group
	for t := range T {
		for o := r0; o < r1; o++ {
			var acc float32
			for g := range G {
				xo, wo := t*cols+g*group, o*cols+g*group
				acc += xs[t*G+g] * ws[o*G+g] * float32(dotI8Generic(xq[xo:xo+group], wq[wo:wo+group]))
			}
			y[t*rows+o] = acc
		}
	}
}

// dotI8Generic is Σ a[i]*b[i] in int32.
func dotI8Generic(a, b []int8) int32 {
	var s int32
	for i := range a {
		s += int32(a[i]) * int32(b[i])
	}
	return s
}

// quantizeActivationsGeneric rounds x to int8 in groups of group values:
// scale = max|x|/127 per group, q = round(x/scale) (ties away from zero).
func quantizeActivationsGeneric(q []int8, scales []float32, x []float32, group int) {
	for g := range len(x) / group {
		xs := x[g*group : (g+1)*group]
		var amax float32
		for _, v := range xs {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if amax == 0 {
			scales[g] = 0
			clear(q[g*group : (g+1)*group])
			continue
		}
		scale := amax / 127
		inv := 1 / scale
		scales[g] = scale
		for i, v := range xs {
			q[g*group+i] = int8(math.Round(float64(v * inv)))
		}
	}
}

// dotF32Generic is Σ a[i]*b[i].
func dotF32Generic(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// axpyF32Generic is y[i] += a*x[i].
func axpyF32Generic(a float32, x, y []float32) {
	for i := range x {
		y[i] += a * x[i]
	}
}

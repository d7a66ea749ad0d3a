package trainer

import (
	"math"

	"unmask/quant"
	"unmask/tools/train/linalg"
)

// The pointwise pieces of the network and their derivatives. Forward
// arithmetic follows package engine operation for operation (float64 sums
// of squares in RMSNorm, NeoX RoPE tables in float64); exponentials use
// linalg's float32 Exp (relative error < 2e-7), so a trained model's logits
// agree with the engine's to rounding.

// rmsNormRows writes out[r] = w ⊙ x[r] · rstd[r] for rows [lo, hi), with
// rstd[r] = 1/sqrt(mean(x[r]²) + eps), and keeps rstd for the backward pass.
func rmsNormRows(out, rstd, x, w []float32, eps float64, lo, hi int) {
	d := len(w)
	for r := lo; r < hi; r++ {
		row := x[r*d : (r+1)*d]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(ss/float64(d)+eps))
		rstd[r] = inv
		o := out[r*d : (r+1)*d]
		for i, v := range row {
			o[i] = w[i] * (v * inv)
		}
	}
}

// rmsNormBackRows adds to dx the gradient through y = w ⊙ x · r for rows
// [lo, hi) given dy, and adds the weight gradient Σ_rows dy ⊙ x · r to dw.
// With g = w ⊙ dy: dx = r·g - r³·(g·x)/d · x.
func rmsNormBackRows(dx, dw, dy, x, w, rstd []float32, lo, hi int) {
	d := len(w)
	for r := lo; r < hi; r++ {
		xr, dyr, dxr := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
		inv := rstd[r]
		var dot float64
		for i, v := range xr {
			g := w[i] * dyr[i]
			dot += float64(g) * float64(v)
			dw[i] += dyr[i] * v * inv
		}
		c := float32(dot) * inv * inv * inv / float32(d)
		for i, v := range xr {
			dxr[i] += inv*w[i]*dyr[i] - c*v
		}
	}
}

// ropeRows rotates each head of rows [lo, hi) of buf (rows, heads·hd) in
// place, NeoX style; row r is position r mod T. inverse applies the
// transposed rotation, which is the backward pass of the forward one.
func ropeRows(buf, cos, sin []float32, T, heads, hd, lo, hi int, inverse bool) {
	half := hd / 2
	for r := lo; r < hi; r++ {
		t := r % T
		c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
		for h := range heads {
			a := buf[(r*heads+h)*hd:][:half]
			b := buf[(r*heads+h)*hd+half:][:half]
			for i := range half {
				a0, b0 := a[i], b[i]
				if inverse {
					a[i] = a0*c[i] + b0*s[i]
					b[i] = b0*c[i] - a0*s[i]
				} else {
					a[i] = a0*c[i] - b0*s[i]
					b[i] = b0*c[i] + a0*s[i]
				}
			}
		}
	}
}

// ropeTables are the engine's RoPE tables (quant.RoPETables) for T
// positions.
func ropeTables(T, hd int, theta float64) (cos, sin []float32) {
	cos, sin = make([]float32, T*(hd/2)), make([]float32, T*(hd/2))
	quant.RoPETables(cos, sin, hd, theta)
	return cos, sin
}

// softmaxScaled replaces x[:n] by softmax(scale·x[:n]) and zeroes x[n:]
// (keys a query may not see).
func softmaxScaled(x []float32, n int, scale float32) {
	linalg.Softmax(x[:n], scale)
	clear(x[n:])
}

// softmaxBack turns dp (the gradient of a row of probabilities p) into the
// gradient of the scaled scores: scale · p ⊙ (dp - p·dp).
func softmaxBack(dp, p []float32, scale float32) {
	var dot float64
	for i, v := range p {
		dot += float64(v) * float64(dp[i])
	}
	d := float32(dot)
	for i, v := range p {
		dp[i] = scale * v * (dp[i] - d)
	}
}

// crossEntropy returns -log softmax(z)[target]. With grad set it replaces
// z by weight·(softmax(z) - onehot(target)); otherwise z is kept and
// scratch (len(z)) takes the exponentials.
func crossEntropy(z, scratch []float32, target int, weight float32, grad bool) float64 {
	mx := linalg.Max(z)
	zt := z[target]
	e := scratch
	if grad {
		e = z
	}
	sum := linalg.ExpShift(e, z, mx)
	loss := math.Log(float64(sum)) + float64(mx) - float64(zt)
	if grad {
		linalg.Scale(z, weight/sum)
		z[target] -= weight
	}
	return loss
}

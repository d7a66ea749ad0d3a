package linalg

// Dispatch: kernels_simd.go replaces these where it can.
var (
	mulImpl = mulGeneric
	path    = "go"
)

// mulGeneric is the reference product: for i < M, j < N,
//
//	C(i, j) = [C(i, j) +] Σ_k A(i, k)·B(k, j)
//
// accumulated in float32 in order of k.
func mulGeneric(_ *Workspace, c, a, b View, accumulate bool) {
	for i := range c.Rows {
		crow := c.Data[i*c.RowStride:][:c.Cols]
		if !accumulate {
			clear(crow)
		}
		for k := range a.Cols {
			aik := a.Data[i*a.RowStride+k*a.ColStride]
			bk := b.Data[k*b.RowStride:]
			if b.ColStride == 1 {
				bk = bk[:c.Cols]
				for j := range crow {
					crow[j] += aik * bk[j]
				}
				continue
			}
			for j := range crow {
				crow[j] += aik * bk[j*b.ColStride]
			}
		}
	}
}

var (
	softmaxImpl     = softmaxGeneric
	expScaledImpl   = expScaledGeneric
	scaleImpl       = scaleGeneric
	maxImpl         = maxGeneric
	siluMulImpl     = siluMulGeneric
	siluMulBackImpl = siluMulBackGeneric
)

// softmaxGeneric: scale > 0, so max(scale·x) = scale·max(x).
func softmaxGeneric(x []float32, scale float32) {
	sum := expScaledGeneric(x, x, scale, scale*maxGeneric(x))
	scaleGeneric(x, 1/sum)
}

// expScaledGeneric sets dst[i] = Exp(scale·src[i] - shift) and returns the sum.
func expScaledGeneric(dst, src []float32, scale, shift float32) float32 {
	var sum float32
	for i, v := range src {
		e := Exp(scale*v - shift)
		dst[i] = e
		sum += e
	}
	return sum
}

func scaleGeneric(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func maxGeneric(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

func siluMulGeneric(act, gate, up []float32) {
	for i, g := range gate {
		act[i] = g / (1 + Exp(-g)) * up[i]
	}
}

func siluMulBackGeneric(dgate, dup, gate, up []float32) {
	for i, g := range gate {
		da := dgate[i]
		s := 1 / (1 + Exp(-g))
		dup[i] = da * g * s
		dgate[i] = da * up[i] * s * (1 + g*(1-s))
	}
}

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

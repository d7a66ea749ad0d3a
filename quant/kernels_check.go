package quant

import "fmt"

// Shape checks for the kernels that work on raw memory (the WebAssembly
// kernels). Each panics, as an out-of-range slice index would, unless every
// element the reference kernel touches lies inside the slices; the fast
// kernels touch exactly those elements. All sizes must also fit in 31 bits,
// the kernels' address arithmetic.

const maxKernelSize = 1<<31 - 1

func sizesFit(name string, sizes ...int) {
	for _, n := range sizes {
		if n < 0 || n > maxKernelSize {
			panic(fmt.Sprintf("quant: %s: size %d outside [0, 2^31)", name, n))
		}
	}
}

func needLen(name, what string, have, need int) {
	if have < need {
		panic(fmt.Sprintf("quant: %s: %s has %d elements, needs %d", name, what, have, need))
	}
}

func boundsMatMulQ8(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	const name = "MatMulQ8"
	sizesFit(name, len(y), len(xq), len(xs), len(wq), len(ws), T, rows, cols, group, r0, r1)
	if group < 1 || r0 > r1 {
		panic(fmt.Sprintf("quant: %s: group %d, rows [%d, %d)", name, group, r0, r1))
	}
	if T == 0 || r0 == r1 {
		return
	}
	G := cols / group
	needLen(name, "y", len(y), (T-1)*rows+r1)
	needLen(name, "xq", len(xq), (T-1)*cols+G*group)
	needLen(name, "xs", len(xs), T*G)
	needLen(name, "wq", len(wq), (r1-1)*cols+G*group)
	needLen(name, "ws", len(ws), r1*G)
}

func boundsMatMulF32(y, x, w []float32, T, rows, cols, r0, r1 int) {
	const name = "MatMulF32"
	sizesFit(name, len(y), len(x), len(w), T, rows, cols, r0, r1)
	if r0 > r1 {
		panic(fmt.Sprintf("quant: %s: rows [%d, %d)", name, r0, r1))
	}
	if T == 0 || r0 == r1 {
		return
	}
	needLen(name, "y", len(y), (T-1)*rows+r1)
	needLen(name, "x", len(x), T*cols)
	needLen(name, "w", len(w), r1*cols)
}

func boundsQuantize(q []int8, scales, x []float32, group int) {
	const name = "QuantizeActivations"
	sizesFit(name, len(q), len(scales), len(x), group)
	if group < 1 {
		panic(fmt.Sprintf("quant: %s: group %d", name, group))
	}
	groups := len(x) / group
	needLen(name, "q", len(q), groups*group)
	needLen(name, "scales", len(scales), groups)
}

func boundsAttention(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int) {
	const name = "Attention"
	sizesFit(name, len(out), len(q), len(k), len(v), len(scores), ldo, ldq, ldkv, nq, T, hd)
	if nq == 0 {
		return
	}
	if T < 1 {
		panic(fmt.Sprintf("quant: %s: no keys to attend to", name))
	}
	needLen(name, "out", len(out), (nq-1)*ldo+hd)
	needLen(name, "q", len(q), (nq-1)*ldq+hd)
	needLen(name, "k", len(k), (T-1)*ldkv+hd)
	needLen(name, "v", len(v), (T-1)*ldkv+hd)
	needLen(name, "scores", len(scores), AttentionScratch(nq, T, hd))
}

func boundsRMSNorm(out, x, w []float32) {
	const name = "RMSNorm"
	sizesFit(name, len(out), len(x), len(w))
	if len(w) == 0 {
		panic(fmt.Sprintf("quant: %s: no weights", name))
	}
	needLen(name, "out", len(out), len(x)/len(w)*len(w))
}

// boundsPair checks two operands of n and m elements, m >= n; it guards the
// small kernels (DotF32, AxpyF32), so it is kept free of variadic calls.
func boundsPair(name string, n, m int) {
	if m < n || uint(m) > maxKernelSize {
		panic(fmt.Sprintf("quant: %s: operands of %d and %d elements", name, n, m))
	}
}

func boundsRoPE(buf, cos, sin []float32, T, heads, hd int) {
	const name = "RoPE"
	sizesFit(name, len(buf), len(cos), len(sin), T, heads, hd)
	needLen(name, "buf", len(buf), T*heads*hd)
	needLen(name, "cos", len(cos), T*(hd/2))
	needLen(name, "sin", len(sin), T*(hd/2))
}

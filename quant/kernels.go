package quant

// Dispatch: the exported kernels call whatever the platform file installed.
// Other platforms (and the purego tag) install the generic references.

var (
	matMulF32Impl           = matMulF32Generic
	matMulQ8Impl            = matMulQ8Generic
	quantizeActivationsImpl = quantizeActivationsGeneric
	dotF32Impl              = dotF32Generic
	axpyF32Impl             = axpyF32Generic
	kernelPath              = "go"
)

// KernelPath names the active kernel implementation ("go", "simd", ...).
func KernelPath() string { return kernelPath }

// MatMulF32 is the float32 product y = x·Wᵀ for rows [r0, r1); see matMulF32Generic.
func MatMulF32(y, x, w []float32, T, rows, cols, r0, r1 int) {
	matMulF32Impl(y, x, w, T, rows, cols, r0, r1)
}

// MatMulQ8 is the int8 product for rows [r0, r1); see matMulQ8Generic.
func MatMulQ8(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	matMulQ8Impl(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
}

// QuantizeActivations rounds x to int8 per group; see quantizeActivationsGeneric.
func QuantizeActivations(q []int8, scales []float32, x []float32, group int) {
	quantizeActivationsImpl(q, scales, x, group)
}

// DotF32 is Σ a[i]*b[i] over len(a).
func DotF32(a, b []float32) float32 { return dotF32Impl(a, b) }

// AxpyF32 is y[i] += a*x[i] over len(x).
func AxpyF32(a float32, x, y []float32) { axpyF32Impl(a, x, y) }

//go:build purego || !((js && wasm) || (goexperiment.simd && amd64))

package quant

// platformKernels offers no faster kernels here: the plain Go references
// run (the purego tag forces this on every platform).
func platformKernels() []kernelSet { return nil }

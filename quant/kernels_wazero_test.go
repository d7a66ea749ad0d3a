//go:build !(js && wasm)

package quant

import (
	"sync"
	"testing"

	"unmask/quant/internal/wasmhost"
)

// Natively, the WebAssembly kernels run in wazero (quant/internal/wasmhost)
// and are compared with the Go references like the native kernels.

const kernelsWasm = "../web/kernels/kernels.wasm"

var (
	wazeroOnce sync.Once
	wazeroSet  kernelSet
	wazeroErr  error
)

func fastKernelSets(tb testing.TB) []kernelSet {
	wazeroOnce.Do(func() {
		var m *wasmhost.Module
		if m, wazeroErr = wasmhost.Load(kernelsWasm); wazeroErr == nil {
			wazeroSet = hostKernelSet(m)
		}
	})
	if wazeroErr != nil {
		tb.Fatalf("loading %s into wazero: %v", kernelsWasm, wazeroErr)
	}
	return append([]kernelSet{wazeroSet}, platformKernels()...)
}

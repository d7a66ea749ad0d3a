//go:build js && wasm

package quanttest

import "testing"

// registerHost does nothing under js/wasm: the loader installs the
// WebAssembly kernels as platform kernels.
func registerHost(testing.TB) {}

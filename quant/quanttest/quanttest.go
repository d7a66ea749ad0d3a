// Package quanttest lets tests outside package quant run on every kernel
// path: the plain Go references ("go"), the fast kernels of the platform
// ("avx2" natively with GOEXPERIMENT=simd; "simd" and "relaxed-simd" under
// Node with web/kernels/run_node.js) and, natively, the WebAssembly SIMD
// kernels run in wazero ("wazero-simd").
package quanttest

import (
	"os"
	"slices"
	"testing"

	"unmask/quant"
)

// RequireEnv names a kernel path that Paths must find, so that a test run
// meant to cover it (make test-wasm sets relaxed-simd) cannot pass by
// skipping it.
const RequireEnv = "UNMASK_REQUIRE_KERNELS"

// Paths lists the kernel paths of this build, "go" first. It fails the
// test when the path named by $UNMASK_REQUIRE_KERNELS is missing.
func Paths(tb testing.TB) []string {
	tb.Helper()
	registerHost(tb)
	paths := quant.AvailableKernels()
	if want := os.Getenv(RequireEnv); want != "" && !slices.Contains(paths, want) {
		tb.Fatalf("kernel path %s required but not available (have %v)", want, paths)
	}
	return paths
}

// Use makes path the active kernel path until the test ends, then restores
// the Go references.
func Use(tb testing.TB, path string) {
	tb.Helper()
	if _, err := quant.UseKernels(path); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { quant.UseKernels("go") })
}

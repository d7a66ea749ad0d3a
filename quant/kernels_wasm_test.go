//go:build js && wasm

package quant

import (
	"os"
	"slices"
	"testing"
)

// fastKernelSets are the kernels the loader installed (none under purego,
// or when run without web/kernels/run_node.js offering them).
// UNMASK_REQUIRE_KERNELS names a path that must be among them, so that a
// test run meant to cover the SIMD kernels cannot pass by skipping them.
func fastKernelSets(tb testing.TB) []kernelSet {
	sets := platformKernels()
	if want := os.Getenv("UNMASK_REQUIRE_KERNELS"); want != "" && !slices.Contains(AvailableKernels(), want) {
		tb.Fatalf("kernel path %s required but not available (have %v)", want, AvailableKernels())
	}
	return sets
}

package quant

import "testing"

// KernelPathsForTest names the kernel sets the tests can switch to: "go" and
// every fast set (natively also the WebAssembly kernels run by wazero).
func KernelPathsForTest(tb testing.TB) []string {
	names := []string{genericKernels.name}
	for _, k := range fastKernelSets(tb) {
		names = append(names, k.name)
	}
	return names
}

// UseKernelsForTest makes the named set of KernelPathsForTest active until the
// test ends.
func UseKernelsForTest(tb testing.TB, name string) {
	tb.Helper()
	for _, k := range append([]kernelSet{genericKernels}, fastKernelSets(tb)...) {
		if k.name == name {
			active = k
			tb.Cleanup(func() { active = genericKernels })
			return
		}
	}
	tb.Fatalf("no kernel set %q", name)
}

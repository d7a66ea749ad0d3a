//go:build goexperiment.simd && amd64 && !purego

package quant

import (
	"simd/archsimd"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The AVX2 kernels are offered exactly where the processor has AVX2, and
// "auto" picks them there; elsewhere the Go references remain.
func TestAVX2Offered(t *testing.T) {
	defer UseKernels("go")
	has := archsimd.X86.AVX2()
	if got := slices.Contains(AvailableKernels(), "avx2"); got != has {
		require.Failf(t, "avx2 offered where the processor lacks it, or missing where it has it", "avx2 offered: %v; processor has AVX2: %v", got, has)
	}
	want := "go"
	if has {
		want = "avx2"
	}
	if path, err := UseKernels("auto"); err != nil || path != want {
		require.Failf(t, "auto does not pick the fastest path", "UseKernels(auto) = %q, %v; want %q", path, err, want)
	}
}

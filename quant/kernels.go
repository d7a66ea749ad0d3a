package quant

import (
	"fmt"
	"strings"
)

//go:generate go run ./internal/kernelgen/gen

// The kernels are declared once, in quant/internal/kernelgen; the kernelSet
// struct (kernelset_gen.go), the WebAssembly imports, the forwarding module
// and the loader's slots are generated from that list.

var genericKernels = kernelSet{
	name:                "go",
	matMulF32:           matMulF32Generic,
	matMulQ8:            matMulQ8Generic,
	quantizeActivations: quantizeActivationsGeneric,
	dotF32:              dotF32Generic,
	axpyF32:             axpyF32Generic,
	attention:           attentionGeneric,
	rmsNorm:             rmsNormGeneric,
	siluMul:             siluMulGeneric,
	rope:                ropeGeneric,
	logitStats:          logitStatsGeneric,
}

// active is the set the exported kernels call.
var active = genericKernels

// hostKernels are kernel sets that tests register natively
// (RegisterWasmHost); they are offered after the platform's.
var hostKernels []kernelSet

// KernelPath names the active kernel implementation: "go" (the plain Go
// references), "simd" (WebAssembly SIMD128), "relaxed-simd" or "avx2"
// (amd64 built with GOEXPERIMENT=simd, on a processor with AVX2).
func KernelPath() string { return active.name }

// AvailableKernels lists the kernel paths this program can use, "go"
// (always there) first and the platform's fastest last, then any that a
// test registered (RegisterWasmHost).
func AvailableKernels() []string {
	names := []string{genericKernels.name}
	for _, k := range append(platformKernels(), hostKernels...) {
		names = append(names, k.name)
	}
	return names
}

// UseKernels switches every kernel to the named path; "auto" picks the
// fastest available. Faster paths are opt-in rather than installed at start
// because in WebAssembly they are imports that only the kernel loader
// (web/kernels/kernels.js) provides: a program that never calls UseKernels
// runs under Go's plain wasm_exec.js. Call it at start-up, before any
// kernel runs (it is not synchronised with them). It returns the path now
// in use.
func UseKernels(path string) (string, error) {
	sets := append([]kernelSet{genericKernels}, platformKernels()...)
	if path == "auto" {
		active = sets[len(sets)-1]
		return active.name, nil
	}
	for _, k := range append(sets, hostKernels...) {
		if k.name == path {
			active = k
			return active.name, nil
		}
	}
	return active.name, fmt.Errorf("quant: kernel path %q is not available (have %s)", path, strings.Join(AvailableKernels(), ", "))
}

// MatMulF32 is the float32 product y = x·Wᵀ for rows [r0, r1); see matMulF32Generic.
func MatMulF32(y, x, w []float32, T, rows, cols, r0, r1 int) {
	active.matMulF32(y, x, w, T, rows, cols, r0, r1)
}

// MatMulQ8 is the int8 product for rows [r0, r1); see matMulQ8Generic.
func MatMulQ8(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	active.matMulQ8(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
}

// QuantizeActivations rounds x to int8 per group; see quantizeActivationsGeneric.
func QuantizeActivations(q []int8, scales []float32, x []float32, group int) {
	active.quantizeActivations(q, scales, x, group)
}

// DotF32 is Σ a[i]*b[i] over len(a).
func DotF32(a, b []float32) float32 { return active.dotF32(a, b) }

// AxpyF32 is y[i] += a*x[i] over len(x).
func AxpyF32(a float32, x, y []float32) { active.axpyF32(a, x, y) }

// Attention is bidirectional scaled dot-product attention of nq queries of
// one head against T keys and values; see attentionGeneric. Row u of q
// starts at q[u*ldq], row p of k and v at k[p*ldkv] and v[p*ldkv], output
// row u at out[u*ldo]; each row has hd values. scores is scratch space of
// at least AttentionScratch(nq, T, hd) values. Passing all the queries of
// a head at once lets the fast kernels reuse each key and value row for
// several queries.
func Attention(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int, scale float32) {
	active.attention(out, ldo, q, ldq, k, v, ldkv, scores, nq, T, hd, scale)
}

// AttentionScratch is the scratch Attention needs for nq queries of T keys
// of width hd: the scores of up to four queries, their weights and
// queries rearranged, and a transposed copy of the keys (the fast kernels
// compute each score as a lane of an outer product, which keeps the
// reference's order of summation).
func AttentionScratch(nq, T, hd int) int {
	if nq == 0 {
		return 0
	}
	return 8*T + 4*hd + hd*T
}

// RMSNorm writes w * x / sqrt(mean(x²) + eps) for each row of len(w)
// values of x into out; see rmsNormGeneric.
func RMSNorm(out, x, w []float32, eps float64) { active.rmsNorm(out, x, w, eps) }

// SiLUMul computes gate = silu(gate) * up in place; see siluMulGeneric.
func SiLUMul(gate, up []float32) { active.siluMul(gate, up) }

// RoPE rotates the heads of buf, (T, heads, hd), in place by the rotary
// position tables cos and sin, (T, hd/2); see ropeGeneric.
func RoPE(buf, cos, sin []float32, T, heads, hd int) { active.rope(buf, cos, sin, T, heads, hd) }

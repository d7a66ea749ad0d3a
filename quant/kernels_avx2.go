//go:build goexperiment.simd && amd64 && !purego

package quant

import (
	"math"
	"simd/archsimd"
	"unsafe"

	"unmask/internal/cephes"
)

// The AVX2 kernels (simd/archsimd, GOEXPERIMENT=simd), for processors
// that have AVX2; others keep the Go references. Like the WebAssembly
// kernels they check bounds first and then work through pointers.
//
// The kernels of the int8 forward pass give the references' bits: each
// vector lane repeats the reference's operations in its order (no fused
// multiply-adds, the 4-lane sums of sum4 kept as 4-lane sums, expf step
// by step), so an int8 model's logits are the same here, in the Go
// references and in WebAssembly. MatMulF32 and DotF32 reorder sums.
//
// Every kernel ends with ClearAVXUpperBits (VZEROUPPER), and scalar float
// code between vector phases follows one: Go's scalar float code is
// SSE-encoded, and SSE instructions run many times slower while the upper
// halves of the ymm registers are dirty (measured: a 4-value DotF32 took
// 120 ns instead of 5 because of two). Scalars that cross a
// ClearAVXUpperBits travel as integer bits, since the compiler saves
// float registers around it with SSE moves; so do float32 loads and
// copies inside vector code.

// platformKernels offers the AVX2 kernels where the processor has AVX2.
func platformKernels() []kernelSet {
	if !archsimd.X86.AVX2() {
		return nil
	}
	return []kernelSet{avx2Kernels}
}

var avx2Kernels = kernelSet{
	name:                "avx2",
	matMulF32:           avx2MatMulF32,
	matMulQ8:            avx2MatMulQ8,
	quantizeActivations: avx2Quantize,
	dotF32:              avx2DotF32,
	axpyF32:             avx2AxpyF32,
	attention:           avx2Attention,
	rmsNorm:             avx2RMSNorm,
	siluMul:             avx2SiLUMul,
	rope:                avx2RoPE,
	logitStats:          avx2LogitStats,
}

// f32At and i8At are the addresses of s[i], unchecked: callers check bounds.
func f32At(s []float32, i int) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), 4*i)
}

func i8At(s []int8, i int) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), i)
}

func load8(p unsafe.Pointer) archsimd.Float32x8 { return archsimd.LoadFloat32x8((*[8]float32)(p)) }

func store8(v archsimd.Float32x8, p unsafe.Pointer) { v.Store((*[8]float32)(p)) }

// splat8 broadcasts the float32 at p.
func splat8(p unsafe.Pointer) archsimd.Float32x8 { return archsimd.BroadcastFloat32x8(*(*float32)(p)) }

func bc8(v float32) archsimd.Float32x8 { return archsimd.BroadcastFloat32x8(v) }

// load8Part loads the first n <= 8 floats of s, zeros in the other lanes.
// A tail is put together lane by lane through integer registers: a masked
// load (archsimd's LoadFloat32x8SlicePart) makes a pointer to 8 floats
// where fewer are allocated, which Go's unsafe rules forbid (checkptr
// stops it under -race), and a stack buffer would be zeroed with SSE.
func load8Part(s []float32, n int) archsimd.Float32x8 {
	if n >= 8 {
		return load8(f32At(s[:8], 0))
	}
	b := asBits(s[:n])
	var z archsimd.Int32x8
	lo, hi := z.GetLo(), z.GetHi()
	switch n {
	case 7:
		hi = hi.SetElem(2, int32(b[6]))
		fallthrough
	case 6:
		hi = hi.SetElem(1, int32(b[5]))
		fallthrough
	case 5:
		hi = hi.SetElem(0, int32(b[4]))
		fallthrough
	case 4:
		lo = lo.SetElem(3, int32(b[3]))
		fallthrough
	case 3:
		lo = lo.SetElem(2, int32(b[2]))
		fallthrough
	case 2:
		lo = lo.SetElem(1, int32(b[1]))
		fallthrough
	case 1:
		lo = lo.SetElem(0, int32(b[0]))
	}
	return int32x8(lo, hi).AsFloat32x8()
}

// store8Part stores the first n <= 8 lanes of v into s, as load8Part loads.
func store8Part(v archsimd.Float32x8, s []float32, n int) {
	if n >= 8 {
		store8(v, f32At(s[:8], 0))
		return
	}
	b := asBits(s[:n])
	lo, hi := v.AsInt32x8().GetLo(), v.AsInt32x8().GetHi()
	switch n {
	case 7:
		b[6] = uint32(hi.GetElem(2))
		fallthrough
	case 6:
		b[5] = uint32(hi.GetElem(1))
		fallthrough
	case 5:
		b[4] = uint32(hi.GetElem(0))
		fallthrough
	case 4:
		b[3] = uint32(lo.GetElem(3))
		fallthrough
	case 3:
		b[2] = uint32(lo.GetElem(2))
		fallthrough
	case 2:
		b[1] = uint32(lo.GetElem(1))
		fallthrough
	case 1:
		b[0] = uint32(lo.GetElem(0))
	}
}

// asBits views float32s as their bit patterns: copying floats as
// integers keeps Go from using SSE instructions for it.
func asBits(s []float32) []uint32 {
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// negate8 flips the sign bits (as WebAssembly's f32x4.neg: -0 stays apart from 0).
func negate8(v archsimd.Float32x8) archsimd.Float32x8 {
	return v.AsInt32x8().Xor(archsimd.BroadcastInt32x8(-1 << 31)).AsFloat32x8()
}

// exp8 is expf on each lane, the same float32 operations in the same
// order. The clamps compare and blend as expf's ifs do, passing NaN
// through (VMINPS/VMAXPS would too with x as their second operand, but
// the compiler takes Min and Max as commutative and may swap them to
// fold a load). The constants are loaded from expConst8 (VMOVUPS) rather
// than broadcast from scalars, which would take an SSE load each, slow
// while the upper halves of the ymm registers are dirty (as they are in
// a kernel's loop); measured with SiLUMul: 1.68 ns a value before, 1.39
// after.
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	c := &expConst8
	hi, lo := archsimd.LoadFloat32x8(&c[expHi]), archsimd.LoadFloat32x8(&c[expLo])
	x = hi.Merge(x, hi.Less(x))
	x = lo.Merge(x, x.Less(lo))
	magic := archsimd.LoadFloat32x8(&c[expMagicAt])
	t := x.Mul(archsimd.LoadFloat32x8(&c[expLog2eAt])).Add(magic)
	n := t.Sub(magic)
	r := x.Sub(n.Mul(archsimd.LoadFloat32x8(&c[expLn2HiAt])))
	r = r.Sub(n.Mul(archsimd.LoadFloat32x8(&c[expLn2LoAt])))
	z := r.Mul(r)
	y := r.Mul(archsimd.LoadFloat32x8(&c[expP0At])).Add(archsimd.LoadFloat32x8(&c[expP1At]))
	y = y.Mul(r).Add(archsimd.LoadFloat32x8(&c[expP2At]))
	y = y.Mul(r).Add(archsimd.LoadFloat32x8(&c[expP3At]))
	y = y.Mul(r).Add(archsimd.LoadFloat32x8(&c[expP4At]))
	y = y.Mul(r).Add(archsimd.LoadFloat32x8(&c[expP5At]))
	y = y.Mul(z).Add(r).Add(archsimd.LoadFloat32x8(&c[expOneAt]))
	bias := archsimd.LoadInt32x8((*[8]int32)(unsafe.Pointer(&c[expBiasAt])))
	pow := t.AsInt32x8().Sub(bias).ShiftAllLeft(23).AsFloat32x8()
	return y.Mul(pow)
}

// Rows of expConst8.
const (
	expHi = iota
	expLo
	expMagicAt
	expLog2eAt
	expLn2HiAt
	expLn2LoAt
	expP0At
	expP1At
	expP2At
	expP3At
	expP4At
	expP5At
	expOneAt
	expBiasAt
)

// expConst8 holds exp8's constants, each in 8 lanes; the last row is the
// integer 0x4b3fff81 (the exponent bias minus expMagic's bits).
var expConst8 = func() (c [14][8]float32) {
	for j, v := range []float32{88, -88, expMagic, cephes.Log2e, cephes.Ln2Hi, cephes.Ln2Lo, cephes.ExpP0, cephes.ExpP1, cephes.ExpP2, cephes.ExpP3, cephes.ExpP4, cephes.ExpP5, 1,
		math.Float32frombits(0x4b3fff81)} {
		for i := range c[j] {
			c[j][i] = v
		}
	}
	return c
}()

// avx2Quantize is quantizeActivationsGeneric. max|x| is the unsigned
// maximum of the bit patterns with the sign cleared (the float order for
// non-negative floats, and a NaN beats everything as in Go's max); the
// rounding is trunc(v) plus ±1 where |v - trunc(v)| >= 1/2, clamped to
// ±127, NaN lanes zeroed.
func avx2Quantize(q []int8, scales []float32, x []float32, group int) {
	boundsQuantize(q, scales, x, group)
	n8 := group &^ 7
	absMask := archsimd.BroadcastUint32x8(0x7fffffff)
	lowBytes := archsimd.LoadInt8x32(&lowBytesOfLanes)
	for g := range len(x) / group {
		xs := x[g*group : (g+1)*group]
		qs := q[g*group : (g+1)*group]
		var vmax archsimd.Uint32x8
		for i := 0; i < n8; i += 8 {
			vmax = vmax.Max(load8(f32At(xs, i)).AsUint32x8().And(absMask))
		}
		m4 := vmax.GetLo().Max(vmax.GetHi())
		m4 = m4.Max(m4.AsInt32x4().PermuteScalars(2, 3, 0, 1).AsUint32x4())
		amaxBits := max(m4.GetElem(0), m4.GetElem(1))
		for _, b := range asBits(xs[n8:]) {
			amaxBits = max(amaxBits, b&0x7fffffff)
		}
		if amaxBits == 0 {
			scales[g] = 0
			clear(qs)
			continue
		}
		// scale = amax/127 and inv = 1/scale in vector lanes, then out as bits.
		amax := archsimd.BroadcastUint32x8(amaxBits).AsFloat32x8()
		scale := amax.Div(bc8(127))
		inv := bc8(1).Div(scale)
		*(*int32)(unsafe.Pointer(&scales[g])) = scale.AsInt32x8().GetLo().GetElem(0)
		for i := 0; i < group; i += 8 {
			var v archsimd.Float32x8
			if i < n8 {
				v = load8(f32At(xs, i))
			} else {
				v = load8Part(xs[i:], group-i)
			}
			r := roundClamp127(v.Mul(inv)).AsInt8x32().PermuteOrZeroGrouped(lowBytes).AsInt32x8()
			four := [2]int32{r.GetLo().GetElem(0), r.GetHi().GetElem(0)}
			b := (*[8]int8)(unsafe.Pointer(&four))
			if i < n8 {
				*(*[8]int8)(i8At(qs, i)) = *b
				continue
			}
			copy(qs[i:], b[:group-i])
		}
	}
	archsimd.ClearAVXUpperBits()
}

// lowBytesOfLanes gathers byte 0 of each 32-bit lane into the low 4 bytes
// of each 128-bit half (VPSHUFB indices; -1 gives 0).
var lowBytesOfLanes = [32]int8{0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// roundClamp127 is roundInt8 per lane, as int32.
func roundClamp127(v archsimd.Float32x8) archsimd.Int32x8 {
	t := v.Trunc()
	frac := v.Sub(t).AsUint32x8().And(archsimd.BroadcastUint32x8(0x7fffffff)).AsFloat32x8()
	step := v.AsUint32x8().And(archsimd.BroadcastUint32x8(0x80000000)).Or(bc8(1).AsUint32x8()).AsFloat32x8()
	t = t.Add(step.Masked(frac.GreaterEqual(bc8(0.5))))
	t = bc8(-127).Max(bc8(127).Min(t))
	return t.ConvertToInt32().Masked(v.Equal(v))
}

// avx2DotF32 is dotF32Generic with the sum in 16 lanes.
func avx2DotF32(a, b []float32) float32 {
	boundsPair("DotF32", len(a), len(b))
	return math.Float32frombits(hsum8Clear(dot8(a, b, len(a))))
}

// hsum8Clear returns the bits of hsum8(v) after ClearAVXUpperBits.
//
//go:noinline
func hsum8Clear(v archsimd.Float32x8) uint32 {
	sum := hsum8(v)
	archsimd.ClearAVXUpperBits()
	return sum
}

// hsum8 returns the bits of the sum of v's lanes.
func hsum8(v archsimd.Float32x8) uint32 {
	s := v.GetLo().Add(v.GetHi())
	s = s.AddPairs(s)
	return uint32(s.AddPairs(s).AsInt32x4().GetElem(0))
}

// avx2AxpyF32 is axpyF32Generic, the same operations per element.
func avx2AxpyF32(a float32, x, y []float32) {
	boundsPair("AxpyF32", len(x), len(y))
	axpy8(bc8(a), x, y, len(x))
	archsimd.ClearAVXUpperBits()
}

// axpy8 is y[i] += a*x[i] for i < n, a in every lane.
func axpy8(a archsimd.Float32x8, x, y []float32, n int) {
	i := 0
	for ; i+8 <= n; i += 8 {
		store8(load8(f32At(y, i)).Add(a.Mul(load8(f32At(x, i)))), f32At(y, i))
	}
	if i < n {
		store8Part(load8Part(y[i:], n-i).Add(a.Mul(load8Part(x[i:], n-i))), y[i:], n-i)
	}
}

// avx2RMSNorm is rmsNormGeneric: float64 lane j of the sum of squares
// takes x[j], x[j+4], ..., as sum4's lanes do.
func avx2RMSNorm(out, x, w []float32, eps float64) {
	boundsRMSNorm(out, x, w)
	d := len(w)
	d4 := d &^ 3
	for r := range len(x) / d {
		row := x[r*d : (r+1)*d]
		var acc archsimd.Float64x4
		for i := 0; i < d4; i += 4 {
			v := archsimd.LoadFloat32x4((*[4]float32)(f32At(row, i))).ConvertToFloat64()
			acc = acc.Add(v.Mul(v))
		}
		ss := math.Float64frombits(sumLanes4Clear(acc))
		for _, v := range row[d4:] {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(ss/float64(d)+eps))
		scaleRow8(out[r*d:(r+1)*d], row, w, bc8(inv))
		archsimd.ClearAVXUpperBits()
	}
}

// sumLanes4Clear returns the bits of (l0+l2) + (l1+l3) for the lanes l of
// acc, after ClearAVXUpperBits.
//
//go:noinline
func sumLanes4Clear(acc archsimd.Float64x4) uint64 {
	half := acc.GetLo().Add(acc.GetHi())
	sum := half.AddPairs(half).AsUint64x2().GetElem(0)
	archsimd.ClearAVXUpperBits()
	return sum
}

// scaleRow8 writes out[i] = w[i] * (x[i] * inv) for i < len(w).
func scaleRow8(out, x, w []float32, inv archsimd.Float32x8) {
	d := len(w)
	i := 0
	for ; i+8 <= d; i += 8 {
		store8(load8(f32At(w, i)).Mul(load8(f32At(x, i)).Mul(inv)), f32At(out, i))
	}
	if i < d {
		store8Part(load8Part(w[i:], d-i).Mul(load8Part(x[i:], d-i).Mul(inv)), out[i:], d-i)
	}
}

// avx2SiLUMul is siluMulGeneric: gate / (1 + exp8(-gate)) * up per lane.
func avx2SiLUMul(gate, up []float32) {
	boundsPair("SiLUMul", len(gate), len(up))
	n := len(gate)
	one := bc8(1)
	i := 0
	for ; i+8 <= n; i += 8 {
		g := load8(f32At(gate, i))
		store8(g.Div(one.Add(exp8(negate8(g)))).Mul(load8(f32At(up, i))), f32At(gate, i))
	}
	if i < n {
		g := load8Part(gate[i:], n-i)
		store8Part(g.Div(one.Add(exp8(negate8(g)))).Mul(load8Part(up[i:], n-i)), gate[i:], n-i)
	}
	archsimd.ClearAVXUpperBits()
}

// avx2RoPE is ropeGeneric, the same operations per element.
func avx2RoPE(buf, cos, sin []float32, T, heads, hd int) {
	boundsRoPE(buf, cos, sin, T, heads, hd)
	half := hd / 2
	for t := range T {
		c, s := cos[t*half:][:half], sin[t*half:][:half]
		for h := range heads {
			a := buf[(t*heads+h)*hd:][:half]
			b := buf[(t*heads+h)*hd+half:][:half]
			i := 0
			for ; i+8 <= half; i += 8 {
				av, bv := load8(f32At(a, i)), load8(f32At(b, i))
				cv, sv := load8(f32At(c, i)), load8(f32At(s, i))
				store8(av.Mul(cv).Sub(bv.Mul(sv)), f32At(a, i))
				store8(bv.Mul(cv).Add(av.Mul(sv)), f32At(b, i))
			}
			if m := half - i; m > 0 {
				av, bv := load8Part(a[i:], m), load8Part(b[i:], m)
				cv, sv := load8Part(c[i:], m), load8Part(s[i:], m)
				store8Part(av.Mul(cv).Sub(bv.Mul(sv)), a[i:], m)
				store8Part(bv.Mul(cv).Add(av.Mul(sv)), b[i:], m)
			}
		}
	}
	archsimd.ClearAVXUpperBits()
}

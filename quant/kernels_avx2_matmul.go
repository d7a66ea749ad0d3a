//go:build goexperiment.simd && amd64 && !purego

package quant

import (
	"simd/archsimd"
	"unsafe"
)

// Matrix products in tiles of 4 output rows by 2 tokens, as the
// WebAssembly kernels: each weight vector loaded serves both tokens and
// each activation vector all four rows, with 8 accumulators in registers.
// Rows are the outer loop, so a tile's weight rows stay in L1 while the
// tokens stream by.

// avx2MatMulQ8 is matMulQ8Generic. The int8 products are sign-extended to
// int16 and multiplied and added in pairs into int32 (VPMADDWD), exactly;
// per group, each output's lane then takes acc += (xs*ws)*float32(sum),
// the reference's operations in its order.
func avx2MatMulQ8(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	boundsMatMulQ8(y, xq, xs, wq, ws, T, rows, cols, group, r0, r1)
	if T == 0 || r0 == r1 {
		return
	}
	G := cols / group
	o := r0
	for ; o+4 <= r1; o += 4 {
		t := 0
		for ; t+2 <= T; t += 2 {
			q8Tile4x2(y, xq, xs, wq, ws, t, o, rows, cols, group, G)
		}
		if t < T {
			q8Tile4x1(y, xq, xs, wq, ws, t, o, rows, cols, group, G)
		}
	}
	for ; o < r1; o++ {
		for t := range T {
			q8Tile1x1(y, xq, xs, wq, ws, t, o, rows, cols, group, G)
		}
	}
	archsimd.ClearAVXUpperBits()
}

// load16 sign-extends the 16 int8 at p + i to int16.
func load16(p unsafe.Pointer, i int) archsimd.Int16x16 {
	return archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(p, i))).ExtendToInt16()
}

// dotI8Tail is Σ a[i]*b[i] for i < n over the int8 at a and b.
func dotI8Tail(a, b unsafe.Pointer, n int) int32 {
	var s int32
	for i := range n {
		s += int32(*(*int8)(unsafe.Add(a, i))) * int32(*(*int8)(unsafe.Add(b, i)))
	}
	return s
}

// tail4 returns lanes r < 4: dotI8Tail(x, w + r·cols, n).
func tail4(x, w unsafe.Pointer, cols, n int) archsimd.Int32x4 {
	return archsimd.BroadcastInt32x4(dotI8Tail(x, w, n)).
		SetElem(1, dotI8Tail(x, unsafe.Add(w, cols), n)).
		SetElem(2, dotI8Tail(x, unsafe.Add(w, 2*cols), n)).
		SetElem(3, dotI8Tail(x, unsafe.Add(w, 3*cols), n))
}

// int32x8 joins two halves.
func int32x8(lo, hi archsimd.Int32x4) archsimd.Int32x8 {
	var v archsimd.Int32x8
	return v.SetLo(lo).SetHi(hi)
}

// sum4Rows returns lane j < 4: the sum of the 8 lanes of a_j, in lanes
// 0-3 of the low half and again of the high half, split (low half: lanes
// 0-3 of each a_j; high half: lanes 4-7).
func sum4Rows(a0, a1, a2, a3 archsimd.Int32x8) archsimd.Int32x8 {
	return a0.AddPairsGrouped(a1).AddPairsGrouped(a2.AddPairsGrouped(a3))
}

// gather8 returns the float32 at p, p+stride, p+2·stride, p+3·stride
// (bytes) in lanes 0-3 and again in lanes 4-7. The values travel through
// integer registers: Go would load a float32 with SSE's MOVSS.
func gather8(p unsafe.Pointer, stride int) archsimd.Float32x8 {
	w := archsimd.BroadcastInt32x4(*(*int32)(p)).
		SetElem(1, *(*int32)(unsafe.Add(p, stride))).
		SetElem(2, *(*int32)(unsafe.Add(p, 2*stride))).
		SetElem(3, *(*int32)(unsafe.Add(p, 3*stride)))
	return int32x8(w, w).AsFloat32x8()
}

// bothHalves returns lanes 0-3 of v + lanes 4-7 of v, in both halves.
func bothHalves(v archsimd.Int32x8) archsimd.Int32x8 {
	return v.Add(v.Select128FromPair(1, 0, v))
}

// q8Tile4x2 computes y for rows o..o+3 and tokens t, t+1.
func q8Tile4x2(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, t, o, rows, cols, group, G int) {
	x0p, w0p := i8At(xq, t*cols), i8At(wq, o*cols)
	x1p := unsafe.Add(x0p, cols)
	xs0p, wsp := f32At(xs, t*G), f32At(ws, o*G)
	n16 := group &^ 15
	var f archsimd.Float32x8 // lanes: rows o..o+3 of token t, then of token t+1
	for g := range G {
		off := g * group
		s := q8Sums4x2(unsafe.Add(x0p, off), unsafe.Add(w0p, off), cols, n16)
		if n16 < group {
			i, n := off+n16, group-n16
			s = s.Add(int32x8(tail4(unsafe.Add(x0p, i), unsafe.Add(w0p, i), cols, n), tail4(unsafe.Add(x1p, i), unsafe.Add(w0p, i), cols, n)))
		}
		var xsv archsimd.Float32x8
		xsv = xsv.SetLo(archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(xs0p, 4*g)))).
			SetHi(archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(xs0p, 4*(G+g)))))
		f = f.Add(xsv.Mul(gather8(unsafe.Add(wsp, 4*g), 4*G)).Mul(s.ConvertToFloat32()))
	}
	f.GetLo().Store((*[4]float32)(f32At(y, t*rows+o)))
	f.GetHi().Store((*[4]float32)(f32At(y, (t+1)*rows+o)))
}

// q8Sums4x2 returns the exact int32 sums Σ_{i<n} x_t[i]·w_r[i] for the
// 4 weight rows w_r at w + r·cols and the 2 activation rows x_t at
// x + t·cols, n a multiple of 16, in lanes 4t + r. It is the hot loop,
// kept apart so that the 8 accumulators have the registers to themselves.
//
//go:noinline
func q8Sums4x2(x, w unsafe.Pointer, cols, n int) archsimd.Int32x8 {
	var a00, a01, a10, a11, a20, a21, a30, a31 archsimd.Int32x8
	x1, w1, w2, w3 := unsafe.Add(x, cols), unsafe.Add(w, cols), unsafe.Add(w, 2*cols), unsafe.Add(w, 3*cols)
	for i := 0; i < n; i += 16 { // pointers only ever inside the rows (the garbage collector's rule)
		x0v, x1v := load16(x, i), load16(x1, i)
		wv := load16(w, i)
		a00, a01 = a00.Add(wv.DotProductPairs(x0v)), a01.Add(wv.DotProductPairs(x1v))
		wv = load16(w1, i)
		a10, a11 = a10.Add(wv.DotProductPairs(x0v)), a11.Add(wv.DotProductPairs(x1v))
		wv = load16(w2, i)
		a20, a21 = a20.Add(wv.DotProductPairs(x0v)), a21.Add(wv.DotProductPairs(x1v))
		wv = load16(w3, i)
		a30, a31 = a30.Add(wv.DotProductPairs(x0v)), a31.Add(wv.DotProductPairs(x1v))
	}
	h0, h1 := sum4Rows(a00, a10, a20, a30), sum4Rows(a01, a11, a21, a31)
	return h0.Select128FromPair(0, 2, h1).Add(h0.Select128FromPair(1, 3, h1))
}

// q8Tile4x1 computes y for rows o..o+3 and token t. Its vectors hold the
// four rows in both halves (8-lane values: Go moves 4-lane ones with SSE).
func q8Tile4x1(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, t, o, rows, cols, group, G int) {
	x0p, w0p := i8At(xq, t*cols), i8At(wq, o*cols)
	w1p, w2p, w3p := unsafe.Add(w0p, cols), unsafe.Add(w0p, 2*cols), unsafe.Add(w0p, 3*cols)
	xs0p, wsp := f32At(xs, t*G), f32At(ws, o*G)
	n16 := group &^ 15
	var f archsimd.Float32x8
	for g := range G {
		off := g * group
		var a0, a1, a2, a3 archsimd.Int32x8
		for i := off; i < off+n16; i += 16 {
			x0 := load16(x0p, i)
			a0 = a0.Add(load16(w0p, i).DotProductPairs(x0))
			a1 = a1.Add(load16(w1p, i).DotProductPairs(x0))
			a2 = a2.Add(load16(w2p, i).DotProductPairs(x0))
			a3 = a3.Add(load16(w3p, i).DotProductPairs(x0))
		}
		s := bothHalves(sum4Rows(a0, a1, a2, a3))
		if n16 < group {
			i, n := off+n16, group-n16
			t4 := tail4(unsafe.Add(x0p, i), unsafe.Add(w0p, i), cols, n)
			s = s.Add(int32x8(t4, t4))
		}
		xsv := splat8(unsafe.Add(xs0p, 4*g))
		f = f.Add(xsv.Mul(gather8(unsafe.Add(wsp, 4*g), 4*G)).Mul(s.ConvertToFloat32()))
	}
	f.GetLo().Store((*[4]float32)(f32At(y, t*rows+o)))
}

// q8Tile1x1 computes y[t*rows+o], the float work in (identical) vector lanes.
func q8Tile1x1(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, t, o, rows, cols, group, G int) {
	x0p, w0p := i8At(xq, t*cols), i8At(wq, o*cols)
	n16 := group &^ 15
	var f archsimd.Float32x8
	for g := range G {
		off := g * group
		var a archsimd.Int32x8
		for i := off; i < off+n16; i += 16 {
			a = a.Add(load16(w0p, i).DotProductPairs(load16(x0p, i)))
		}
		h := a.GetLo().Add(a.GetHi())
		h = h.AddPairs(h)
		s := h.AddPairs(h).GetElem(0)
		if n16 < group {
			s += dotI8Tail(unsafe.Add(x0p, off+n16), unsafe.Add(w0p, off+n16), group-n16)
		}
		xsv := splat8(f32At(xs, t*G+g))
		f = f.Add(xsv.Mul(splat8(f32At(ws, o*G+g))).Mul(archsimd.BroadcastInt32x8(s).ConvertToFloat32()))
	}
	*(*int32)(f32At(y, t*rows+o)) = f.AsInt32x8().GetLo().GetElem(0)
}

// avx2MatMulF32 is matMulF32Generic with each dot product summed in 8
// lanes (plus a tail), so results differ from the reference by rounding.
func avx2MatMulF32(y, x, w []float32, T, rows, cols, r0, r1 int) {
	boundsMatMulF32(y, x, w, T, rows, cols, r0, r1)
	if T == 0 || r0 == r1 {
		return
	}
	o := r0
	for ; o+4 <= r1; o += 4 {
		t := 0
		for ; t+2 <= T; t += 2 {
			f32Tile4x2(y, x, w, t, o, rows, cols)
		}
		if t < T {
			f32Tile4x1(y, x, w, t, o, rows, cols)
		}
	}
	for ; o < r1; o++ {
		for t := range T {
			*(*uint32)(f32At(y, t*rows+o)) = hsum8(dot8(x[t*cols:], w[o*cols:], cols))
		}
	}
	archsimd.ClearAVXUpperBits()
}

// dot8 returns lanes whose sum is Σ_{i<n} a[i]*b[i].
func dot8(a, b []float32, n int) archsimd.Float32x8 {
	var s0, s1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		s0 = s0.Add(load8(f32At(a, i)).Mul(load8(f32At(b, i))))
		s1 = s1.Add(load8(f32At(a, i+8)).Mul(load8(f32At(b, i+8))))
	}
	for ; i < n; i += 8 {
		m := min(8, n-i)
		s0 = s0.Add(load8Part(a[i:], m).Mul(load8Part(b[i:], m)))
	}
	return s0.Add(s1)
}

// sum4RowsF32 is sum4Rows for float32 lanes.
func sum4RowsF32(a0, a1, a2, a3 archsimd.Float32x8) archsimd.Float32x8 {
	return a0.AddPairsGrouped(a1).AddPairsGrouped(a2.AddPairsGrouped(a3))
}

// f32Tile4x2 computes y for rows o..o+3 and tokens t, t+1.
func f32Tile4x2(y, x, w []float32, t, o, rows, cols int) {
	x0, x1 := x[t*cols:][:cols], x[(t+1)*cols:][:cols]
	w0, w1, w2, w3 := w[o*cols:][:cols], w[(o+1)*cols:][:cols], w[(o+2)*cols:][:cols], w[(o+3)*cols:][:cols]
	var a00, a01, a10, a11, a20, a21, a30, a31 archsimd.Float32x8
	i := 0
	for ; i+8 <= cols; i += 8 {
		xv0, xv1 := load8(f32At(x0, i)), load8(f32At(x1, i))
		wv := load8(f32At(w0, i))
		a00, a01 = a00.Add(wv.Mul(xv0)), a01.Add(wv.Mul(xv1))
		wv = load8(f32At(w1, i))
		a10, a11 = a10.Add(wv.Mul(xv0)), a11.Add(wv.Mul(xv1))
		wv = load8(f32At(w2, i))
		a20, a21 = a20.Add(wv.Mul(xv0)), a21.Add(wv.Mul(xv1))
		wv = load8(f32At(w3, i))
		a30, a31 = a30.Add(wv.Mul(xv0)), a31.Add(wv.Mul(xv1))
	}
	if m := cols - i; m > 0 {
		xv0, xv1 := load8Part(x0[i:], m), load8Part(x1[i:], m)
		wv := load8Part(w0[i:], m)
		a00, a01 = a00.Add(wv.Mul(xv0)), a01.Add(wv.Mul(xv1))
		wv = load8Part(w1[i:], m)
		a10, a11 = a10.Add(wv.Mul(xv0)), a11.Add(wv.Mul(xv1))
		wv = load8Part(w2[i:], m)
		a20, a21 = a20.Add(wv.Mul(xv0)), a21.Add(wv.Mul(xv1))
		wv = load8Part(w3[i:], m)
		a30, a31 = a30.Add(wv.Mul(xv0)), a31.Add(wv.Mul(xv1))
	}
	h0, h1 := sum4RowsF32(a00, a10, a20, a30), sum4RowsF32(a01, a11, a21, a31)
	s := h0.Select128FromPair(0, 2, h1).Add(h0.Select128FromPair(1, 3, h1))
	s.GetLo().Store((*[4]float32)(f32At(y, t*rows+o)))
	s.GetHi().Store((*[4]float32)(f32At(y, (t+1)*rows+o)))
}

// f32Tile4x1 computes y for rows o..o+3 and token t.
func f32Tile4x1(y, x, w []float32, t, o, rows, cols int) {
	h := sum4RowsF32(dot8(x[t*cols:], w[o*cols:], cols), dot8(x[t*cols:], w[(o+1)*cols:], cols),
		dot8(x[t*cols:], w[(o+2)*cols:], cols), dot8(x[t*cols:], w[(o+3)*cols:], cols))
	h.GetLo().Add(h.GetHi()).Store((*[4]float32)(f32At(y, t*rows+o)))
}

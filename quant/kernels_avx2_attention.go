//go:build goexperiment.simd && amd64 && !purego

package quant

import (
	"simd/archsimd"
	"unsafe"
)

// avx2Attention is attentionGeneric with its exact operation order. Kᵀ
// is laid out first, so that both products are sums of outer products
// whose lanes add in the reference's order: a score lane p adds
// q[i]·k[p][i] for i = 0, 1, ...; an output lane j adds e[p]·v[p][j] for
// p = 0, 1, .... Queries go four at a time, so each key and value vector
// loaded serves four; their queries and weights are interleaved first
// (four values per i or p), so that the hot loops step one pointer.
//
// scores holds, in this order: the 4 score rows (4T), the interleaved
// weights (4T), the interleaved queries (4·hd) and Kᵀ (hd·T).
func avx2Attention(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int, scale float32) {
	boundsAttention(out, ldo, q, ldq, k, v, ldkv, scores, nq, T, hd)
	if nq == 0 {
		return
	}
	s, ei := scores[:4*T], scores[4*T:][:4*T]
	qi, kt := scores[8*T:][:4*hd], scores[8*T+4*hd:][:hd*T]
	transposeKeys(kt, k, ldkv, T, hd)
	sc := bc8(scale)
	var inv [4]float32
	u := 0
	for ; u+4 <= nq; u += 4 {
		interleave4(qi, q[u*ldq:], ldq, hd)
		scores4(s, qi, kt, T, hd, sc)
		for j := range 4 {
			inv[j] = 1 / expShift8(s[j*T:][:T])
		}
		interleave4(ei, s, T, T)
		values4(out[u*ldo:], ldo, ei, T, v, ldkv, hd, &inv)
	}
	for ; u < nq; u++ {
		scores1(s, q[u*ldq:], kt, T, hd, sc)
		inv[0] = 1 / expShift8(s[:T])
		values1(out[u*ldo:], s, T, v, ldkv, hd, inv[0])
	}
	archsimd.ClearAVXUpperBits()
}

// transposeKeys writes kt[i*T+p] = k[p*ldkv+i] for p < T, i < hd.
func transposeKeys(kt, k []float32, ldkv, T, hd int) {
	src, dst := asBits(k), asBits(kt)
	for p := range T {
		for i, b := range src[p*ldkv:][:hd] {
			dst[i*T+p] = b
		}
	}
}

// interleave4 writes dst[4i+j] = src[j*ld+i] for j < 4, i < n.
func interleave4(dst, src []float32, ld, n int) {
	d, r0, r1, r2, r3 := asBits(dst)[:4*n], asBits(src)[:n], asBits(src[ld:])[:n], asBits(src[2*ld:])[:n], asBits(src[3*ld:])[:n]
	for i := range n {
		d[4*i], d[4*i+1], d[4*i+2], d[4*i+3] = r0[i], r1[i], r2[i], r3[i]
	}
}

// scores4 writes s[j*T+p] = (Σ_i qi[4i+j]·kt[i*T+p]) · scale for j < 4,
// p < T, scale in every lane of sc.
func scores4(s, qi, kt []float32, T, hd int, sc archsimd.Float32x8) {
	p := 0
	for ; p+16 <= T; p += 16 {
		scoresBlock(f32At(s, p), 4*T, f32At(qi, 0), f32At(kt, p), 4*T, hd, sc)
	}
	for ; p < T; p += 8 {
		m := min(8, T-p)
		var a0, a1, a2, a3 archsimd.Float32x8
		for i := range hd {
			kv := load8Part(kt[i*T+p:], m)
			a0 = a0.Add(splat8(f32At(qi, 4*i)).Mul(kv))
			a1 = a1.Add(splat8(f32At(qi, 4*i+1)).Mul(kv))
			a2 = a2.Add(splat8(f32At(qi, 4*i+2)).Mul(kv))
			a3 = a3.Add(splat8(f32At(qi, 4*i+3)).Mul(kv))
		}
		store8Part(a0.Mul(sc), s[p:], m)
		store8Part(a1.Mul(sc), s[T+p:], m)
		store8Part(a2.Mul(sc), s[2*T+p:], m)
		store8Part(a3.Mul(sc), s[3*T+p:], m)
	}
}

// scoresBlock is scores4 for the 16 lanes p..p+15: s, kt point at p's
// column, lds and ldkt are their row strides in bytes, qi at the
// interleaved queries. It is the hot loop, kept apart so that its 8
// accumulators have the registers to themselves.
//
//go:noinline
func scoresBlock(s unsafe.Pointer, lds int, qi, kt unsafe.Pointer, ldkt, hd int, sc archsimd.Float32x8) {
	var a00, a01, a10, a11, a20, a21, a30, a31 archsimd.Float32x8
	for i := range hd { // pointers only ever inside the buffers (the garbage collector's rule)
		k := unsafe.Add(kt, i*ldkt)
		k0, k1 := load8(k), load8(unsafe.Add(k, 32))
		q := unsafe.Add(qi, 16*i)
		b := splat8(q)
		a00, a01 = a00.Add(b.Mul(k0)), a01.Add(b.Mul(k1))
		b = splat8(unsafe.Add(q, 4))
		a10, a11 = a10.Add(b.Mul(k0)), a11.Add(b.Mul(k1))
		b = splat8(unsafe.Add(q, 8))
		a20, a21 = a20.Add(b.Mul(k0)), a21.Add(b.Mul(k1))
		b = splat8(unsafe.Add(q, 12))
		a30, a31 = a30.Add(b.Mul(k0)), a31.Add(b.Mul(k1))
	}
	store8(a00.Mul(sc), s)
	store8(a01.Mul(sc), unsafe.Add(s, 32))
	s = unsafe.Add(s, lds)
	store8(a10.Mul(sc), s)
	store8(a11.Mul(sc), unsafe.Add(s, 32))
	s = unsafe.Add(s, lds)
	store8(a20.Mul(sc), s)
	store8(a21.Mul(sc), unsafe.Add(s, 32))
	s = unsafe.Add(s, lds)
	store8(a30.Mul(sc), s)
	store8(a31.Mul(sc), unsafe.Add(s, 32))
}

// scores1 is scores4 for one query.
func scores1(s, q, kt []float32, T, hd int, sc archsimd.Float32x8) {
	q0 := q[:hd]
	for p := 0; p < T; p += 16 {
		m0, m1 := min(8, T-p), min(8, max(0, T-p-8))
		var a0, a1 archsimd.Float32x8
		for i := range hd {
			b := splat8(f32At(q0, i))
			a0 = a0.Add(b.Mul(load8Part(kt[i*T+p:], m0)))
			if m1 > 0 {
				a1 = a1.Add(b.Mul(load8Part(kt[i*T+p+8:], m1)))
			}
		}
		store8Part(a0.Mul(sc), s[p:], m0)
		if m1 > 0 {
			store8Part(a1.Mul(sc), s[p+8:], m1)
		}
	}
}

// expShift8 is expShiftGeneric: x[p] = expf(x[p] - max x), returning
// their sum in sum4's order (a 4-lane accumulator takes the low, then the
// high half of each 8-lane vector).
func expShift8(x []float32) float32 {
	n := len(x)
	n8, n4 := n&^7, n&^3
	vm := splat8(f32At(x, 0))
	for i := 0; i < n8; i += 8 {
		vm = vm.Max(load8(f32At(x, i)))
	}
	var l [8]float32
	vm.Store(&l)
	archsimd.ClearAVXUpperBits()
	mx := x[0]
	for _, v := range l {
		mx = max(mx, v)
	}
	for _, v := range x[n8:] {
		mx = max(mx, v)
	}

	// Lanes 0-3 of acc are sum4's lanes (lanes 4-7 collect values
	// nobody reads: an 8-lane accumulator keeps Go from moving it with SSE).
	m := bc8(mx)
	var acc archsimd.Float32x8
	for i := 0; i < n8; i += 8 {
		e := exp8(load8(f32At(x, i)).Sub(m))
		store8(e, f32At(x, i))
		acc = acc.Add(e).Add(e.Select128FromPair(1, 0, e))
	}
	if n8 < n {
		e := exp8(load8Part(x[n8:], n-n8).Sub(m))
		store8Part(e, x[n8:], n-n8)
		if n4 > n8 {
			acc = acc.Add(e)
		}
	}
	acc.Store(&l)
	archsimd.ClearAVXUpperBits()
	sum := (l[0] + l[2]) + (l[1] + l[3])
	for _, v := range x[n4:] {
		sum += v
	}
	return sum
}

// values4 writes out[j*ldo+c] = (Σ_p ei[4p+j]·v[p*ldkv+c]) · inv[j] for j < 4, c < hd.
func values4(out []float32, ldo int, ei []float32, T int, v []float32, ldkv, hd int, inv *[4]float32) {
	c := 0
	for ; c+16 <= hd; c += 16 {
		valuesBlock(f32At(out, c), 4*ldo, f32At(ei, 0), T, f32At(v, c), 4*ldkv, inv)
	}
	for ; c < hd; c += 8 {
		m := min(8, hd-c)
		var a0, a1, a2, a3 archsimd.Float32x8
		for p := range T {
			vv := load8Part(v[p*ldkv+c:], m)
			a0 = a0.Add(splat8(f32At(ei, 4*p)).Mul(vv))
			a1 = a1.Add(splat8(f32At(ei, 4*p+1)).Mul(vv))
			a2 = a2.Add(splat8(f32At(ei, 4*p+2)).Mul(vv))
			a3 = a3.Add(splat8(f32At(ei, 4*p+3)).Mul(vv))
		}
		store8Part(a0.Mul(bc8(inv[0])), out[c:], m)
		store8Part(a1.Mul(bc8(inv[1])), out[ldo+c:], m)
		store8Part(a2.Mul(bc8(inv[2])), out[2*ldo+c:], m)
		store8Part(a3.Mul(bc8(inv[3])), out[3*ldo+c:], m)
	}
}

// valuesBlock is values4 for the 16 columns c..c+15: out and v point at
// c's column, ldo and ldv are their row strides in bytes, ei at the
// interleaved weights. The hot loop, kept apart as scoresBlock.
//
//go:noinline
func valuesBlock(out unsafe.Pointer, ldo int, ei unsafe.Pointer, T int, v unsafe.Pointer, ldv int, inv *[4]float32) {
	var a00, a01, a10, a11, a20, a21, a30, a31 archsimd.Float32x8
	for p := range T { // pointers only ever inside the buffers, as in scoresBlock
		vp := unsafe.Add(v, p*ldv)
		v0, v1 := load8(vp), load8(unsafe.Add(vp, 32))
		e := unsafe.Add(ei, 16*p)
		b := splat8(e)
		a00, a01 = a00.Add(b.Mul(v0)), a01.Add(b.Mul(v1))
		b = splat8(unsafe.Add(e, 4))
		a10, a11 = a10.Add(b.Mul(v0)), a11.Add(b.Mul(v1))
		b = splat8(unsafe.Add(e, 8))
		a20, a21 = a20.Add(b.Mul(v0)), a21.Add(b.Mul(v1))
		b = splat8(unsafe.Add(e, 12))
		a30, a31 = a30.Add(b.Mul(v0)), a31.Add(b.Mul(v1))
	}
	b := bc8(inv[0])
	store8(a00.Mul(b), out)
	store8(a01.Mul(b), unsafe.Add(out, 32))
	out, b = unsafe.Add(out, ldo), bc8(inv[1])
	store8(a10.Mul(b), out)
	store8(a11.Mul(b), unsafe.Add(out, 32))
	out, b = unsafe.Add(out, ldo), bc8(inv[2])
	store8(a20.Mul(b), out)
	store8(a21.Mul(b), unsafe.Add(out, 32))
	out, b = unsafe.Add(out, ldo), bc8(inv[3])
	store8(a30.Mul(b), out)
	store8(a31.Mul(b), unsafe.Add(out, 32))
}

// values1 is values4 for one query.
func values1(out, e []float32, T int, v []float32, ldkv, hd int, inv float32) {
	iv := bc8(inv)
	for c := 0; c < hd; c += 16 {
		m0, m1 := min(8, hd-c), min(8, max(0, hd-c-8))
		var a0, a1 archsimd.Float32x8
		for p := range T {
			b := splat8(f32At(e, p))
			a0 = a0.Add(b.Mul(load8Part(v[p*ldkv+c:], m0)))
			if m1 > 0 {
				a1 = a1.Add(b.Mul(load8Part(v[p*ldkv+c+8:], m1)))
			}
		}
		store8Part(a0.Mul(iv), out[c:], m0)
		if m1 > 0 {
			store8Part(a1.Mul(iv), out[c+8:], m1)
		}
	}
}

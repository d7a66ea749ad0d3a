//go:build goexperiment.simd && amd64 && !purego

package linalg

import (
	"simd/archsimd"
	"unsafe"

	"unmask/internal/cephes"
)

// Every vector routine ends with ClearAVXUpperBits (VZEROUPPER): scalar Go
// float code is SSE-encoded, and on this kind of CPU each SSE instruction
// that runs while the upper halves of the ymm registers are dirty is many
// times slower (math.Exp ran 20x slower after a product; packing slowed
// likewise). For the same reason the pointwise routines turn their scalar
// arguments into vectors first and never touch a scalar float again before
// ClearAVXUpperBits (the compiler would move it with SSE instructions),
// and handle tails with masked loads instead of scalar loops.

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		mulImpl = mulSIMD
		softmaxImpl = softmaxSIMD
		expScaledImpl = expScaledSIMD
		scaleImpl = scaleSIMD
		maxImpl = maxSIMD
		siluMulImpl = siluMulSIMD
		siluMulBackImpl = siluMulBackSIMD
		path = "simd"
	}
}

// Blocking of the packed product (BLIS style): a micro-tile of C is
// mr×nr (8 of the 16 ymm registers hold it), A is packed mc×kc at a time
// (fits L2), B in nr-wide panels of kc rows (one panel fits L1).
const (
	mr = 4
	nr = 16
	kc = 256
	mc = 24 * mr
)

// kernel4x16 and packA's four-row copy spell out mr = 4 and nr = 16 (a
// literal of four values would silently zero-fill a wider panel): this
// fails to compile if the blocking changes without them.
var (
	_ = [1]struct{}{}[mr-4]
	_ = [1]struct{}{}[nr-16]
)

// mulSIMD computes the same as mulGeneric with AVX2 FMA micro-kernels on
// packed copies of A and B. Sums run in a different order, so results
// differ from the reference by rounding only.
func mulSIMD(ws *Workspace, c, a, b View, accumulate bool) {
	M, N, K := c.Rows, c.Cols, a.Cols
	if K == 0 {
		if !accumulate {
			for i := range M {
				clear(c.Data[i*c.RowStride:][:N])
			}
		}
		return
	}
	panelsN := (N + nr - 1) / nr
	ws.reserve(mc*kc, panelsN*nr*kc)
	var tile [mr * nr]float32
	for k0 := 0; k0 < K; k0 += kc {
		kb := min(kc, K-k0)
		packB(ws.b, b, k0, kb, N)
		acc := accumulate || k0 > 0
		for i0 := 0; i0 < M; i0 += mc {
			mb := min(mc, M-i0)
			packA(ws.a, a, i0, mb, k0, kb)
			for jp := range panelsN {
				j0 := jp * nr
				nb := min(nr, N-j0)
				bp := ws.b[jp*nr*kb:][:nr*kb]
				for ir := 0; ir < mb; ir += mr {
					rb := min(mr, mb-ir)
					ap := ws.a[ir*kb:][:mr*kb]
					cOff := (i0+ir)*c.RowStride + j0
					if rb == mr && nb == nr {
						kernel4x16(kb, ap, bp, c.Data[cOff:], c.RowStride, acc)
						continue
					}
					// Edge tile: compute the full tile aside, keep the valid part.
					kernel4x16(kb, ap, bp, tile[:], nr, false)
					for r := range rb {
						crow := c.Data[cOff+r*c.RowStride:][:nb]
						t := tile[r*nr:][:nb]
						if acc {
							for j := range crow {
								crow[j] += t[j]
							}
						} else {
							copy(crow, t)
						}
					}
				}
			}
		}
	}
}

// packA copies A rows [i0, i0+mb) × columns [k0, k0+kb) as micro-panels of
// mr rows, each stored k-major (mr values per k), zero-padding short panels.
func packA(dst []float32, a View, i0, mb, k0, kb int) {
	for ir := 0; ir < mb; ir += mr {
		p := dst[ir*kb:][:mr*kb]
		rb := min(mr, mb-ir)
		if rb == mr && a.RowStride == 1 {
			// A transposed (as in dW = dYᵀ·X): a micro-panel's values at
			// one k lie side by side.
			src := a.Data[(i0+ir)+k0*a.ColStride:]
			for k := range kb {
				*(*[mr]float32)(p[k*mr:]) = *(*[mr]float32)(src[k*a.ColStride:])
			}
			continue
		}
		if rb == mr && a.ColStride == 1 {
			// Four rows read side by side, each k's values written at once.
			at := (i0+ir)*a.RowStride + k0
			r0, r1 := a.Data[at:][:kb], a.Data[at+a.RowStride:][:kb]
			r2, r3 := a.Data[at+2*a.RowStride:][:kb], a.Data[at+3*a.RowStride:][:kb]
			for k := range kb {
				*(*[mr]float32)(p[k*mr:]) = [mr]float32{r0[k], r1[k], r2[k], r3[k]}
			}
			continue
		}
		for r := range mr {
			if r >= rb {
				for k := range kb {
					p[k*mr+r] = 0
				}
				continue
			}
			src := a.Data[(i0+ir+r)*a.RowStride+k0*a.ColStride:]
			if a.ColStride == 1 {
				src = src[:kb]
				for k, v := range src {
					p[k*mr+r] = v
				}
				continue
			}
			for k := range kb {
				p[k*mr+r] = src[k*a.ColStride]
			}
		}
	}
}

// packB copies B rows [k0, k0+kb) × all N columns as panels of nr columns,
// each stored k-major (nr values per k), zero-padding the last panel.
func packB(dst []float32, b View, k0, kb, N int) {
	for j0 := 0; j0 < N; j0 += nr {
		p := dst[j0*kb:][:nr*kb]
		nb := min(nr, N-j0)
		for k := range kb {
			row := p[k*nr:][:nr]
			src := b.Data[(k0+k)*b.RowStride+j0*b.ColStride:]
			if b.ColStride == 1 {
				copy(row, src[:nb])
			} else {
				for j := range nb {
					row[j] = src[j*b.ColStride]
				}
			}
			clear(row[nb:])
		}
	}
}

// kernel4x16 computes the 4×16 tile C = [C +] Ap·Bp over kb steps of k,
// where ap holds 4 values per k and bp 16. c holds the tile's rows ldc
// apart. Four rows keep the eight accumulators, both B vectors and the
// broadcasts in registers: larger tiles spill accumulators to the stack.
func kernel4x16(kb int, ap, bp, c []float32, ldc int, acc bool) {
	_ = ap[mr*kb-1]
	_ = bp[nr*kb-1]
	_ = c[3*ldc+15]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	if acc {
		c00, c01 = load8(c[0:]), load8(c[8:])
		c10, c11 = load8(c[ldc:]), load8(c[ldc+8:])
		c20, c21 = load8(c[2*ldc:]), load8(c[2*ldc+8:])
		c30, c31 = load8(c[3*ldc:]), load8(c[3*ldc+8:])
	}
	// The panel pointers step by one k at a time (computing each address
	// from the bases made the loop a fifth slower), and never past the
	// last k: checkptr refuses pointers outside the allocation.
	pa := unsafe.Pointer(unsafe.SliceData(ap))
	pb := unsafe.Pointer(unsafe.SliceData(bp))
	for k := 0; ; {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(pb))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 32)))
		a := archsimd.BroadcastFloat32x8(*(*float32)(pa))
		c00 = a.MulAdd(b0, c00)
		c01 = a.MulAdd(b1, c01)
		a = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 4)))
		c10 = a.MulAdd(b0, c10)
		c11 = a.MulAdd(b1, c11)
		a = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 8)))
		c20 = a.MulAdd(b0, c20)
		c21 = a.MulAdd(b1, c21)
		a = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 12)))
		c30 = a.MulAdd(b0, c30)
		c31 = a.MulAdd(b1, c31)
		if k++; k == kb {
			break
		}
		pa, pb = unsafe.Add(pa, 4*mr), unsafe.Add(pb, 4*nr)
	}
	c00.StoreSlice(c[0:])
	c01.StoreSlice(c[8:])
	c10.StoreSlice(c[ldc:])
	c11.StoreSlice(c[ldc+8:])
	c20.StoreSlice(c[2*ldc:])
	c21.StoreSlice(c[2*ldc+8:])
	c30.StoreSlice(c[3*ldc:])
	c31.StoreSlice(c[3*ldc+8:])
	archsimd.ClearAVXUpperBits()
}

func load8(s []float32) archsimd.Float32x8 { return archsimd.LoadFloat32x8Slice(s) }

func bc(v float32) archsimd.Float32x8 { return archsimd.BroadcastFloat32x8(v) }

// exp8 is Exp on eight lanes, with fused multiply-adds.
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(bc(expLo)).Min(bc(expHi))
	n := x.Mul(bc(cephes.Log2e)).RoundToEven()
	r := n.MulAdd(bc(-cephes.Ln2Hi), x)
	r = n.MulAdd(bc(-cephes.Ln2Lo), r)
	p := bc(cephes.ExpP0).MulAdd(r, bc(cephes.ExpP1))
	p = p.MulAdd(r, bc(cephes.ExpP2))
	p = p.MulAdd(r, bc(cephes.ExpP3))
	p = p.MulAdd(r, bc(cephes.ExpP4))
	p = p.MulAdd(r, bc(cephes.ExpP5))
	p = p.Mul(r).MulAdd(r, r).Add(bc(1))
	pow := n.ConvertToInt32().Add(archsimd.BroadcastInt32x8(127)).ShiftAllLeft(23).AsFloat32x8()
	return p.Mul(pow)
}

// tailMasks[r:r+8] selects the last r lanes of a vector.
var tailMasks = [16]int32{0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1}

func lastLanes(r int) archsimd.Mask32x8 {
	return archsimd.LoadInt32x8Slice(tailMasks[r : r+8]).ToMask()
}

// Tails: a slice of n >= 8 values whose length is not a multiple of 8
// ends with one more vector over its last eight values, of which only the
// last n%8 lanes are kept (masked store; masked out of sums). Slices of
// fewer than eight values go to the references before any vector code.

// expScaledSIMD sets dst[i] = Exp(scale·src[i] - shift) and returns the sum.
func expScaledSIMD(dst, src []float32, scale, shift float32) float32 {
	n := len(src)
	if n < 8 {
		return expScaledGeneric(dst, src, scale, shift)
	}
	dst = dst[:n]
	sc, negShift := bc(scale), bc(-shift)
	var acc archsimd.Float32x8
	n8 := n &^ 7
	for i := 0; i < n8; i += 8 {
		e := exp8(load8(src[i:]).MulAdd(sc, negShift))
		e.StoreSlice(dst[i:])
		acc = acc.Add(e)
	}
	if r := n - n8; r > 0 {
		m := lastLanes(r)
		e := exp8(load8(src[n-8:]).MulAdd(sc, negShift)).Masked(m)
		e.StoreMasked((*[8]float32)(dst[n-8:]), m)
		acc = acc.Add(e)
	}
	var a [8]float32
	acc.Store(&a)
	archsimd.ClearAVXUpperBits()
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// scaleSIMD multiplies x by s in place.
func scaleSIMD(x []float32, s float32) {
	n := len(x)
	if n < 8 {
		scaleGeneric(x, s)
		return
	}
	v := bc(s)
	n8 := n &^ 7
	for i := 0; i < n8; i += 8 {
		load8(x[i:]).Mul(v).StoreSlice(x[i:])
	}
	if r := n - n8; r > 0 {
		load8(x[n-8:]).Mul(v).StoreMasked((*[8]float32)(x[n-8:]), lastLanes(r))
	}
	archsimd.ClearAVXUpperBits()
}

func softmaxSIMD(x []float32, scale float32) {
	// scale > 0, so max(scale·x) = scale·max(x).
	sum := expScaledSIMD(x, x, scale, scale*maxSIMD(x))
	scaleSIMD(x, 1/sum)
}

// maxSIMD covers a tail by re-reading the last eight elements (max does
// not mind seeing some twice).
func maxSIMD(x []float32) float32 {
	n := len(x)
	if n < 8 {
		return maxGeneric(x)
	}
	acc := load8(x[n-8:])
	for i := 0; i+8 <= n; i += 8 {
		acc = acc.Max(load8(x[i:]))
	}
	var a [8]float32
	acc.Store(&a)
	archsimd.ClearAVXUpperBits()
	return max(max(max(a[0], a[1]), max(a[2], a[3])), max(max(a[4], a[5]), max(a[6], a[7])))
}

// siluMulSIMD computes act = g·σ(g)·up, σ(g) = 1/(1+e^-g).
func siluMulSIMD(act, gate, up []float32) {
	n := len(act)
	if n < 8 {
		siluMulGeneric(act, gate, up)
		return
	}
	one := bc(1)
	var zero archsimd.Float32x8
	n8 := n &^ 7
	for i := 0; i < n+7; i += 8 {
		at, full := i, true
		if i >= n8 {
			if i >= n {
				break
			}
			at, full = n-8, false
		}
		g := load8(gate[at:])
		v := g.Mul(one.Div(one.Add(exp8(zero.Sub(g))))).Mul(load8(up[at:]))
		if full {
			v.StoreSlice(act[at:])
		} else {
			v.StoreMasked((*[8]float32)(act[at:]), lastLanes(n-n8))
		}
	}
	archsimd.ClearAVXUpperBits()
}

// siluMulBackSIMD: dup = da·g·s, dgate = da·up·s·(1 + g·(1-s)), s = σ(g),
// with da read from dgate.
func siluMulBackSIMD(dgate, dup, gate, up []float32) {
	n := len(dgate)
	if n < 8 {
		siluMulBackGeneric(dgate, dup, gate, up)
		return
	}
	one := bc(1)
	var zero archsimd.Float32x8
	n8 := n &^ 7
	for i := 0; i < n+7; i += 8 {
		at, full := i, true
		if i >= n8 {
			if i >= n {
				break
			}
			at, full = n-8, false
		}
		g, da := load8(gate[at:]), load8(dgate[at:])
		s := one.Div(one.Add(exp8(zero.Sub(g))))
		du := da.Mul(g).Mul(s)
		dg := da.Mul(load8(up[at:])).Mul(s).Mul(g.MulAdd(one.Sub(s), one))
		if full {
			du.StoreSlice(dup[at:])
			dg.StoreSlice(dgate[at:])
			continue
		}
		m := lastLanes(n - n8)
		du.StoreMasked((*[8]float32)(dup[at:]), m)
		dg.StoreMasked((*[8]float32)(dgate[at:]), m)
	}
	archsimd.ClearAVXUpperBits()
}

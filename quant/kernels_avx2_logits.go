//go:build goexperiment.simd && amd64 && !purego

package quant

import (
	"math"
	"math/bits"
	"simd/archsimd"
)

// avx2LogitStats is logitStatsGeneric. Maxima over the logits are taken
// as the reference's "v > m ? v : m" (maxOf8): VMAXPS would do it with v
// as its first operand, but the compiler treats Max as commutative and
// may swap them, which turns a NaN v into the maximum. The sums keep sum4's lanes in float64: each 8-lane vector
// of exponentials adds its low half, then its high half, into 4 float64
// lanes.
func avx2LogitStats(groupMax, l []float32, want int) LogitStats {
	boundsLogitStats(groupMax, l)
	st := LogitStats{Best: -1, Second: -1, Sum: math.NaN(), SumED: math.NaN()}
	if len(l) == 0 {
		return st
	}
	mx := math.Float32frombits(rowMax8(groupMax, l))
	st.Best = findValue8(l, 0, mx)
	if st.Best < 0 {
		return st
	}
	sum, sumED := expSums8(l, math.Float32bits(l[st.Best]), want&LogitEntropy != 0)
	st.Sum, st.SumED = math.Float64frombits(sum), math.Float64frombits(sumED)
	if want&LogitSecond != 0 {
		s := math.Float32frombits(max8(l, 0, st.Best))
		if t := math.Float32frombits(max8(l, st.Best+1, len(l))); t > s {
			s = t
		}
		st.Second = findValue8(l, 0, s)
		if st.Second == st.Best {
			st.Second = findValue8(l, st.Best+1, s)
		}
	}
	return st
}

// rowMax8 returns the bits of the largest value of l (NaN ignored; -inf
// when there is none) and writes the group maxima when groupMax is not
// nil. Lanes j and j+4 of a block's maximum belong to group j.
func rowMax8(groupMax, l []float32) uint32 {
	n := len(l)
	ninf := bc8(float32(math.Inf(-1)))
	var zero archsimd.Float32x4
	vm := ninf
	b := 0
	for ; b+64 <= n; b += 64 {
		bm := maxOf8(load8(f32At(l, b)), ninf)
		for k := 8; k < 64; k += 8 {
			bm = maxOf8(load8(f32At(l, b+k)), bm)
		}
		vm = bm.Max(vm)
		if groupMax != nil {
			bm.GetLo().Max(bm.GetHi()).Add(zero).Store((*[4]float32)(f32At(groupMax, b/16)))
		}
	}
	// The last, partial block: vectors of 8, maybe one of 4, then values.
	i := b
	bm := ninf
	for ; i+8 <= n; i += 8 {
		bm = maxOf8(load8(f32At(l, i)), bm)
	}
	vm = bm.Max(vm)
	g4 := bm.GetLo().Max(bm.GetHi())
	if i+4 <= n {
		v := archsimd.LoadFloat32x4((*[4]float32)(f32At(l, i)))
		g4 = v.Merge(g4, v.Greater(g4))
		i += 4
	}
	m4 := vm.GetLo().Max(vm.GetHi()).Max(g4)
	var lanes, group [4]float32
	m4.Store(&lanes)
	g4.Store(&group)
	archsimd.ClearAVXUpperBits()

	mx := maxOf(float32(math.Inf(-1)), lanes[:])
	for ; i < n; i++ {
		v := l[i]
		if v > mx {
			mx = v
		}
		if v > group[i%4] {
			group[i%4] = v
		}
	}
	if groupMax != nil && b < n {
		g := groupMax[b/16 : b/16+4]
		for j, v := range group {
			g[j] = v + 0
		}
	}
	return math.Float32bits(mx)
}

// maxOf8 is v > m ? v : m per lane (a NaN v leaves m).
func maxOf8(v, m archsimd.Float32x8) archsimd.Float32x8 { return v.Merge(m, v.Greater(m)) }

// max8 returns the bits of the largest value of l[from:to] (NaN ignored;
// -inf when there is none).
func max8(l []float32, from, to int) uint32 {
	vm := bc8(float32(math.Inf(-1)))
	i := from
	for ; i+8 <= to; i += 8 {
		vm = maxOf8(load8(f32At(l, i)), vm)
	}
	var lanes [8]float32
	vm.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	return math.Float32bits(maxOf(maxOf(float32(math.Inf(-1)), lanes[:]), l[i:to]))
}

// findValue8 is findValue: the first i >= from with l[i] == v, or -1.
func findValue8(l []float32, from int, v float32) int {
	n := len(l)
	vv := bc8(v)
	i := from
	for ; i+8 <= n; i += 8 {
		if eq := load8(f32At(l, i)).Equal(vv).ToBits(); eq != 0 {
			archsimd.ClearAVXUpperBits()
			return i + bits.TrailingZeros8(eq)
		}
	}
	archsimd.ClearAVXUpperBits()
	return findValue(l, i, v)
}

// expSums8 returns the bits of Sum and (when entropy) SumED for the
// maximum m (as bits).
func expSums8(l []float32, mBits uint32, entropy bool) (uint64, uint64) {
	n4 := len(l) &^ 3
	var s, sED [4]float64
	expLanes8(&s, &sED, l[:n4], mBits, entropy)
	sum := (s[0] + s[2]) + (s[1] + s[3])
	sumED := (sED[0] + sED[2]) + (sED[1] + sED[3])
	m := math.Float32frombits(mBits)
	for _, v := range l[n4:] {
		d := v - m
		e := expf(d)
		sum += float64(e)
		if entropy {
			sumED += float64(float64(e) * float64(clampBelow88(d)))
		}
	}
	return math.Float64bits(sum), math.Float64bits(sumED)
}

// expLanes8 stores sum4's float64 lanes of expf(d) and, when entropy, of
// expf(d)·max(d, -88), d = l[i] - m, over len(l) (a multiple of 4)
// values. It keeps no float scalar live across its loop: the compiler
// would reload it with an SSE instruction, which costs dearly while the
// upper halves of the ymm registers are dirty.
//
//go:noinline
func expLanes8(s, sED *[4]float64, l []float32, mBits uint32, entropy bool) {
	n := len(l)
	m := archsimd.BroadcastUint32x8(mBits).AsFloat32x8()
	lo := bc8(-88)
	var acc, accED archsimd.Float64x4
	i := 0
	if entropy {
		for ; i < n; i += 8 {
			var d archsimd.Float32x8
			if i+8 <= n {
				d = load8(f32At(l, i)).Sub(m)
			} else {
				d = load8Part(l[i:], 4).Sub(m)
			}
			e := exp8(d)
			dc := lo.Merge(d, d.Less(lo)) // as clampBelow88: NaN stays
			el, dl := e.GetLo().ConvertToFloat64(), dc.GetLo().ConvertToFloat64()
			acc, accED = acc.Add(el), accED.Add(el.Mul(dl))
			if i+8 <= n {
				eh, dh := e.GetHi().ConvertToFloat64(), dc.GetHi().ConvertToFloat64()
				acc, accED = acc.Add(eh), accED.Add(eh.Mul(dh))
			}
		}
	} else {
		for ; i+8 <= n; i += 8 {
			e := exp8(load8(f32At(l, i)).Sub(m))
			acc = acc.Add(e.GetLo().ConvertToFloat64()).Add(e.GetHi().ConvertToFloat64())
		}
		if i < n {
			e := exp8(load8Part(l[i:], 4).Sub(m))
			acc = acc.Add(e.GetLo().ConvertToFloat64())
		}
	}
	acc.Store(s)
	accED.Store(sED)
	archsimd.ClearAVXUpperBits()
}

package quant

import "math"

// The sampler's vocabulary work: per row of logits, the softmax's
// normaliser, the argmax and runner-up, and the entropy's sum
// (LogitStats, a kernel), and the top-k tokens (TopLogits, plain Go over
// the group maxima that LogitStats leaves).

// What LogitStats computes beyond the maximum and the sum.
const (
	LogitSecond  = 1 << iota // LogitStats.Second, the runner-up
	LogitEntropy             // LogitStats.SumED, for the entropy
)

// logitGroupMax is LogitStats' own flag: write the group maxima.
const logitGroupMax = 1 << 2

// LogitStats is what sampling needs of one row of logits l. With
// m = l[Best] and d[i] = l[i] - m (float32):
//
//	p[i] = expf(d[i]) / Sum              the softmax
//	Σ p log p = SumED/Sum - log(Sum)     (log expf(d) is d, to expf's error)
type LogitStats struct {
	Best   int     // first index of the largest value (NaN ignored); -1 when there is none
	Second int     // with LogitSecond: first index other than Best of the largest of the others; -1 when none
	Sum    float64 // Σ expf(d[i])
	SumED  float64 // with LogitEntropy: Σ expf(d[i])·max(d[i], -88)
}

// LogitGroups is the length of the group maxima of a row of n logits:
// four per block of 64 values.
func LogitGroups(n int) int { return (n + 63) / 64 * 4 }

// logitStatsGeneric is the reference of LogitStats for row l of n values:
//
//	mx = max l[i], as "if l[i] > mx" from -inf, so NaN is ignored
//	Best = first i with l[i] == mx (-1 if none: empty, or all NaN)
//	Sum = sum4 of float64(expf(l[i] - m)) in float64, m = l[Best]
//	SumED = sum4 of float64(e[i]) * float64(max(d[i], -88)), d[i] = l[i] - m,
//	        max as expf's clamp (NaN stays)
//	Second = first i != Best with l[i] == s, s the largest (as mx) of
//	         l[i], i != Best
//
// where sum4 is sum4's order in float64 lanes (as rmsNormGeneric): lane j
// adds i = j, j+4, ... over the first n&^3 values, the lanes add up as
// (l0+l2) + (l1+l3) and the last n%4 values follow one by one. Each
// product is exact in float64. With Best -1, Sum and SumED are NaN.
//
// When groupMax is not nil, it receives LogitGroups(n) values:
// groupMax[4b+j] = max (as mx) of l[64b+j+4r] for r < 16 and 64b+j+4r < n,
// -inf when there is none, plus 0 (so a zero maximum is +0 on every
// path). TopLogits uses them to skip most of a row.
func logitStatsGeneric(groupMax, l []float32, want int) LogitStats {
	n := len(l)
	st := LogitStats{Best: -1, Second: -1, Sum: math.NaN(), SumED: math.NaN()}
	var mx float32
	if groupMax != nil {
		// The largest group maximum is the largest value (the same
		// value; only a zero's sign may differ, which == ignores).
		g := groupMax[:LogitGroups(n)]
		for b := 0; b < n; b += 64 {
			gb := g[b/16 : b/16+4]
			gb[0], gb[1], gb[2], gb[3] = float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))
			for i, v := range l[b:min(b+64, n)] {
				if v > gb[i&3] {
					gb[i&3] = v
				}
			}
			for j := range gb {
				gb[j] += 0
			}
		}
		mx = maxOf(float32(math.Inf(-1)), g)
	} else {
		mx = maxOf(float32(math.Inf(-1)), l)
	}
	st.Best = findValue(l, 0, mx)
	if st.Best < 0 {
		return st
	}
	m := l[st.Best]

	entropy := want&LogitEntropy != 0
	var sum, sumED [4]float64
	n4 := n &^ 3
	for i := 0; i < n4; i += 4 {
		for j := range 4 {
			d := l[i+j] - m
			e := expf(d)
			sum[j] += float64(e)
			if entropy {
				sumED[j] += float64(float64(e) * float64(clampBelow88(d)))
			}
		}
	}
	st.Sum = (sum[0] + sum[2]) + (sum[1] + sum[3])
	st.SumED = (sumED[0] + sumED[2]) + (sumED[1] + sumED[3])
	for _, v := range l[n4:] {
		d := v - m
		e := expf(d)
		st.Sum += float64(e)
		if entropy {
			st.SumED += float64(float64(e) * float64(clampBelow88(d)))
		}
	}

	if want&LogitSecond != 0 {
		s := float32(math.Inf(-1))
		for i, v := range l {
			if i != st.Best && v > s {
				s = v
			}
		}
		st.Second = findValue(l, 0, s)
		if st.Second == st.Best {
			st.Second = findValue(l, st.Best+1, s)
		}
	}
	return st
}

// maxOf is the largest of mx and vals as "if v > mx { mx = v }" in
// order, so NaN never wins.
func maxOf(mx float32, vals []float32) float32 {
	for _, v := range vals {
		if v > mx {
			mx = v
		}
	}
	return mx
}

// findValue is the first i >= from with l[i] == v, or -1.
func findValue(l []float32, from int, v float32) int {
	for i := from; i < len(l); i++ {
		if l[i] == v {
			return i
		}
	}
	return -1
}

// clampBelow88 is max(d, -88) as expf clamps: NaN stays NaN.
func clampBelow88(d float32) float32 {
	if d < -88 {
		return -88
	}
	return d
}

// Expf is e^x in float32, the exponential of every kernel (about 2 ulp):
// the softmax of LogitStats is expf(l[i] - m) / Sum.
func Expf(x float32) float32 { return expf(x) }

// ScanLogits computes the softmax statistics of one row of logits; see
// logitStatsGeneric. want is a combination of LogitSecond and
// LogitEntropy (0 for the maximum and the sum alone); groupMax is nil or
// at least LogitGroups(len(row)) values long, for TopLogits. Every kernel
// path gives the same bits.
func ScanLogits(groupMax, row []float32, want int) LogitStats {
	return active.logitStats(groupMax, row, want)
}

func boundsLogitStats(groupMax, row []float32) {
	const name = "ScanLogits"
	sizesFit(name, len(groupMax), len(row))
	if groupMax != nil {
		needLen(name, "groupMax", len(groupMax), LogitGroups(len(row)))
	}
}

// TopLogits writes into top the indices of the len(top) largest values
// of row, largest first and equal values by index, and returns how many
// it wrote: fewer only when row has fewer values that are not NaN (NaN
// never counts). groupMax holds the group maxima that ScanLogits wrote
// for row. It reads only the groups whose maximum reaches the k-th
// largest group maximum t: each of the k groups above t holds a value of
// at least t, so nothing below t can be among the k largest.
func TopLogits(top []int, row, groupMax []float32) int {
	k := len(top)
	groups := groupMax[:LogitGroups(len(row))]
	if k == 0 || len(row) == 0 {
		return 0
	}
	// t: the k-th largest group maximum (-inf when there are fewer groups).
	var buf [64]float32
	best := buf[:0]
	if k > len(buf) {
		best = make([]float32, 0, k)
	}
	for _, g := range groups {
		if len(best) == k && !(g > best[k-1]) {
			continue
		}
		i := len(best)
		if i == k {
			i--
		} else {
			best = best[:i+1]
		}
		for ; i > 0 && g > best[i-1]; i-- {
			best[i] = best[i-1]
		}
		best[i] = g
	}
	t := float32(math.Inf(-1))
	if len(best) == k {
		t = best[k-1]
	}

	found := 0
	for gi, g := range groups {
		if !(g >= t) {
			continue
		}
		end := min(gi/4*64+64, len(row))
		for p := gi/4*64 + gi%4; p < end; p += 4 {
			v := row[p]
			if !(v >= t) {
				continue
			}
			if found == k {
				last := row[top[k-1]]
				if v < last || v == last && p > top[k-1] {
					continue
				}
			}
			i := found
			if i == k {
				i--
			} else {
				found++
			}
			for ; i > 0 && (v > row[top[i-1]] || v == row[top[i-1]] && p < top[i-1]); i-- {
				top[i] = top[i-1]
			}
			top[i] = p
		}
	}
	return found
}

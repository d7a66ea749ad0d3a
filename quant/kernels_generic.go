package quant

import (
	"math"

	"unmask/internal/cephes"
)

// The reference kernels. Each is the definition of its fast twin; the fast
// twins are tested against these on tables of shapes and by fuzzing.
//
// Products that feed a sum are converted to float32 explicitly: the Go
// spec lets a compiler fuse x*y + z into one rounding (arm64 does), and the
// conversion forbids it, so the references give the same bits everywhere.

// matMulF32Generic computes, for t < T and r0 <= o < r1,
//
//	y[t*rows+o] = Σ_i x[t*cols+i] * w[o*cols+i]
func matMulF32Generic(y, x, w []float32, T, rows, cols, r0, r1 int) {
	for t := range T {
		xt := x[t*cols : (t+1)*cols]
		for o := r0; o < r1; o++ {
			y[t*rows+o] = dotF32Generic(xt, w[o*cols:(o+1)*cols])
		}
	}
}

// matMulQ8Generic computes, for t < T and r0 <= o < r1, with G = cols/group,
//
//	y[t*rows+o] = Σ_g xs[t*G+g] * ws[o*G+g] * Σ_{i<group} xq[t*cols+g*group+i] * wq[o*cols+g*group+i]
//
// where the inner sum is exact in int32 and each group's term is rounded to
// float32 before it is added (the SIMD kernel repeats this order per lane,
// so the two agree bit for bit).
func matMulQ8Generic(y []float32, xq []int8, xs []float32, wq []int8, ws []float32, T, rows, cols, group, r0, r1 int) {
	G := cols / group
	for t := range T {
		for o := r0; o < r1; o++ {
			var acc float32
			for g := range G {
				xo, wo := t*cols+g*group, o*cols+g*group
				acc += float32(xs[t*G+g] * ws[o*G+g] * float32(dotI8Generic(xq[xo:xo+group], wq[wo:wo+group])))
			}
			y[t*rows+o] = acc
		}
	}
}

// dotI8Generic is Σ a[i]*b[i] in int32.
func dotI8Generic(a, b []int8) int32 {
	var s int32
	for i := range a {
		s += int32(a[i]) * int32(b[i])
	}
	return s
}

// quantizeActivationsGeneric rounds x to int8 in groups of group values:
// scale = max|x|/127 per group, inv = 1/scale, q = round(x*inv) with ties
// away from zero, clamped to [-127, 127]. An all-zero group gets scale 0;
// a NaN (or a group whose max is infinite) gives 0 where round(x*inv) is NaN.
func quantizeActivationsGeneric(q []int8, scales []float32, x []float32, group int) {
	for g := range len(x) / group {
		xs := x[g*group : (g+1)*group]
		var amax float32
		for _, v := range xs {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if amax == 0 {
			scales[g] = 0
			clear(q[g*group : (g+1)*group])
			continue
		}
		scale := amax / 127
		inv := 1 / scale
		scales[g] = scale
		for i, v := range xs {
			q[g*group+i] = roundInt8(v * inv)
		}
	}
}

// roundInt8 is round(v) with ties away from zero, clamped to [-127, 127];
// NaN gives 0.
func roundInt8(v float32) int8 {
	r := math.Round(float64(v))
	if r != r {
		return 0
	}
	return int8(max(-127, min(127, r)))
}

// dotF32Generic is Σ a[i]*b[i].
func dotF32Generic(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += float32(a[i] * b[i])
	}
	return s
}

// axpyF32Generic is y[i] += a*x[i].
func axpyF32Generic(a float32, x, y []float32) {
	for i := range x {
		y[i] += float32(a * x[i])
	}
}

// attentionGeneric computes, for each query u < nq with qu = q[u*ldq:][:hd],
//
//	s[p] = (Σ_i qu[i]*k[p*ldkv+i]) * scale     (in i order)  for p < T
//	e[p] = expf(s[p] - max(s)),  sum = sum4(e)
//	out[u*ldo+j] = (Σ_p e[p] * v[p*ldkv+j]) * (1/sum)  (in p order)  for j < hd
//
// using scores[:T] for s and e. Every sum is in a fixed order and the
// exponential is expf, so the fast kernels, which keep these orders per
// vector lane, give the same bits.
func attentionGeneric(out []float32, ldo int, q []float32, ldq int, k, v []float32, ldkv int, scores []float32, nq, T, hd int, scale float32) {
	s := scores[:T]
	for u := range nq {
		qu := q[u*ldq:][:hd]
		for p := range T {
			s[p] = dotF32Generic(qu, k[p*ldkv:][:hd]) * scale
		}
		inv := 1 / expShiftGeneric(s)
		o := out[u*ldo:][:hd]
		clear(o)
		for p := range T {
			axpyF32Generic(s[p], v[p*ldkv:][:hd], o)
		}
		for j := range o {
			o[j] *= inv
		}
	}
}

// expShiftGeneric replaces each x[i] by expf(x[i] - max(x)) and returns
// their sum4.
func expShiftGeneric(x []float32) float32 {
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	for i, v := range x {
		x[i] = expf(v - mx)
	}
	return sum4(x)
}

// sum4 is the sum of x in the order of a 4-lane vector loop: lane j adds
// up x[j], x[j+4], x[j+8], ... over the first len(x)&^3 values, the lanes
// are combined as (l0+l2) + (l1+l3), and the last len(x)%4 values are
// added one by one.
func sum4(x []float32) float32 {
	n4 := len(x) &^ 3
	var l [4]float32
	for i := 0; i < n4; i += 4 {
		l[0] += x[i]
		l[1] += x[i+1]
		l[2] += x[i+2]
		l[3] += x[i+3]
	}
	sum := (l[0] + l[2]) + (l[1] + l[3])
	for _, v := range x[n4:] {
		sum += v
	}
	return sum
}

// expMagic is 1.5·2^23: adding it to a float32 rounds it to a whole number.
const expMagic = 12582912

// expf is e^x in float32 arithmetic, the exponential of every kernel
// (about 2 ulp): x is clamped to [-88, 88], split as x = n·ln2 + r with
// n = round(x·log2 e) (by adding and removing 1.5·2^23, which leaves n in
// the low bits of t), e^r comes from a degree-6 polynomial and 2^n is
// built in the exponent field ((bits(t) - 0x4b400000 + 127) << 23; 0 for
// n = -127). Every step is one float32 operation, rounded, in this order,
// and the vector kernels repeat them lane by lane, so all give the same
// bits. The clamps compare as WebAssembly's pmin/pmax do, passing NaN
// through.
func expf(x float32) float32 {
	if 88 < x {
		x = 88
	}
	if x < -88 {
		x = -88
	}
	t := float32(x*cephes.Log2e) + expMagic
	n := t - expMagic
	r := x - float32(n*cephes.Ln2Hi)
	r -= float32(n * cephes.Ln2Lo)
	z := float32(r * r)
	y := float32(r*cephes.ExpP0) + cephes.ExpP1
	y = float32(y*r) + cephes.ExpP2
	y = float32(y*r) + cephes.ExpP3
	y = float32(y*r) + cephes.ExpP4
	y = float32(y*r) + cephes.ExpP5
	y = float32(float32(y*z)+r) + 1
	return y * math.Float32frombits((math.Float32bits(t)-0x4b3fff81)<<23)
}

// rmsNormGeneric writes w * x / sqrt(mean(x²) + eps) for each row of
// d = len(w) values of x into out, the mean in float64:
//
//	inv = float32(1 / sqrt(sum4(float64(x)²) / d + eps)),  out[i] = w[i] * (x[i] * inv)
//
// where the squares (exact in float64) are summed in sum4's order.
func rmsNormGeneric(out, x, w []float32, eps float64) {
	d := len(w)
	d4 := d &^ 3
	for r := range len(x) / d {
		row := x[r*d : (r+1)*d]
		var l [4]float64
		for i := 0; i < d4; i += 4 {
			for j := range l {
				l[j] += float64(row[i+j]) * float64(row[i+j])
			}
		}
		ss := (l[0] + l[2]) + (l[1] + l[3])
		for _, v := range row[d4:] {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(ss/float64(d)+eps))
		o := out[r*d : (r+1)*d]
		for i, v := range row {
			o[i] = w[i] * (v * inv)
		}
	}
}

// siluMulGeneric computes gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i].
func siluMulGeneric(gate, up []float32) {
	for i, g := range gate {
		gate[i] = g / (1 + expf(-g)) * up[i]
	}
}

// ropeGeneric rotates each head of buf, (T, heads, hd), in place, NeoX
// style: with half = hd/2, a = head[:half], b = head[half:2*half] and the
// position's cos, sin = cos[t*half:][:half], sin[t*half:][:half],
//
//	a[i], b[i] = a[i]*cos[i] - b[i]*sin[i], b[i]*cos[i] + a[i]*sin[i]
func ropeGeneric(buf, cos, sin []float32, T, heads, hd int) {
	half := hd / 2
	for t := range T {
		c, s := cos[t*half:][:half], sin[t*half:][:half]
		for h := range heads {
			a := buf[(t*heads+h)*hd:][:half]
			b := buf[(t*heads+h)*hd+half:][:half]
			for i := range half {
				a0, b0 := a[i], b[i]
				a[i] = float32(a0*c[i]) - float32(b0*s[i])
				b[i] = float32(b0*c[i]) + float32(a0*s[i])
			}
		}
	}
}

// Package quant stores weight matrices in float32 or int8 and holds the
// kernels that multiply activations by them.
//
// Every kernel has a plain Go reference (kernels_generic.go) that is always
// compiled. Platform files replace the dispatch variables with faster
// implementations; the purego build tag forces the references everywhere.
package quant

import (
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// DType says how a Matrix stores its weights.
type DType uint8

const (
	F32 DType = iota // float32 weights
	Q8               // symmetric int8 weights with one float16 scale per group
)

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case Q8:
		return "q8"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// ParseDType reads "f32" or "q8".
func ParseDType(s string) (DType, error) {
	switch s {
	case "f32":
		return F32, nil
	case "q8":
		return Q8, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (want f32 or q8)", s)
}

// ErrShape reports a matrix whose storage does not match its dimensions.
var ErrShape = errors.New("quant: matrix storage does not match its shape")

// Matrix is a weight matrix W of Rows output features by Cols input
// features, stored row-major. A layer computes y = x·Wᵀ.
type Matrix struct {
	Rows, Cols int
	DType      DType
	F32        []float32 // (rows, cols) when DType == F32
	Q          []int8    // (rows, cols) when DType == Q8
	Scales     []float32 // (rows, cols/group) when DType == Q8; exact float16 values
	Group      int       // Q8 group length along a row; divides Cols
}

// NewF32 wraps float32 weights of shape (rows, cols) without copying.
func NewF32(w []float32, rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, DType: F32, F32: w}
}

// Groups is the number of scale groups per row (1 for float32).
func (m *Matrix) Groups() int {
	if m.DType != Q8 {
		return 1
	}
	return m.Cols / m.Group
}

// Validate checks that the storage matches the shape.
func (m *Matrix) Validate() error {
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("%w: %dx%d", ErrShape, m.Rows, m.Cols)
	}
	n := m.Rows * m.Cols
	switch m.DType {
	case F32:
		if len(m.F32) != n {
			return fmt.Errorf("%w: %dx%d f32 has %d values", ErrShape, m.Rows, m.Cols, len(m.F32))
		}
	case Q8:
		if m.Group <= 0 || m.Cols%m.Group != 0 {
			return fmt.Errorf("%w: group %d does not divide %d columns", ErrShape, m.Group, m.Cols)
		}
		if len(m.Q) != n || len(m.Scales) != m.Rows*m.Groups() {
			return fmt.Errorf("%w: %dx%d q8 has %d weights and %d scales", ErrShape, m.Rows, m.Cols, len(m.Q), len(m.Scales))
		}
	default:
		return fmt.Errorf("%w: unknown dtype %d", ErrShape, m.DType)
	}
	return nil
}

// Quantize converts float32 weights of shape (rows, cols) to symmetric int8
// with one scale per group of group columns (group = cols: one per row).
// Each scale is max|w|/127 rounded to float16, and the weights are rounded
// against that rounded scale, so the file and the arithmetic agree.
func Quantize(w []float32, rows, cols, group int) Matrix {
	if group <= 0 || group > cols {
		group = cols
	}
	m := Matrix{Rows: rows, Cols: cols, DType: Q8, Group: group,
		Q: make([]int8, rows*cols), Scales: make([]float32, rows*(cols/group))}
	for r := range rows {
		for g := range cols / group {
			off := r*cols + g*group
			m.Scales[r*(cols/group)+g] = quantizeGroup(m.Q[off:off+group], w[off:off+group])
		}
	}
	return m
}

// quantizeGroup rounds w into q with a float16 scale and returns the scale.
func quantizeGroup(q []int8, w []float32) float32 {
	var amax float32
	for _, v := range w {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	scale := float16.Fromfloat32(amax / 127).Float32()
	if scale == 0 {
		clear(q)
		return 0
	}
	for i, v := range w {
		q[i] = int8(max(-127, min(127, math.Round(float64(v/scale)))))
	}
	return scale
}

// Dequantize returns the float32 weights the matrix stands for.
func (m *Matrix) Dequantize() []float32 {
	out := make([]float32, m.Rows*m.Cols)
	for r := range m.Rows {
		m.Row(r, out[r*m.Cols:(r+1)*m.Cols])
	}
	return out
}

// Row writes row r as float32 into dst (len Cols); used for embeddings.
func (m *Matrix) Row(r int, dst []float32) {
	if m.DType == F32 {
		copy(dst, m.F32[r*m.Cols:(r+1)*m.Cols])
		return
	}
	groups := m.Groups()
	for g := range groups {
		s := m.Scales[r*groups+g]
		off := r*m.Cols + g*m.Group
		for i := range m.Group {
			dst[g*m.Group+i] = float32(m.Q[off+i]) * s
		}
	}
}

// MaxAbsError is the largest |w - dequantised w| over the matrix.
func (m *Matrix) MaxAbsError(w []float32) float32 {
	var worst float32
	for i, v := range m.Dequantize() {
		worst = max(worst, float32(math.Abs(float64(v-w[i]))))
	}
	return worst
}

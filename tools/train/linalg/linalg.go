// Package linalg holds the float32 matrix product and the parallel loop the
// trainer runs on.
//
// Mul is the only heavy kernel: every projection, its two gradients and the
// attention products go through it. The plain Go reference
// (kernels_generic.go) is always compiled; on amd64 with GOEXPERIMENT=simd
// an AVX2+FMA version (kernels_simd.go) replaces it unless the purego tag
// is set. Both run the same test table and fuzz target.
package linalg

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// View is a strided matrix: element (i, j) is Data[i*RowStride+j*ColStride].
// A transpose is the same data with the strides swapped, so products with
// Aᵀ or Bᵀ need no copies.
type View struct {
	Data                 []float32
	Rows, Cols           int
	RowStride, ColStride int
}

// Dense views data as a row-major rows×cols matrix.
func Dense(data []float32, rows, cols int) View {
	return View{Data: data, Rows: rows, Cols: cols, RowStride: cols, ColStride: 1}
}

// Strided views data as rows×cols with rows stride apart (a slice of the
// columns of a wider row-major matrix, such as one attention head).
func Strided(data []float32, rows, cols, stride int) View {
	return View{Data: data, Rows: rows, Cols: cols, RowStride: stride, ColStride: 1}
}

// T is the transpose of v.
func (v View) T() View {
	return View{Data: v.Data, Rows: v.Cols, Cols: v.Rows, RowStride: v.ColStride, ColStride: v.RowStride}
}

// At is element (i, j).
func (v View) At(i, j int) float32 { return v.Data[i*v.RowStride+j*v.ColStride] }

// span is one past the largest index the view touches.
func (v View) span() int {
	if v.Rows == 0 || v.Cols == 0 {
		return 0
	}
	return (v.Rows-1)*v.RowStride + (v.Cols-1)*v.ColStride + 1
}

// Workspace is the scratch one goroutine's products need (packed panels).
// It grows to the largest product it sees and is then reused.
type Workspace struct {
	a, b []float32
}

func (ws *Workspace) reserve(na, nb int) {
	if cap(ws.a) < na {
		ws.a = make([]float32, na)
	}
	if cap(ws.b) < nb {
		ws.b = make([]float32, nb)
	}
	ws.a, ws.b = ws.a[:na], ws.b[:nb]
}

// Mul computes C = A·B, or C += A·B when accumulate is set, on the calling
// goroutine. C must have ColStride 1; A and B may have any strides. See
// mulGeneric for the defining loop.
func Mul(ws *Workspace, c, a, b View, accumulate bool) {
	check(c, a, b)
	if c.Rows == 0 || c.Cols == 0 {
		return
	}
	mulImpl(ws, c, a, b, accumulate)
}

func check(c, a, b View) {
	if a.Rows != c.Rows || b.Cols != c.Cols || a.Cols != b.Rows {
		panic(fmt.Sprintf("linalg: product of %dx%d and %dx%d into %dx%d", a.Rows, a.Cols, b.Rows, b.Cols, c.Rows, c.Cols))
	}
	if c.ColStride != 1 && c.Cols > 1 {
		panic("linalg: C must have unit column stride")
	}
	if a.span() > len(a.Data) || b.span() > len(b.Data) || c.span() > len(c.Data) {
		panic("linalg: view reaches past its data")
	}
}

// Path names the active kernel ("simd" or "go").
func Path() string { return path }

// Pool spreads products and loops over a fixed number of goroutines, each
// with its own Workspace, and counts the floating-point operations of the
// products it ran.
type Pool struct {
	Threads int
	ws      []Workspace
	flops   atomic.Int64
}

// NewPool makes a pool of threads workers (at least one).
func NewPool(threads int) *Pool {
	threads = max(1, threads)
	return &Pool{Threads: threads, ws: make([]Workspace, threads)}
}

// Flops is the number of floating-point operations of every product run so
// far (2·M·N·K each).
func (p *Pool) Flops() int64 { return p.flops.Load() }

// AddFlops counts work done outside Mul, e.g. by Workspace products inside
// For, so the rate reported covers it.
func (p *Pool) AddFlops(n int64) { p.flops.Add(n) }

// Mul computes C (+)= A·B split over the pool's goroutines: by rows of C
// when it is taller than wide, else by columns.
func (p *Pool) Mul(c, a, b View, accumulate bool) {
	check(c, a, b)
	p.flops.Add(2 * int64(c.Rows) * int64(c.Cols) * int64(a.Cols))
	threads := p.Threads
	byRows := c.Rows >= c.Cols
	n, unit := c.Cols, 16
	if byRows {
		n, unit = c.Rows, 6
	}
	if threads == 1 || n < 2*unit {
		Mul(&p.ws[0], c, a, b, accumulate)
		return
	}
	threads = min(threads, n/unit)
	var wg sync.WaitGroup
	for w := range threads {
		lo, hi := split(n, unit, threads, w)
		wg.Go(func() {
			if byRows {
				Mul(&p.ws[w], rowsOf(c, lo, hi), rowsOf(a, lo, hi), b, accumulate)
			} else {
				Mul(&p.ws[w], colsOf(c, lo, hi), a, colsOf(b, lo, hi), accumulate)
			}
		})
	}
	wg.Wait()
}

// split gives worker w its share [lo, hi) of n, cut at multiples of unit.
func split(n, unit, threads, w int) (lo, hi int) {
	blocks := (n + unit - 1) / unit
	lo = min(n, blocks*w/threads*unit)
	hi = min(n, blocks*(w+1)/threads*unit)
	return lo, hi
}

func rowsOf(v View, lo, hi int) View {
	v.Data = v.Data[lo*v.RowStride:]
	v.Rows = hi - lo
	return v
}

func colsOf(v View, lo, hi int) View {
	v.Data = v.Data[lo*v.ColStride:]
	v.Cols = hi - lo
	return v
}

// For runs f over [0, n) split into one contiguous range per worker; f
// gets the worker's index (below Threads, for scratch of its own) and its
// Workspace for products.
func (p *Pool) For(n int, f func(worker int, ws *Workspace, lo, hi int)) {
	threads := min(p.Threads, n)
	if threads <= 1 {
		if n > 0 {
			f(0, &p.ws[0], 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range threads {
		lo, hi := n*w/threads, n*(w+1)/threads
		wg.Go(func() { f(w, &p.ws[w], lo, hi) })
	}
	wg.Wait()
}

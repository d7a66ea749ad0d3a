package quant

import "sync"

// Scratch holds the quantised copy of the activations for Q8 products. It
// grows once to the largest input it sees and is then reused.
type Scratch struct {
	q      []int8    // (tokens, cols)
	scales []float32 // (tokens, cols/group)
}

func (s *Scratch) reserve(n, groups int) {
	if cap(s.q) < n {
		s.q = make([]int8, n)
	}
	if cap(s.scales) < groups {
		s.scales = make([]float32, groups)
	}
	s.q, s.scales = s.q[:n], s.scales[:groups]
}

// MatMul computes y = x·Wᵀ for T tokens: x is (T, Cols), y is (T, Rows).
// Q8 matrices quantise x on the fly (symmetric int8, one scale per group of
// each token, the same grouping as the weights). Rows are split over
// threads goroutines; threads <= 1 runs on the caller's goroutine.
func (m *Matrix) MatMul(y, x []float32, T int, s *Scratch, threads int) {
	if len(x) < T*m.Cols || len(y) < T*m.Rows {
		panic("quant: MatMul buffers shorter than T tokens")
	}
	if m.DType == Q8 {
		s.reserve(T*m.Cols, T*m.Groups())
		QuantizeActivations(s.q, s.scales, x[:T*m.Cols], m.Group)
	}
	if threads <= 1 {
		m.matMulRows(y, x, s, T, 0, m.Rows) // no closure: a pass allocates nothing
		return
	}
	ParallelFor(m.Rows, threads, func(_, r0, r1 int) { m.matMulRows(y, x, s, T, r0, r1) })
}

func (m *Matrix) matMulRows(y, x []float32, s *Scratch, T, r0, r1 int) {
	if m.DType == Q8 {
		MatMulQ8(y, s.q, s.scales, m.Q, m.Scales, T, m.Rows, m.Cols, m.Group, r0, r1)
	} else {
		MatMulF32(y, x, m.F32, T, m.Rows, m.Cols, r0, r1)
	}
}

// ParallelFor splits [0, n) into threads contiguous ranges and runs f on
// each concurrently, passing the worker's number so it can use its own
// scratch space; it returns when all are done. With threads <= 1, or too
// little work to split, f runs once on the caller's goroutine as worker 0.
func ParallelFor(n, threads int, f func(worker, lo, hi int)) {
	if threads <= 1 || n < 2*threads {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range threads {
		lo, hi := n*i/threads, n*(i+1)/threads
		wg.Go(func() { f(i, lo, hi) })
	}
	wg.Wait()
}

package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"unmask/quant"
)

// ErrTooLong reports a canvas longer than the model's max_sequence_length.
var ErrTooLong = errors.New("sequence longer than the model's max_sequence_length")

// ErrToken reports a token id outside the vocabulary.
var ErrToken = errors.New("token id outside the vocabulary")

// State holds every buffer a forward pass needs, allocated once for up to
// Cap tokens; a pass never allocates. A State is used by one goroutine at a
// time (it spreads its own work over Threads goroutines).
type State struct {
	Model   *Model
	Cap     int // most tokens per pass
	Threads int // goroutines per matrix product and attention

	x      []float32 // (cap, d_model) residual stream
	xn     []float32 // (cap, d_model) normalised stream
	q      []float32 // (cap, d_model) queries
	k      []float32 // (cap, kv_dim) keys
	v      []float32 // (cap, kv_dim) values
	att    []float32 // (cap, d_model) attention output, heads side by side
	scores []float32 // (threads, scoresPerWorker) attention scratch per worker

	scoresPerWorker int
	gate            []float32 // (cap, mlp_hidden) silu(ff_proj(n))
	up              []float32 // (cap, mlp_hidden) up_proj(n)
	proj            []float32 // (cap, d_model) output of attn_out / ff_out before the residual add
	hidden          []float32 // (cap, d_model) gathered final states for the head
	logits          []float32 // (cap, embedding_size)
	cos             []float32 // (cap, head_dim/2) RoPE tables
	sin             []float32 // (cap, head_dim/2)
	qs              quant.Scratch
}

// NewState allocates the buffers for canvases of up to capTokens tokens
// (0: the model's max_sequence_length), spreading work over the machine's
// cores.
func NewState(m *Model, capTokens int) *State {
	c := &m.Config
	if capTokens <= 0 || capTokens > c.MaxSequenceLen {
		capTokens = c.MaxSequenceLen
	}
	threads := runtime.GOMAXPROCS(0)
	s := &State{Model: m, Cap: capTokens, Threads: threads}
	d, kv, h, half := c.DModel, c.KVDim(), c.MLPHiddenSize, c.HeadDim()/2
	s.x = make([]float32, capTokens*d)
	s.xn = make([]float32, capTokens*d)
	s.q = make([]float32, capTokens*d)
	s.k = make([]float32, capTokens*kv)
	s.v = make([]float32, capTokens*kv)
	s.att = make([]float32, capTokens*d)
	s.scoresPerWorker = quant.AttentionScratch(capTokens, capTokens, c.HeadDim())
	s.scores = make([]float32, threads*s.scoresPerWorker)
	s.gate = make([]float32, capTokens*h)
	s.up = make([]float32, capTokens*h)
	s.proj = make([]float32, capTokens*d)
	s.hidden = make([]float32, capTokens*d)
	s.logits = make([]float32, capTokens*c.EmbeddingSize)
	s.cos = make([]float32, capTokens*half)
	s.sin = make([]float32, capTokens*half)
	quant.RoPETables(s.cos, s.sin, c.HeadDim(), c.RopeTheta)
	return s
}

// Forward runs the mask predictor over the whole canvas and returns the
// logits of every position, (len(tokens), embedding_size). The slice is
// owned by the State and overwritten by the next pass.
func (s *State) Forward(tokens []int) ([]float32, error) {
	return s.ForwardAt(tokens, nil)
}

// ForwardAt runs the mask predictor over the whole canvas but applies the
// LM head only at the given positions (nil: every position), returning
// (len(positions), embedding_size) logits in that order. The sampler asks
// only for the masked positions it may commit, which skips most of the
// head's work.
func (s *State) ForwardAt(tokens []int, positions []int) ([]float32, error) {
	m, c := s.Model, &s.Model.Config
	T := len(tokens)
	if T == 0 {
		return nil, errors.New("empty canvas")
	}
	if T > s.Cap {
		return nil, fmt.Errorf("%w: %d tokens, limit %d", ErrTooLong, T, s.Cap)
	}
	for _, id := range tokens {
		if id < 0 || id >= c.EmbeddingSize {
			return nil, fmt.Errorf("%w: %d (vocabulary %d)", ErrToken, id, c.EmbeddingSize)
		}
	}
	d := c.DModel
	x := s.x[:T*d]

	// Embedding: x[t] = wte[token_t].
	for t, id := range tokens {
		m.Weights.Embed.Row(id, x[t*d:(t+1)*d])
	}

	for l := range m.Weights.Layers {
		layer := &m.Weights.Layers[l]
		// h = x + attn_out(attention(RMSNorm_attn(x)))
		quant.RMSNorm(s.xn[:T*d], x, layer.AttnNorm, c.RMSNormEps)
		s.matmul(&layer.Q, s.q, s.xn, T)
		s.matmul(&layer.K, s.k, s.xn, T)
		s.matmul(&layer.V, s.v, s.xn, T)
		s.rope(s.q, T, c.NHeads)
		s.rope(s.k, T, c.NKVHeads)
		s.attention(T)
		s.matmul(&layer.AttnOut, s.proj, s.att, T)
		quant.AxpyF32(1, s.proj[:T*d], x) // residual

		// x = h + ff_out(silu(ff_proj(n)) * up_proj(n)), n = RMSNorm_ff(h)
		quant.RMSNorm(s.xn[:T*d], x, layer.FFNorm, c.RMSNormEps)
		s.matmul(&layer.FFProj, s.gate, s.xn, T)
		s.matmul(&layer.Up, s.up, s.xn, T)
		quant.SiLUMul(s.gate[:T*c.MLPHiddenSize], s.up[:T*c.MLPHiddenSize])
		s.matmul(&layer.FFOut, s.proj, s.gate, T)
		quant.AxpyF32(1, s.proj[:T*d], x) // residual
	}

	// Final RMSNorm at the positions asked for, then the untied LM head.
	n := T
	if positions != nil {
		n = len(positions)
		for i, p := range positions {
			if p < 0 || p >= T {
				return nil, fmt.Errorf("position %d outside the canvas of %d", p, T)
			}
			copy(s.hidden[i*d:(i+1)*d], x[p*d:(p+1)*d])
		}
	} else {
		copy(s.hidden[:T*d], x)
	}
	quant.RMSNorm(s.xn[:n*d], s.hidden[:n*d], m.Weights.NormF, c.RMSNormEps)
	s.matmul(&m.Weights.Head, s.logits, s.xn, n)
	return s.logits[:n*c.EmbeddingSize], nil
}

func (s *State) matmul(w *quant.Matrix, y, x []float32, T int) {
	w.MatMul(y, x, T, &s.qs, s.Threads)
}

// rope rotates each head of buf (T, heads*head_dim) in place, NeoX style:
// the head is split into halves a, b and becomes (a·cos - b·sin, b·cos + a·sin).
func (s *State) rope(buf []float32, T, heads int) {
	hd := s.Model.Config.HeadDim()
	quant.RoPE(buf[:T*heads*hd], s.cos, s.sin, T, heads, hd)
}

// attention is bidirectional scaled dot-product attention with grouped
// keys and values: query head h reads KV head h / (n_heads / n_kv_heads).
// Every query sees every position; there is no causal mask. The work is
// split into (head, slice of queries) items, a slice per thread.
func (s *State) attention(T int) {
	heads := s.Model.Config.NHeads
	threads := min(s.Threads, len(s.scores)/s.scoresPerWorker) // scratch was sized at NewState
	if threads <= 1 {
		for h := range heads { // no closure: a pass allocates nothing
			s.attendHead(T, 0, h, 0, T)
		}
		return
	}
	slices := max(1, min(threads, T))
	quant.ParallelFor(heads*slices, threads, func(worker, lo, hi int) {
		for it := lo; it < hi; it++ {
			h, i := it/slices, it%slices
			s.attendHead(T, worker, h, T*i/slices, T*(i+1)/slices)
		}
	})
}

// attendHead computes head h's output for queries [t0, t1) as worker.
func (s *State) attendHead(T, worker, h, t0, t1 int) {
	c := &s.Model.Config
	d, hd, kvDim := c.DModel, c.HeadDim(), c.KVDim()
	kvh := h / (c.NHeads / c.NKVHeads)
	scale := float32(1 / math.Sqrt(float64(hd)))
	scratch := s.scores[worker*s.scoresPerWorker:][:s.scoresPerWorker]
	quant.Attention(s.att[t0*d+h*hd:], d, s.q[t0*d+h*hd:], d,
		s.k[kvh*hd:], s.v[kvh*hd:], kvDim, scratch, t1-t0, T, hd, scale)
}

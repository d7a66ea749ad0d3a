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
	// scratch holds the keys and values of a pass without a cache: one
	// (cap, kv_dim) buffer each, shared by every layer in turn.
	scratch KVCache
	caches  [2]*KVCache // the sampler's caches, conditional and unconditional, made on first use
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
	k, v := make([]float32, capTokens*kv), make([]float32, capTokens*kv)
	s.scratch = KVCache{Cap: capTokens, K: make([][]float32, c.NLayers), V: make([][]float32, c.NLayers)}
	for l := range c.NLayers {
		s.scratch.K[l], s.scratch.V[l] = k, v
	}
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
	return s.ForwardPass(tokens, Pass{From: 0, To: len(tokens), Logits: positions})
}

// Pass says which positions a forward pass runs through the Transformer
// and where the keys and values of the others come from. The zero Cache
// (nil) keeps keys and values in the State's scratch, so From and To must
// then cover the canvas.
type Pass struct {
	From, To int      // canvas positions computed, [From, To)
	Cache    *KVCache // keys and values of the other positions; the computed ones are stored into it
	// Causal limits each position to the keys at and before it (an
	// autoregressive model's prefix); LLaDA's attention is bidirectional.
	Causal bool
	Logits []int // positions in [From, To) whose logits are returned, in order; nil: all of them
}

// ErrPass reports a Pass that does not fit its canvas or cache.
var ErrPass = errors.New("invalid forward pass")

// ForwardPass runs the positions [p.From, p.To) of the canvas through the
// mask predictor, each at its absolute RoPE position. Their keys and values
// are computed and stored into p.Cache; the attention reads every other
// position's keys and values from there (Fast-dLLM's prefix and dual
// caches). With a cache filled by a pass over the same canvas, the logits
// are those of a full pass. It returns (len(p.Logits), embedding_size)
// logits, or (To-From, embedding_size) when p.Logits is nil; the slice is
// owned by the State and overwritten by the next pass.
func (s *State) ForwardPass(tokens []int, p Pass) ([]float32, error) {
	m, c := s.Model, &s.Model.Config
	T := len(tokens)
	if err := s.checkPass(tokens, p); err != nil {
		return nil, err
	}
	cache := p.Cache
	if cache == nil {
		cache = &s.scratch
	}
	d, kvDim := c.DModel, c.KVDim()
	n := p.To - p.From // positions computed
	x := s.x[:n*d]     // (n, d_model): row i is canvas position From+i

	// Embedding: x[i] = wte[token_(From+i)].
	for i, id := range tokens[p.From:p.To] {
		m.Weights.Embed.Row(id, x[i*d:(i+1)*d])
	}

	for l := range m.Weights.Layers {
		layer := &m.Weights.Layers[l]
		k := cache.K[l][:T*kvDim] // (T, kv_dim): rows [From, To) computed now
		v := cache.V[l][:T*kvDim]
		// h = x + attn_out(attention(RMSNorm_attn(x)))
		quant.RMSNorm(s.xn[:n*d], x, layer.AttnNorm, c.RMSNormEps)
		s.matmul(&layer.Q, s.q, s.xn, n)
		s.matmul(&layer.K, k[p.From*kvDim:], s.xn, n)
		s.matmul(&layer.V, v[p.From*kvDim:], s.xn, n)
		s.rope(s.q, p.From, n, c.NHeads)
		s.rope(k[p.From*kvDim:], p.From, n, c.NKVHeads)
		s.attention(k, v, p.From, n, T, p.Causal)
		s.matmul(&layer.AttnOut, s.proj, s.att, n)
		quant.AxpyF32(1, s.proj[:n*d], x) // residual

		// x = h + ff_out(silu(ff_proj(n)) * up_proj(n)), n = RMSNorm_ff(h)
		quant.RMSNorm(s.xn[:n*d], x, layer.FFNorm, c.RMSNormEps)
		s.matmul(&layer.FFProj, s.gate, s.xn, n)
		s.matmul(&layer.Up, s.up, s.xn, n)
		quant.SiLUMul(s.gate[:n*c.MLPHiddenSize], s.up[:n*c.MLPHiddenSize])
		s.matmul(&layer.FFOut, s.proj, s.gate, n)
		quant.AxpyF32(1, s.proj[:n*d], x) // residual
	}

	// Final RMSNorm at the positions asked for, then the untied LM head.
	rows := n
	if p.Logits != nil {
		rows = len(p.Logits)
		for i, pos := range p.Logits {
			copy(s.hidden[i*d:(i+1)*d], x[(pos-p.From)*d:][:d])
		}
	} else {
		copy(s.hidden[:n*d], x)
	}
	quant.RMSNorm(s.xn[:rows*d], s.hidden[:rows*d], m.Weights.NormF, c.RMSNormEps)
	s.matmul(&m.Weights.Head, s.logits, s.xn, rows)
	return s.logits[:rows*c.EmbeddingSize], nil
}

// checkPass refuses a canvas or a Pass the buffers cannot hold.
func (s *State) checkPass(tokens []int, p Pass) error {
	c := &s.Model.Config
	T := len(tokens)
	switch {
	case T == 0:
		return errors.New("empty canvas")
	case T > s.Cap:
		return fmt.Errorf("%w: %d tokens, limit %d", ErrTooLong, T, s.Cap)
	case p.From < 0 || p.To > T || p.From >= p.To:
		return fmt.Errorf("%w: positions [%d, %d) of a canvas of %d", ErrPass, p.From, p.To, T)
	case p.Cache == nil && (p.From != 0 || p.To != T):
		return fmt.Errorf("%w: positions [%d, %d) of %d without a cache", ErrPass, p.From, p.To, T)
	case p.Cache != nil && (len(p.Cache.K) != c.NLayers || p.Cache.Cap < T):
		return fmt.Errorf("%w: a cache of %d layers and %d positions for %d layers and %d", ErrPass, len(p.Cache.K), p.Cache.Cap, c.NLayers, T)
	}
	for _, id := range tokens {
		if id < 0 || id >= c.EmbeddingSize {
			return fmt.Errorf("%w: %d (vocabulary %d)", ErrToken, id, c.EmbeddingSize)
		}
	}
	for _, pos := range p.Logits {
		if pos < p.From || pos >= p.To {
			return fmt.Errorf("position %d outside the computed positions [%d, %d)", pos, p.From, p.To)
		}
	}
	return nil
}

// kvCache returns the State's i-th cache (0 or 1) for the sampler,
// allocating it on first use: a generation without a cache needs none.
func (s *State) kvCache(i int) *KVCache {
	if s.caches[i] == nil {
		s.caches[i] = NewKVCache(&s.Model.Config, s.Cap)
	}
	return s.caches[i]
}

// KVCache holds the keys (after RoPE) and values of every layer at every
// canvas position, as the passes that computed them stored them, so that a
// later pass can compute only some positions and attend to the rest.
type KVCache struct {
	Cap int         // most canvas positions
	K   [][]float32 // (n_layers)(cap, kv_dim) keys after RoPE
	V   [][]float32 // (n_layers)(cap, kv_dim) values
}

// NewKVCache allocates a cache for canvases of up to capTokens positions.
func NewKVCache(c *Config, capTokens int) *KVCache {
	kv := &KVCache{Cap: capTokens, K: make([][]float32, c.NLayers), V: make([][]float32, c.NLayers)}
	for l := range c.NLayers {
		kv.K[l] = make([]float32, capTokens*c.KVDim())
		kv.V[l] = make([]float32, capTokens*c.KVDim())
	}
	return kv
}

func (s *State) matmul(w *quant.Matrix, y, x []float32, T int) {
	w.MatMul(y, x, T, &s.qs, s.Threads)
}

// rope rotates each head of buf (n, heads*head_dim), the rows of canvas
// positions from..from+n-1, in place, NeoX style: the head is split into
// halves a, b and becomes (a·cos - b·sin, b·cos + a·sin) at its position.
func (s *State) rope(buf []float32, from, n, heads int) {
	hd := s.Model.Config.HeadDim()
	half := hd / 2
	quant.RoPE(buf[:n*heads*hd], s.cos[from*half:], s.sin[from*half:], n, heads, hd)
}

// attention is scaled dot-product attention of the pass's n queries (s.q,
// rows of the canvas positions from..from+n-1) against the keys k and values v of the
// canvas, (T, kv_dim) each, with grouped keys and values: query head h
// reads KV head h / (n_heads / n_kv_heads). Bidirectional, every query sees
// all T positions; causal, the query at position t sees positions 0..t.
// The work is split into (head, slice of queries) items, a slice per
// thread.
func (s *State) attention(k, v []float32, from, n, T int, causal bool) {
	heads := s.Model.Config.NHeads
	threads := min(s.Threads, len(s.scores)/s.scoresPerWorker) // scratch was sized at NewState
	if threads <= 1 {
		for h := range heads { // no closure: a pass allocates nothing
			s.attendHead(k, v, from, T, causal, 0, h, 0, n)
		}
		return
	}
	slices := max(1, min(threads, n))
	quant.ParallelFor(heads*slices, threads, func(worker, lo, hi int) {
		for it := lo; it < hi; it++ {
			h, i := it/slices, it%slices
			s.attendHead(k, v, from, T, causal, worker, h, n*i/slices, n*(i+1)/slices)
		}
	})
}

// attendHead computes head h's output for the pass's queries [u0, u1)
// (canvas positions from+u0 ..) as worker.
func (s *State) attendHead(k, v []float32, from, T int, causal bool, worker, h, u0, u1 int) {
	c := &s.Model.Config
	d, hd, kvDim := c.DModel, c.HeadDim(), c.KVDim()
	kvh := h / (c.NHeads / c.NKVHeads)
	scale := float32(1 / math.Sqrt(float64(hd)))
	scratch := s.scores[worker*s.scoresPerWorker:][:s.scoresPerWorker]
	if !causal {
		quant.Attention(s.att[u0*d+h*hd:], d, s.q[u0*d+h*hd:], d,
			k[kvh*hd:], v[kvh*hd:], kvDim, scratch, u1-u0, T, hd, scale)
		return
	}
	for u := u0; u < u1; u++ { // each query its own number of keys
		quant.Attention(s.att[u*d+h*hd:], d, s.q[u*d+h*hd:], d,
			k[kvh*hd:], v[kvh*hd:], kvDim, scratch, 1, from+u+1, hd, scale)
	}
}

package trainer

import (
	"errors"
	"fmt"
	"math"

	"unmask/engine"
	"unmask/quant"
	"unmask/tools/train/linalg"
)

// Batch is the input of one forward pass: B sequences of T tokens with
// the token to predict and the loss weight at every position.
type Batch struct {
	B, T    int
	Tokens  []int32   // (B, T) what the network sees (the mask id where masked)
	Targets []int32   // (B, T) the token to predict; -1 where there is no loss
	Weights []float32 // (B, T) weight of each position's cross-entropy
	Lens    []int32   // (B) tokens that exist in each sequence; later ones are padding
	Causal  bool      // position t attends to positions <= t only (autoregressive)
}

// NewBatch allocates a batch of B sequences of T tokens.
func NewBatch(B, T int) *Batch {
	return &Batch{B: B, T: T, Tokens: make([]int32, B*T), Targets: make([]int32, B*T),
		Weights: make([]float32, B*T), Lens: make([]int32, B)}
}

// ErrBatch reports a batch the network cannot take.
var ErrBatch = errors.New("bad batch")

// layerActs are the activations of one block kept for the backward pass;
// N = B·T rows.
type layerActs struct {
	rstd1 []float32 // (N) 1/rms of the block input
	xn1   []float32 // (N, d_model) attention norm output
	q     []float32 // (N, d_model) queries after RoPE
	k     []float32 // (N, kv_dim) keys after RoPE
	v     []float32 // (N, kv_dim) values
	probs []float32 // (B, n_heads, T, T) attention weights
	att   []float32 // (N, d_model) attention output, heads side by side
	h     []float32 // (N, d_model) residual stream after attention
	rstd2 []float32 // (N)
	xn2   []float32 // (N, d_model) MLP norm output
	gate  []float32 // (N, mlp_hidden) ff_proj output before SiLU
	up    []float32 // (N, mlp_hidden) up_proj output
	act   []float32 // (N, mlp_hidden) silu(gate) ⊙ up
}

// Net runs the forward and backward passes of a model for batches of up
// to B sequences of T tokens. Every buffer is allocated by NewNet.
type Net struct {
	P, G *Params // parameters and their gradients (same layout)
	Pool *linalg.Pool
	B, T int

	cfg      *engine.Config
	cos, sin []float32   // (T, head_dim/2) RoPE tables
	x        [][]float32 // (n_layers+1, N, d_model) residual stream entering each block, then the final one
	layers   []layerActs
	rstdF    []float32 // (N)
	xnF      []float32 // (N, d_model) final norm output
	sel      []int32   // (N) rows that carry a loss, in order
	hsel     []float32 // (N, d_model) final norm output at those rows
	logits   []float32 // (N, embedding_size) their logits; the loss gradient after a training pass
	rowLoss  []float64 // (N) weighted cross-entropy of each selected row

	dx, dxn, datt, dq []float32 // (N, d_model) backward scratch
	dk, dv            []float32 // (N, kv_dim)
	dgate, dup        []float32 // (N, mlp_hidden)
	dscores           []float32 // (threads, T, T) one score-gradient matrix per worker
	dnorm             []float32 // (threads, d_model) per-worker norm weight gradients
	ceScratch         []float32 // (threads, embedding_size) exponentials of an evaluation row

	batch   *Batch // the batch of the last forward pass
	nsel    int
	trained bool // the last forward pass prepared gradients
}

// NewNet allocates the buffers for batches of up to B sequences of T
// tokens over p, with gradients in a new Params of the same shape.
func NewNet(p *Params, B, T int, pool *linalg.Pool) (*Net, error) {
	c := &p.Config
	if B <= 0 || T <= 0 {
		return nil, fmt.Errorf("%w: %d sequences of %d tokens", ErrBatch, B, T)
	}
	if T > c.MaxSequenceLen {
		return nil, fmt.Errorf("%w: %d tokens exceeds max_sequence_length %d", ErrBatch, T, c.MaxSequenceLen)
	}
	g, err := NewParams(*c)
	if err != nil {
		return nil, err
	}
	N := B * T
	d, kv, hid, V := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	f := func(n int) []float32 { return make([]float32, n) }
	n := &Net{P: p, G: g, Pool: pool, B: B, T: T, cfg: c}
	n.cos, n.sin = ropeTables(T, c.HeadDim(), c.RopeTheta)
	n.x = make([][]float32, c.NLayers+1)
	for i := range n.x {
		n.x[i] = f(N * d)
	}
	n.layers = make([]layerActs, c.NLayers)
	for i := range n.layers {
		n.layers[i] = layerActs{
			rstd1: f(N), xn1: f(N * d), q: f(N * d), k: f(N * kv), v: f(N * kv),
			probs: f(B * c.NHeads * T * T), att: f(N * d), h: f(N * d),
			rstd2: f(N), xn2: f(N * d), gate: f(N * hid), up: f(N * hid), act: f(N * hid),
		}
	}
	n.rstdF, n.xnF = f(N), f(N*d)
	n.sel, n.hsel, n.logits, n.rowLoss = make([]int32, N), f(N*d), f(N*V), make([]float64, N)
	n.dx, n.dxn, n.datt, n.dq = f(N*d), f(N*d), f(N*d), f(N*d)
	n.dk, n.dv = f(N*kv), f(N*kv)
	n.dgate, n.dup = f(N*hid), f(N*hid)
	n.dscores = f(pool.Threads * T * T)
	n.dnorm = f(pool.Threads * d)
	n.ceScratch = f(pool.Threads * V)
	return n, nil
}

// Loss runs the forward pass and returns the batch's loss, Σ weight ·
// cross-entropy over the positions with a target.
func (n *Net) Loss(b *Batch) (float64, error) { return n.forward(b, false) }

// LossAndGrad runs the forward and backward passes, adding the gradient
// of the loss to n.G (callers zero it between steps), and returns the loss.
func (n *Net) LossAndGrad(b *Batch) (float64, error) {
	loss, err := n.forward(b, true)
	if err != nil {
		return 0, err
	}
	n.backward()
	return loss, nil
}

// Logits are the logits (rows, embedding_size) of the positions with a
// target in the last forward pass made by Loss, in position order.
func (n *Net) Logits() []float32 {
	if n.trained {
		return nil
	}
	return n.logits[:n.nsel*n.cfg.EmbeddingSize]
}

func (n *Net) check(b *Batch) error {
	if b.B > n.B || b.T > n.T || b.B <= 0 || b.T <= 0 {
		return fmt.Errorf("%w: %d×%d, net takes up to %d×%d", ErrBatch, b.B, b.T, n.B, n.T)
	}
	N := b.B * b.T
	if len(b.Tokens) < N || len(b.Targets) < N || len(b.Weights) < N || len(b.Lens) < b.B {
		return fmt.Errorf("%w: slices shorter than %d×%d", ErrBatch, b.B, b.T)
	}
	V := int32(n.cfg.EmbeddingSize)
	for i := range N {
		if t := b.Tokens[i]; t < 0 || t >= V {
			return fmt.Errorf("%w: token %d outside the vocabulary of %d", ErrBatch, t, V)
		}
		if t := b.Targets[i]; t >= V {
			return fmt.Errorf("%w: target %d outside the vocabulary of %d", ErrBatch, t, V)
		}
	}
	for _, l := range b.Lens[:b.B] {
		if l < 1 || int(l) > b.T {
			return fmt.Errorf("%w: sequence length %d outside 1..%d", ErrBatch, l, b.T)
		}
	}
	return nil
}

func dense(data []float32, rows, cols int) linalg.View { return linalg.Dense(data, rows, cols) }

// weightT is Wᵀ (in, out) for a projection W (out, in), so x·Wᵀ is a plain
// product.
func weightT(m *quant.Matrix) linalg.View { return linalg.Dense(m.F32, m.Rows, m.Cols).T() }

func weight(m *quant.Matrix) linalg.View { return linalg.Dense(m.F32, m.Rows, m.Cols) }

// rows runs f over [0, n) on the pool.
func (n *Net) rows(count int, f func(worker, lo, hi int)) {
	n.Pool.For(count, func(w int, _ *linalg.Workspace, lo, hi int) { f(w, lo, hi) })
}

func (n *Net) add(dst, src []float32) {
	n.rows(len(dst), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] += src[i]
		}
	})
}

func (n *Net) forward(b *Batch, train bool) (float64, error) {
	if err := n.check(b); err != nil {
		return 0, err
	}
	c, w := n.cfg, &n.P.Weights
	N, T := b.B*b.T, b.T
	d, kv, hid, V := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	n.batch, n.trained = b, train

	// Embedding: x[n] = wte[token_n].
	x0 := n.x[0][:N*d]
	for i, id := range b.Tokens[:N] {
		copy(x0[i*d:(i+1)*d], w.Embed.F32[int(id)*d:][:d])
	}
	for l := range w.Layers {
		lw, a := &w.Layers[l], &n.layers[l]
		x := n.x[l][:N*d]
		// h = x + attn_out(attention(RoPE(q), RoPE(k), v)), q,k,v from RMSNorm_attn(x).
		n.rows(N, func(_, lo, hi int) { rmsNormRows(a.xn1, a.rstd1, x, lw.AttnNorm, c.RMSNormEps, lo, hi) })
		xn := dense(a.xn1, N, d)
		n.Pool.Mul(dense(a.q, N, d), xn, weightT(&lw.Q), false)
		n.Pool.Mul(dense(a.k, N, kv), xn, weightT(&lw.K), false)
		n.Pool.Mul(dense(a.v, N, kv), xn, weightT(&lw.V), false)
		n.rows(N, func(_, lo, hi int) {
			ropeRows(a.q, n.cos, n.sin, T, c.NHeads, c.HeadDim(), lo, hi, false)
			ropeRows(a.k, n.cos, n.sin, T, c.NKVHeads, c.HeadDim(), lo, hi, false)
		})
		n.attention(b, a)
		n.Pool.Mul(dense(a.h, N, d), dense(a.att, N, d), weightT(&lw.AttnOut), false)
		n.add(a.h[:N*d], x)

		// x' = h + ff_out(silu(ff_proj(m)) ⊙ up_proj(m)), m = RMSNorm_ff(h).
		n.rows(N, func(_, lo, hi int) { rmsNormRows(a.xn2, a.rstd2, a.h, lw.FFNorm, c.RMSNormEps, lo, hi) })
		m := dense(a.xn2, N, d)
		n.Pool.Mul(dense(a.gate, N, hid), m, weightT(&lw.FFProj), false)
		n.Pool.Mul(dense(a.up, N, hid), m, weightT(&lw.Up), false)
		n.rows(N*hid, func(_, lo, hi int) { linalg.SiLUMul(a.act[lo:hi], a.gate[lo:hi], a.up[lo:hi]) })
		next := n.x[l+1][:N*d]
		n.Pool.Mul(dense(next, N, d), dense(a.act, N, hid), weightT(&lw.FFOut), false)
		n.add(next, a.h[:N*d])
	}

	// Final RMSNorm, then the LM head only at the rows that carry a loss.
	n.rows(N, func(_, lo, hi int) { rmsNormRows(n.xnF, n.rstdF, n.x[c.NLayers], w.NormF, c.RMSNormEps, lo, hi) })
	ns := 0
	for i := range N {
		if b.Targets[i] >= 0 && int32(i%T) < b.Lens[i/T] {
			n.sel[ns] = int32(i)
			copy(n.hsel[ns*d:(ns+1)*d], n.xnF[i*d:(i+1)*d])
			ns++
		}
	}
	n.nsel = ns
	if ns == 0 {
		return 0, nil
	}
	n.Pool.Mul(dense(n.logits, ns, V), dense(n.hsel, ns, d), weightT(&w.Head), false)
	n.rows(ns, func(worker, lo, hi int) {
		scratch := n.ceScratch[worker*V : (worker+1)*V]
		for r := lo; r < hi; r++ {
			i := n.sel[r]
			wt := b.Weights[i]
			n.rowLoss[r] = float64(wt) * crossEntropy(n.logits[r*V:(r+1)*V], scratch, int(b.Targets[i]), wt, train)
		}
	})
	var loss float64
	for _, v := range n.rowLoss[:ns] {
		loss += v
	}
	return loss, nil
}

// attention computes softmax(q·kᵀ/sqrt(hd))·v for every sequence and head,
// keys past a sequence's length (and, when causal, after the query)
// hidden. Work items are (sequence, KV head) pairs so that the backward
// pass can give each item the key and value gradients it owns.
func (n *Net) attention(b *Batch, a *layerActs) {
	c := n.cfg
	T, d, kv, hd, H := b.T, c.DModel, c.KVDim(), c.HeadDim(), c.NHeads
	group := H / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	n.Pool.AddFlops(4 * int64(b.B*H) * int64(T*T*hd))
	n.Pool.For(b.B*c.NKVHeads, func(_ int, ws *linalg.Workspace, lo, hi int) {
		for it := lo; it < hi; it++ {
			s, g := it/c.NKVHeads, it%c.NKVHeads
			length := int(b.Lens[s])
			keys := linalg.Strided(a.k[s*T*kv+g*hd:], T, hd, kv)
			vals := linalg.Strided(a.v[s*T*kv+g*hd:], T, hd, kv)
			for h := g * group; h < (g+1)*group; h++ {
				p := a.probs[(s*H+h)*T*T:][:T*T]
				q := linalg.Strided(a.q[s*T*d+h*hd:], T, hd, d)
				linalg.Mul(ws, dense(p, T, T), q, keys.T(), false)
				for t := range T {
					see := length
					if b.Causal {
						see = min(see, t+1)
					}
					softmaxScaled(p[t*T:(t+1)*T], see, scale)
				}
				linalg.Mul(ws, linalg.Strided(a.att[s*T*d+h*hd:], T, hd, d), dense(p, T, T), vals, false)
			}
		}
	})
}

func (n *Net) backward() {
	c, w, gw := n.cfg, &n.P.Weights, &n.G.Weights
	b := n.batch
	N, T := b.B*b.T, b.T
	d, kv, hid, V := c.DModel, c.KVDim(), c.MLPHiddenSize, c.EmbeddingSize
	ns := n.nsel
	dx, dxn := n.dx[:N*d], n.dxn[:N*d]

	// LM head: logits now hold the loss gradient.
	clear(dxn)
	if ns > 0 {
		dlogits := dense(n.logits, ns, V)
		n.Pool.Mul(weight(&gw.Head), dlogits.T(), dense(n.hsel, ns, d), true)
		n.Pool.Mul(dense(n.hsel, ns, d), dlogits, weight(&w.Head), false) // hsel becomes its gradient
		for r, i := range n.sel[:ns] {
			copy(dxn[int(i)*d:][:d], n.hsel[r*d:(r+1)*d])
		}
	}
	clear(dx)
	n.normBack(dx, gw.NormF, dxn, n.x[c.NLayers], w.NormF, n.rstdF, N)

	for l := c.NLayers - 1; l >= 0; l-- {
		lw, lg, a := &w.Layers[l], &gw.Layers[l], &n.layers[l]
		// dx is the gradient of the block output h + ff_out(act).
		dy := dense(dx, N, d)
		n.Pool.Mul(weight(&lg.FFOut), dy.T(), dense(a.act, N, hid), true)
		n.Pool.Mul(dense(n.dgate, N, hid), dy, weight(&lw.FFOut), false)
		n.rows(N*hid, func(_, lo, hi int) { linalg.SiLUMulBack(n.dgate[lo:hi], n.dup[lo:hi], a.gate[lo:hi], a.up[lo:hi]) })
		dgate, dup := dense(n.dgate, N, hid), dense(n.dup, N, hid)
		m := dense(a.xn2, N, d)
		n.Pool.Mul(weight(&lg.FFProj), dgate.T(), m, true)
		n.Pool.Mul(weight(&lg.Up), dup.T(), m, true)
		n.Pool.Mul(dense(dxn, N, d), dgate, weight(&lw.FFProj), false)
		n.Pool.Mul(dense(dxn, N, d), dup, weight(&lw.Up), true)
		n.normBack(dx, lg.FFNorm, dxn, a.h, lw.FFNorm, a.rstd2, N)

		// dx is now the gradient of h = x + attn_out(att).
		n.Pool.Mul(weight(&lg.AttnOut), dy.T(), dense(a.att, N, d), true)
		n.Pool.Mul(dense(n.datt, N, d), dy, weight(&lw.AttnOut), false)
		n.attentionBack(b, a)
		n.rows(N, func(_, lo, hi int) {
			ropeRows(n.dq, n.cos, n.sin, T, c.NHeads, c.HeadDim(), lo, hi, true)
			ropeRows(n.dk, n.cos, n.sin, T, c.NKVHeads, c.HeadDim(), lo, hi, true)
		})
		dq, dk, dv := dense(n.dq, N, d), dense(n.dk, N, kv), dense(n.dv, N, kv)
		xn := dense(a.xn1, N, d)
		n.Pool.Mul(weight(&lg.Q), dq.T(), xn, true)
		n.Pool.Mul(weight(&lg.K), dk.T(), xn, true)
		n.Pool.Mul(weight(&lg.V), dv.T(), xn, true)
		n.Pool.Mul(dense(dxn, N, d), dq, weight(&lw.Q), false)
		n.Pool.Mul(dense(dxn, N, d), dk, weight(&lw.K), true)
		n.Pool.Mul(dense(dxn, N, d), dv, weight(&lw.V), true)
		n.normBack(dx, lg.AttnNorm, dxn, n.x[l], lw.AttnNorm, a.rstd1, N)
	}

	// Embedding rows gather the gradient of every position that used them.
	ge := gw.Embed.F32
	for i, id := range b.Tokens[:N] {
		row := ge[int(id)*d:][:d]
		for j, v := range dx[i*d : (i+1)*d] {
			row[j] += v
		}
	}
}

// normBack adds the RMSNorm input gradient to dx and its weight gradient
// to dw, each worker summing its rows' weight gradients apart first.
func (n *Net) normBack(dx, dw, dy, x, w, rstd []float32, N int) {
	d := len(w)
	clear(n.dnorm)
	n.rows(N, func(worker, lo, hi int) {
		rmsNormBackRows(dx, n.dnorm[worker*d:(worker+1)*d], dy, x, w, rstd, lo, hi)
	})
	for t := range n.Pool.Threads {
		for i, v := range n.dnorm[t*d : (t+1)*d] {
			dw[i] += v
		}
	}
}

// attentionBack turns datt into dq (overwritten) and dk, dv (zeroed, then
// summed over the query heads that share each KV head).
func (n *Net) attentionBack(b *Batch, a *layerActs) {
	c := n.cfg
	T, d, kv, hd, H := b.T, c.DModel, c.KVDim(), c.HeadDim(), c.NHeads
	group := H / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	clear(n.dk[:b.B*T*kv])
	clear(n.dv[:b.B*T*kv])
	n.Pool.AddFlops(8 * int64(b.B*H) * int64(T*T*hd))
	n.Pool.For(b.B*c.NKVHeads, func(worker int, ws *linalg.Workspace, lo, hi int) {
		ds := n.dscores[worker*n.T*n.T:][:T*T]
		for it := lo; it < hi; it++ {
			s, g := it/c.NKVHeads, it%c.NKVHeads
			keys := linalg.Strided(a.k[s*T*kv+g*hd:], T, hd, kv)
			vals := linalg.Strided(a.v[s*T*kv+g*hd:], T, hd, kv)
			dkeys := linalg.Strided(n.dk[s*T*kv+g*hd:], T, hd, kv)
			dvals := linalg.Strided(n.dv[s*T*kv+g*hd:], T, hd, kv)
			for h := g * group; h < (g+1)*group; h++ {
				p := dense(a.probs[(s*H+h)*T*T:], T, T)
				dout := linalg.Strided(n.datt[s*T*d+h*hd:], T, hd, d)
				q := linalg.Strided(a.q[s*T*d+h*hd:], T, hd, d)
				linalg.Mul(ws, dense(ds, T, T), dout, vals.T(), false) // dP = dO·Vᵀ
				linalg.Mul(ws, dvals, p.T(), dout, true)               // dV += Pᵀ·dO
				for t := range T {
					softmaxBack(ds[t*T:(t+1)*T], p.Data[t*T:(t+1)*T], scale)
				}
				linalg.Mul(ws, linalg.Strided(n.dq[s*T*d+h*hd:], T, hd, d), dense(ds, T, T), keys, false) // dQ = dS·K
				linalg.Mul(ws, dkeys, dense(ds, T, T).T(), q, true)                                       // dK += dSᵀ·Q
			}
		}
	})
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"unmask/engine"
	"unmask/quant"
	"unmask/tools/internal/genbench"
)

func init() {
	commands["bench"] = command{"measure forward passes per second, f32 and q8, or with --generate ms per generated token in each cache mode, as JSON", runBench}
}

// benchResult is one configuration's speed.
type benchResult struct {
	ForwardPerS float64 `json:"forward_per_s"`
	TokensPerS  float64 `json:"tokens_per_s"`
	GFLOPS      float64 `json:"gflops"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench")
	modelPath := fs.String("model", "", "model file")
	tokens := fs.Int("tokens", 0, "canvas length (0: min(256, max_sequence_length))")
	seconds := fs.Duration("time", 2*time.Second, "time per configuration")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "goroutines per pass")
	var gen generateBench
	fs.BoolVar(&gen.on, "generate", false, "time generation instead: ms per generated token with cache none, prefix and dual, each without and with --threshold, side by side")
	fs.StringVar(&gen.prompt, "prompt", "It was a fine morning, and", "with --generate: prompt text")
	fs.StringVar(&gen.ids, "ids", "", "with --generate: prompt as comma-separated token ids (in place of --prompt)")
	fs.BoolVar(&gen.chat, "chat", false, "with --generate: wrap the prompt in the chat template")
	gen.opts = engine.Options{Remasking: engine.LowConfidence, BlockLength: 32, GenLength: 224}
	fs.IntVar(&gen.opts.GenLength, "gen-length", gen.opts.GenLength, "with --generate: tokens to generate")
	fs.IntVar(&gen.opts.BlockLength, "block-length", gen.opts.BlockLength, "with --generate: block length")
	fs.IntVar(&gen.opts.Steps, "steps", 0, "with --generate: denoising steps without a threshold (0: one per token)")
	fs.Float64Var(&gen.threshold, "threshold", 0.9, "with --generate: the threshold of the threshold rows")
	fs.IntVar(&gen.rounds, "rounds", 3, "with --generate: timed generations per mode (the fastest counts)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *threads < 1 {
		return usageError{fmt.Errorf("--threads %d, want >= 1", *threads)}
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	if gen.on {
		return gen.run(m, *threads, stdout, stderr)
	}
	T := *tokens
	if T == 0 {
		T = min(256, m.Config.MaxSequenceLen)
	}
	if T < 1 || T > m.Config.MaxSequenceLen {
		return usageError{fmt.Errorf("--tokens %d outside 1..%d", T, m.Config.MaxSequenceLen)}
	}
	variants := map[string]*engine.Model{"f32": m, "q8": m}
	if m.DType() == quant.Q8 {
		variants["f32"] = m.Dequantize()
	} else {
		variants["q8"] = m.Quantize(0)
	}
	ids := make([]int, T)
	for i := range ids {
		ids[i] = (i * 7919) % m.Config.VocabSize
	}
	res := map[string]any{"tokens": T, "threads": *threads, "params": m.Params(), "kernel_path": quant.KernelPath()}
	for name, v := range variants {
		st := engine.NewState(v, T)
		st.Threads = *threads
		if _, err := st.Forward(ids); err != nil { // warm up
			return err
		}
		n, start := 0, time.Now()
		for time.Since(start) < *seconds {
			if _, err := st.Forward(ids); err != nil {
				return err
			}
			n++
		}
		perS := float64(n) / time.Since(start).Seconds()
		res[name] = benchResult{ForwardPerS: perS, TokensPerS: perS * float64(T), GFLOPS: perS * flops(&v.Config, T) / 1e9}
	}
	return json.NewEncoder(stdout).Encode(res)
}

// flops is the multiply-adds (counted as 2 operations) of one forward pass
// over T tokens: projections, attention, MLP and the head.
func flops(c *engine.Config, T int) float64 {
	d, kv, h, v := float64(c.DModel), float64(c.KVDim()), float64(c.MLPHiddenSize), float64(c.EmbeddingSize)
	t := float64(T)
	perLayer := t*(2*d*d+2*d*kv+3*d*h) + 2*t*t*d
	return 2 * (float64(c.NLayers)*perLayer + t*d*v)
}

// generateBench is llada bench --generate: the Fast-dLLM modes side by
// side (genbench) on one prompt.
type generateBench struct {
	on          bool
	prompt, ids string
	chat        bool
	opts        engine.Options
	threshold   float64
	rounds      int
}

func (g *generateBench) run(m *engine.Model, threads int, stdout, stderr io.Writer) error {
	if m.Config.Causal {
		return g.runCausal(m, threads, stdout, stderr)
	}
	if g.opts.Steps == 0 {
		g.opts.Steps = g.opts.GenLength
	}
	if g.rounds < 1 {
		return usageError{fmt.Errorf("--rounds %d, want >= 1", g.rounds)}
	}
	if !(g.threshold > 0 && g.threshold <= 1) {
		return usageError{fmt.Errorf("--threshold %v, want in (0, 1]", g.threshold)}
	}
	if err := g.opts.Validate(); err != nil {
		return usageError{err}
	}
	prompt, T, err := g.canvas(m)
	if err != nil {
		return err
	}
	st := engine.NewState(m, T)
	st.Threads = threads
	rows, err := genbench.Run(context.Background(), st, prompt, g.opts, genbench.Modes(g.threshold), g.rounds)
	if err != nil {
		return err
	}
	genbench.Table(stderr, fmt.Sprintf("%d tokens after a %d-token prompt, blocks of %d, %d steps, %s kernels, %d threads:",
		g.opts.GenLength, len(prompt), g.opts.BlockLength, g.opts.Steps, quant.KernelPath(), threads), rows)
	return json.NewEncoder(stdout).Encode(map[string]any{
		"prompt_tokens": len(prompt), "gen_length": g.opts.GenLength, "block_length": g.opts.BlockLength,
		"steps": g.opts.Steps, "threads": threads, "kernel_path": quant.KernelPath(), "generate": rows,
	})
}

// arResult is a causal model's decoding speed with its KV cache.
type arResult struct {
	Tokens            int     `json:"tokens"`
	MSPerToken        float64 `json:"ms_per_token"`
	TokensPerS        float64 `json:"tokens_per_s"`
	ForwardPasses     int     `json:"forward_passes"`
	PositionsComputed int     `json:"positions_computed"`
}

// runCausal times left-to-right decoding of a causal model (one position
// per pass against the KV cache), EOS suppressed so that every round
// writes --gen-length tokens; the fastest of --rounds counts.
func (g *generateBench) runCausal(m *engine.Model, threads int, stdout, stderr io.Writer) error {
	if g.rounds < 1 {
		return usageError{fmt.Errorf("--rounds %d, want >= 1", g.rounds)}
	}
	if g.opts.GenLength < 1 {
		return usageError{fmt.Errorf("--gen-length %d, want >= 1", g.opts.GenLength)}
	}
	prompt, T, err := g.canvas(m)
	if err != nil {
		return err
	}
	st := engine.NewState(m, T)
	st.Threads = threads
	opts := engine.Options{GenLength: g.opts.GenLength, SuppressEOS: true}
	rows, err := genbench.Run(context.Background(), st, prompt, opts, []genbench.Mode{{Cache: engine.NoCache}}, g.rounds)
	if err != nil {
		return err
	}
	r := rows[0]
	res := arResult{Tokens: g.opts.GenLength, MSPerToken: r.MSPerToken, TokensPerS: 1000 / r.MSPerToken,
		ForwardPasses: r.ForwardPasses, PositionsComputed: r.PositionsComputed}
	fmt.Fprintf(stderr, "causal model, %d tokens after a %d-token prompt with the KV cache, %s kernels, %d threads: %.3f ms per token, %.0f tokens/s\n",
		res.Tokens, len(prompt), quant.KernelPath(), threads, res.MSPerToken, res.TokensPerS)
	return json.NewEncoder(stdout).Encode(map[string]any{
		"prompt_tokens": len(prompt), "gen_length": g.opts.GenLength, "threads": threads,
		"kernel_path": quant.KernelPath(), "ar": res,
	})
}

// canvas is the benchmark's prompt and canvas length, refused when longer
// than the model's max_sequence_length.
func (g *generateBench) canvas(m *engine.Model) ([]int, int, error) {
	text := g.prompt
	if g.ids != "" {
		text = ""
	}
	prompt, err := promptIDs(m, text, g.ids, g.chat, 4)
	if err != nil {
		return nil, 0, err
	}
	T := len(prompt) + g.opts.GenLength
	if T > m.Config.MaxSequenceLen {
		return nil, 0, fmt.Errorf("%w: prompt %d + gen-length %d = %d tokens, limit %d",
			engine.ErrTooLong, len(prompt), g.opts.GenLength, T, m.Config.MaxSequenceLen)
	}
	return prompt, T, nil
}

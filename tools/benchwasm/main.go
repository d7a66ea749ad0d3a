// Command benchwasm measures the quant kernels and the engine's forward
// pass on the benchmark model (engine.BenchConfig: d_model 256, 6 layers,
// vocabulary 4096, ~5.4M parameters, int8 with one scale per row) over a
// 256-token canvas.
//
// Built natively it measures forward passes per second with the native
// kernels. Built for js/wasm and run under Node by web/kernels/run_node.js,
// it measures int8 kernel GOPS and forward passes per second for every
// kernel path the loader offers, plus plain Go in wasm, merges the native
// result given by --native, and prints
//
//	{"kernel_gops": {"simd": x, "relaxed": x|null, "go_wasm": x},
//	 "forward_per_s": {"simd": x, "go_wasm": x, "native": x}, "tokens": 256, "params": n}
//
// as its last line (one line), after a human-readable breakdown. With
// --generate it also times generation in Fast-dLLM's modes side by side
// (package genbench: cache none, prefix and dual, each without and with a
// threshold; ms per generated token) for the benchmark model after a
// 32-token prompt, and for the shipped base model and the instruct model
// (chat template) found in --models, each 224 tokens in blocks of 32 with
// 224 steps, and adds "generate": {model: {kernels: [rows]}}. `make
// bench-wasm` runs both. Each figure comes from the fastest of repeated
// calls, so that other work on a shared machine disturbs it less.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"unmask/engine"
	"unmask/quant"
	"unmask/tools/internal/genbench"
)

const tokens = 256

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchwasm:", err)
		os.Exit(2)
	}
}

// result is the final JSON line; native runs fill only their part.
type result struct {
	KernelGOPS  *kernelGOPS `json:"kernel_gops,omitempty"`
	ForwardPerS forwardPerS `json:"forward_per_s"`
	Tokens      int         `json:"tokens"`
	Params      int64       `json:"params"`
	// Generate holds, per model ("bench", "base", "instruct", "base_page",
	// "ar") and kernels ("native" or the wasm path), the genbench rows.
	Generate map[string]map[string][]genbench.Row `json:"generate,omitempty"`
	// ARVersusBase is, per kernels, the twin's speed against the base's at
	// the page's defaults.
	ARVersusBase map[string]versus `json:"ar_versus_base,omitempty"`
}

// versus is generated tokens per second of the autoregressive twin and the
// base at the page's defaults, and their ratio.
type versus struct {
	AR    float64 `json:"ar_tokens_per_s"`
	Base  float64 `json:"base_tokens_per_s"`
	Ratio float64 `json:"ratio"`
}

// versusOf reads the base_page and ar rows of one kernel path.
func versusOf(gen map[string]map[string][]genbench.Row, path string) (versus, bool) {
	ar, base := gen["ar"][path], gen["base_page"][path]
	if len(ar) == 0 || len(base) == 0 || ar[0].MSPerToken <= 0 || base[0].MSPerToken <= 0 {
		return versus{}, false
	}
	v := versus{AR: 1000 / ar[0].MSPerToken, Base: 1000 / base[0].MSPerToken}
	v.Ratio = v.AR / v.Base
	return v, true
}

// addVersus fills ARVersusBase for every kernel path with both rows and
// prints each.
func (r *result) addVersus(out io.Writer) {
	for _, path := range slices.Sorted(maps.Keys(r.Generate["ar"])) {
		if v, ok := versusOf(r.Generate, path); ok {
			if r.ARVersusBase == nil {
				r.ARVersusBase = map[string]versus{}
			}
			r.ARVersusBase[path] = v
			fmt.Fprintf(out, "%s kernels: autoregressive twin with its cache %.0f tokens/s, LLaDA base at the page's defaults %.0f tokens/s (%.1fx)\n",
				path, v.AR, v.Base, v.Ratio)
		}
	}
}

type forwardPerS struct {
	SIMD   *float64 `json:"simd"`
	GoWasm *float64 `json:"go_wasm"`
	Native *float64 `json:"native"`
}

type kernelGOPS struct {
	SIMD    *float64 `json:"simd"`
	Relaxed *float64 `json:"relaxed"`
	GoWasm  *float64 `json:"go_wasm"`
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchwasm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	native := fs.String("native", "", "JSON line of a native run to merge (wasm runs)")
	budget := fs.Duration("time", 3*time.Second, "time spent on each figure (at least 3 calls)")
	generate := fs.Bool("generate", false, "also time generation in every cache mode, with and without --threshold")
	models := fs.String("models", "web/models", "folder of unmask-base.unmask and unmask-instruct.unmask, for --generate")
	rounds := fs.Int("rounds", 1, "timed generations per mode with --generate (the fastest counts)")
	threshold := fs.Float64("threshold", 0.9, "the threshold of the threshold rows")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *budget <= 0 {
		return errors.New("--time must be positive")
	}
	if *rounds < 1 || !(*threshold > 0 && *threshold <= 1) {
		return fmt.Errorf("--rounds %d and --threshold %v: want >= 1 and in (0, 1]", *rounds, *threshold)
	}
	b := bench{budget: *budget, out: stdout}
	m := engine.RandomModel(engine.BenchConfig(), 1).Quantize(0)
	res := result{Tokens: tokens, Params: m.Params()}
	var cases []genCase
	if *generate {
		var err error
		if cases, err = genCases(m, *models); err != nil {
			return err
		}
	}

	if runtime.GOOS != "js" {
		path, err := quant.UseKernels("auto")
		if err != nil {
			return err
		}
		native := b.forward(m, "native ("+path+" kernels)")
		res.ForwardPerS.Native = &native
		if res.Generate, err = b.generate(cases, "native", *rounds, *threshold); err != nil {
			return err
		}
		res.addVersus(stdout)
		return json.NewEncoder(stdout).Encode(res)
	}

	var nativeRes result
	if *native != "" {
		data, err := os.ReadFile(*native)
		if err != nil {
			return err
		}
		lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
		if json.Unmarshal(lines[len(lines)-1], &nativeRes) != nil {
			return fmt.Errorf("%s: no JSON result on its last line", *native)
		}
	}
	available := quant.AvailableKernels()
	fmt.Fprintf(stdout, "kernel paths available: %v\n", available)
	gops := &kernelGOPS{}
	for _, p := range []struct {
		path    string
		gops    **float64
		forward **float64 // nil: kernel figure only
	}{{"simd", &gops.SIMD, &res.ForwardPerS.SIMD}, {"relaxed-simd", &gops.Relaxed, nil}, {"go", &gops.GoWasm, &res.ForwardPerS.GoWasm}} {
		if !slices.Contains(available, p.path) {
			continue
		}
		if _, err := quant.UseKernels(p.path); err != nil {
			return err
		}
		g := b.kernelGOPS(m, p.path)
		*p.gops = &g
		if p.forward != nil {
			f := b.forward(m, p.path+" kernels in wasm")
			*p.forward = &f
		}
	}
	res.KernelGOPS = gops
	res.ForwardPerS.Native = nativeRes.ForwardPerS.Native
	path, err := quant.UseKernels("auto")
	if err != nil {
		return err
	}
	if res.Generate, err = b.generate(cases, path, *rounds, *threshold); err != nil {
		return err
	}
	for name, byPath := range nativeRes.Generate {
		if res.Generate[name] != nil {
			res.Generate[name]["native"] = byPath["native"]
		}
	}
	res.addVersus(stdout)
	return json.NewEncoder(stdout).Encode(res)
}

// genCase is one model and prompt to time generation on, in the given
// modes (nil: every cache mode, with and without the threshold).
type genCase struct {
	name   string
	model  *engine.Model
	prompt []int
	opts   engine.Options
	modes  []genbench.Mode
}

// genCases are the benchmark model after a 32-token prompt, then the
// shipped base model after a sentence opening and the instruct model
// asked, through its chat template, to repeat a sentence: 224 tokens in
// blocks of 32, 224 steps, greedy. Last come the base at the page's
// defaults and the autoregressive twin (EOS suppressed, so it writes
// every token), after the same opening.
func genCases(bench *engine.Model, dir string) ([]genCase, error) {
	opts := engine.Options{Steps: 224, GenLength: 224, BlockLength: 32, Remasking: engine.LowConfidence}
	prompt := make([]int, 32)
	for i := range prompt {
		prompt[i] = (i * 7919) % bench.Config.VocabSize
	}
	cases := []genCase{{"bench", bench, prompt, opts, nil}}
	loaded := map[string]*engine.Model{}
	for _, c := range []struct {
		name, file, text string
		chat             bool
		opts             engine.Options
		modes            []genbench.Mode
	}{
		{"base", "unmask-base.unmask", "It was a fine morning, and", false, opts, nil},
		{"instruct", "unmask-instruct.unmask", "Repeat this sentence: It was a fine morning, and Elizabeth walked out.", true, opts, nil},
		{"base_page", "unmask-base.unmask", "It was a fine morning, and", false, pageDefaults, oneMode},
		{"ar", "unmask-ar.unmask", "It was a fine morning, and", false, engine.Options{GenLength: pageDefaults.GenLength, SuppressEOS: true}, oneMode},
	} {
		m := loaded[c.file] // the base serves two cases: read it once
		if m == nil {
			var err error
			if m, err = engine.LoadFile(filepath.Join(dir, c.file)); err != nil {
				return nil, err
			}
			if m.Tokenizer == nil {
				return nil, fmt.Errorf("%s has no tokenizer", c.file)
			}
			loaded[c.file] = m
		}
		ids, err := engine.PromptIDs(m.Tokenizer, c.text, c.chat, 4, m.Config.MaskTokenID)
		if err != nil {
			return nil, err
		}
		cases = append(cases, genCase{c.name, m, ids, c.opts, c.modes})
	}
	return cases, nil
}

// pageDefaults are the page's sampler settings for the base model
// (app/settings.go, app/models.go), with a fixed seed.
var pageDefaults = engine.Options{GenLength: 48, Steps: 48, BlockLength: 8, Temperature: 1,
	Remasking: engine.LowConfidence, Seed: 1}

// oneMode is the plain decoding of a case compared across models.
var oneMode = []genbench.Mode{{Cache: engine.NoCache}}

// generate runs genbench for every case with the active kernels, labelled
// path, printing a table each.
func (b bench) generate(cases []genCase, path string, rounds int, threshold float64) (map[string]map[string][]genbench.Row, error) {
	if len(cases) == 0 {
		return nil, nil
	}
	out := map[string]map[string][]genbench.Row{}
	for _, c := range cases {
		st := engine.NewState(c.model, len(c.prompt)+c.opts.GenLength)
		modes := c.modes
		if modes == nil {
			modes = genbench.Modes(threshold)
		}
		rows, err := genbench.Run(context.Background(), st, c.prompt, c.opts, modes, rounds)
		if err != nil {
			return nil, err
		}
		schedule := fmt.Sprintf("blocks of %d, %d steps", c.opts.BlockLength, c.opts.Steps)
		if c.model.Config.Causal {
			schedule = "left to right with the key/value cache"
		}
		genbench.Table(b.out, fmt.Sprintf("generate, %s model, %s kernels, %d tokens after %d, %s:",
			c.name, path, c.opts.GenLength, len(c.prompt), schedule), rows)
		out[c.name] = map[string][]genbench.Row{path: rows}
	}
	return out, nil
}

type bench struct {
	budget time.Duration
	out    io.Writer
}

// best calls f (which does n units of work) for b.budget, at least 3
// times, and returns the rate of the fastest call in units per second.
func (b bench) best(n float64, f func()) float64 {
	f() // warm up: caches, and V8's optimising tier
	fastest := time.Duration(1<<63 - 1)
	for calls, start := 0, time.Now(); calls < 3 || time.Since(start) < b.budget; calls++ {
		t := time.Now()
		f()
		fastest = min(fastest, time.Since(t))
	}
	return n / fastest.Seconds()
}

// forward measures passes per second over the whole 256-token canvas.
func (b bench) forward(m *engine.Model, label string) float64 {
	st := engine.NewState(m, tokens)
	ids := make([]int, tokens)
	for i := range ids {
		ids[i] = (i * 7919) % m.Config.VocabSize
	}
	perS := b.best(1, func() {
		if _, err := st.Forward(ids); err != nil {
			panic(err)
		}
	})
	fmt.Fprintf(b.out, "forward, %s: %.2f passes/s (%.1f ms)\n", label, perS, 1000/perS)
	return round2(perS)
}

// kernelGOPS is the int8 matrix-product rate over the projections of one
// layer and the LM head, as a forward pass calls them (activations already
// quantised; 2 operations per multiply-add).
func (b bench) kernelGOPS(m *engine.Model, path string) float64 {
	l := &m.Weights.Layers[0]
	mats := []*quant.Matrix{&l.Q, &l.K, &l.V, &l.AttnOut, &l.FFProj, &l.Up, &l.FFOut, &m.Weights.Head}
	type call struct {
		m      *quant.Matrix
		xq     []int8
		xs, y  []float32
		T, ops int
	}
	var calls []call
	var ops float64
	for i, w := range mats {
		x := make([]float32, tokens*w.Cols)
		for j := range x {
			x[j] = float32((j*31+i*7)%97)/48 - 1
		}
		c := call{m: w, xq: make([]int8, len(x)), xs: make([]float32, tokens*w.Groups()), y: make([]float32, tokens*w.Rows), T: tokens}
		quant.QuantizeActivations(c.xq, c.xs, x, w.Group)
		calls = append(calls, c)
		ops += 2 * float64(tokens*w.Rows*w.Cols)
	}
	gops := b.best(ops/1e9, func() {
		for _, c := range calls {
			quant.MatMulQ8(c.y, c.xq, c.xs, c.m.Q, c.m.Scales, c.T, c.m.Rows, c.m.Cols, c.m.Group, 0, c.m.Rows)
		}
	})
	fmt.Fprintf(b.out, "int8 matrix products, %s: %.1f GOPS\n", path, gops)
	return round2(gops)
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

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
// as its last line (one line), after a human-readable breakdown. `make
// bench-wasm` runs both. Each figure comes from the fastest of repeated
// calls, so that other work on a shared machine disturbs it less.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"unmask/engine"
	"unmask/quant"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *budget <= 0 {
		return errors.New("--time must be positive")
	}
	b := bench{budget: *budget, out: stdout}
	m := engine.RandomModel(engine.BenchConfig(), 1).Quantize(0)
	res := result{Tokens: tokens, Params: m.Params()}

	if runtime.GOOS != "js" {
		path, err := quant.UseKernels("auto")
		if err != nil {
			return err
		}
		native := b.forward(m, "native ("+path+" kernels)")
		res.ForwardPerS.Native = &native
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
	if _, err := quant.UseKernels("auto"); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
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

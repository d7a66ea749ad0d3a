package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"unmask/engine"
	"unmask/quant"
)

func init() {
	commands["bench"] = command{"measure forward passes per second, f32 and q8, as JSON", runBench}
}

// benchResult is one configuration's speed.
type benchResult struct {
	ForwardPerS float64 `json:"forward_per_s"`
	TokensPerS  float64 `json:"tokens_per_s"`
	GFLOPS      float64 `json:"gflops"`
}

func runBench(args []string, stdout, _ io.Writer) error {
	fs := newFlags("bench")
	modelPath := fs.String("model", "", "model file")
	tokens := fs.Int("tokens", 0, "canvas length (0: min(256, max_sequence_length))")
	seconds := fs.Duration("time", 2*time.Second, "time per configuration")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "goroutines per pass")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	T := *tokens
	if T == 0 {
		T = min(256, m.Config.MaxSequenceLen)
	}
	if T < 1 || T > m.Config.MaxSequenceLen {
		return usageError{fmt.Errorf("--tokens %d outside 1..%d", T, m.Config.MaxSequenceLen)}
	}
	if *threads < 1 {
		return usageError{fmt.Errorf("--threads %d, want >= 1", *threads)}
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

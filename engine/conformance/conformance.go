// Package conformance reads the LLaDA conformance fixtures in testdata/:
// tiny checkpoints with the reference code's logits and generate() traces
// (see testdata/README.md). Tests of the engine, the CLI and the worker
// compare against them.
package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"unmask/engine"
)

// Checkpoints names the fixture folders.
var Checkpoints = []string{"llada-tiny-f32", "llada-tiny-bf16-gqa"}

// Golden is a fixture's golden.json.
type Golden struct {
	MaskTokenID   int            `json:"mask_token_id"`
	LogitsCases   []LogitsCase   `json:"logits_cases"`
	GenerateCases []GenerateCase `json:"generate_cases"`
}

// LogitsCase is the reference's logits, (T, vocab), for a canvas.
type LogitsCase struct {
	InputIDs []int       `json:"input_ids"`
	Logits   [][]float64 `json:"logits"`
}

// GenerateCase is one run of the reference generate(): its options, the
// final canvas, and the canvas before every step followed by the final one.
type GenerateCase struct {
	Prompt      []int   `json:"prompt"`
	Steps       int     `json:"steps"`
	GenLength   int     `json:"gen_length"`
	BlockLength int     `json:"block_length"`
	CFGScale    float64 `json:"cfg_scale"`
	Temperature float64 `json:"temperature"`
	Remasking   string  `json:"remasking"`
	Output      []int   `json:"output"`
	Trace       [][]int `json:"trace"`
	// In golden_cache.json only: the Fast-dLLM generator ("none", "prefix"
	// or "dual"), its threshold (nil: the linear schedule) and the forward
	// passes it ran.
	Cache         string   `json:"cache,omitempty"`
	Threshold     *float64 `json:"threshold,omitempty"`
	ForwardPasses int      `json:"forward_passes,omitempty"`
}

// Options are the engine's sampler options for the case.
func (g GenerateCase) Options() engine.Options {
	o := engine.Options{Steps: g.Steps, GenLength: g.GenLength, BlockLength: g.BlockLength,
		CFGScale: g.CFGScale, Temperature: g.Temperature, Remasking: engine.Remasking(g.Remasking),
		Cache: engine.Cache(g.Cache)}
	if g.Threshold != nil {
		o.Threshold = *g.Threshold
	}
	return o
}

// Load reads dir/golden.json.
func Load(dir string) (Golden, error) { return load(dir, "golden.json") }

// LoadCache reads dir/golden_cache.json: Fast-dLLM's generators, with
// generate cases only.
func LoadCache(dir string) (Golden, error) { return load(dir, "golden_cache.json") }

func load(dir, name string) (Golden, error) {
	var g Golden
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return g, fmt.Errorf("%s: %w", dir, err)
	}
	return g, nil
}

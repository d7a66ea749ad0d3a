package main

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine/conformance"
)

// llada runs the command in-process and returns its exit status, stdout
// and stderr.
func llada(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// convertConformance converts a conformance checkpoint to a model file.
func convertConformance(t *testing.T, name, dtype string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+"."+dtype+".unmask")
	code, _, stderr := llada("convert", "--in", filepath.Join("..", "..", "testdata", name), "--out", file, "--dtype", dtype)
	require.Zero(t, code, stderr)
	return file
}

func readGolden(t *testing.T, name string) conformance.Golden {
	t.Helper()
	g, err := conformance.Load(filepath.Join("..", "..", "testdata", name))
	require.NoError(t, err)
	return g
}

func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

// TestCLIConformance: the CLI reproduces the reference's logits and every
// generation trace exactly from converted float32 files.
func TestCLIConformance(t *testing.T) {
	for _, name := range conformance.Checkpoints {
		file := convertConformance(t, name, "f32")
		g := readGolden(t, name)
		for _, lc := range g.LogitsCases {
			code, stdout, stderr := llada("logits", "--model", file, "--ids", joinIDs(lc.InputIDs))
			require.Zero(t, code, stderr)
			var got struct{ Logits [][]float64 }
			require.NoError(t, json.Unmarshal([]byte(stdout), &got))
			require.Len(t, got.Logits, len(lc.Logits))
			for i := range lc.Logits {
				require.Len(t, got.Logits[i], len(lc.Logits[i]))
				for j := range lc.Logits[i] {
					require.LessOrEqual(t, math.Abs(got.Logits[i][j]-lc.Logits[i][j]), 1e-3, "%s logits[%d][%d]", name, i, j)
				}
			}
		}
		for i, gc := range g.GenerateCases {
			code, stdout, stderr := llada("generate", "--model", file, "--ids", joinIDs(gc.Prompt),
				"--steps", strconv.Itoa(gc.Steps), "--gen-length", strconv.Itoa(gc.GenLength),
				"--block-length", strconv.Itoa(gc.BlockLength), "--temperature", "0",
				"--cfg", strconv.FormatFloat(gc.CFGScale, 'g', -1, 64), "--remasking", gc.Remasking, "--json")
			require.Zero(t, code, stderr)
			var got struct {
				Output []int   `json:"output"`
				Trace  [][]int `json:"trace"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &got))
			assert.Equal(t, gc.Output, got.Output, "%s case %d output", name, i)
			assert.Equal(t, gc.Trace, got.Trace, "%s case %d trace", name, i)
		}
	}
}

// TestCLICacheConformance: --cache and --threshold reproduce Fast-dLLM's
// cached and threshold generators' traces.
func TestCLICacheConformance(t *testing.T) {
	for _, name := range conformance.Checkpoints {
		file := convertConformance(t, name, "f32")
		g, err := conformance.LoadCache(filepath.Join("..", "..", "testdata", name))
		require.NoError(t, err)
		for i, gc := range g.GenerateCases {
			args := []string{"generate", "--model", file, "--ids", joinIDs(gc.Prompt),
				"--steps", strconv.Itoa(gc.Steps), "--gen-length", strconv.Itoa(gc.GenLength),
				"--block-length", strconv.Itoa(gc.BlockLength), "--cache", gc.Cache, "--json"}
			if gc.Threshold != nil {
				args = append(args, "--threshold", strconv.FormatFloat(*gc.Threshold, 'g', -1, 64))
			}
			code, stdout, stderr := llada(args...)
			require.Zero(t, code, stderr)
			var got struct {
				Trace [][]int `json:"trace"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &got))
			assert.Equal(t, gc.Trace, got.Trace, "%s case %d (%s)", name, i, gc.Cache)
		}
	}
}

// TestCLIErrors: every bad invocation is one line on stderr and status 2.
func TestCLIErrors(t *testing.T) {
	file := convertConformance(t, "llada-tiny-f32", "f32")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"generate", "--model", file, "--ids", "1", "--bogus"}, "bogus"},
		{"missing model flag", []string{"generate", "--ids", "1"}, "--model"},
		{"missing file", []string{"generate", "--model", "/nonexistent/m.unmask", "--ids", "1"}, "nonexistent"},
		{"bad remasking", []string{"generate", "--model", file, "--ids", "1", "--remasking", "greedy"}, "greedy"},
		{"bad cache", []string{"generate", "--model", file, "--ids", "1", "--cache", "full"}, "unknown cache \"full\""},
		{"bad ids", []string{"generate", "--model", file, "--ids", "1,x"}, "\"x\""},
		{"id outside vocabulary", []string{"generate", "--model", file, "--ids", "1,99999"}, "vocabulary"},
		{"prompt and ids", []string{"generate", "--model", file, "--ids", "1", "--prompt", "hi"}, "exactly one"},
		{"text without tokenizer", []string{"generate", "--model", file, "--prompt", "hi"}, "tokenizer"},
		{"too long", []string{"generate", "--model", file, "--ids", "1", "--gen-length", "512", "--block-length", "512", "--steps", "512"}, "max_sequence_length"},
		{"blocks do not divide", []string{"generate", "--model", file, "--ids", "1", "--gen-length", "10", "--block-length", "4"}, "multiple"},
		{"steps do not divide", []string{"generate", "--model", file, "--ids", "1", "--gen-length", "16", "--block-length", "8", "--steps", "5"}, "multiple"},
		{"logits without ids", []string{"logits", "--model", file}, "--ids"},
		{"positional argument", []string{"logits", "--model", file, "--ids", "1", "extra"}, "extra"},
		{"bench bad tokens", []string{"bench", "--model", file, "--tokens", "100000"}, "--tokens"},
	}
	for _, tt := range tests {
		code, stdout, stderr := llada(tt.args...)
		assert.Equal(t, 2, code, tt.name)
		assert.Empty(t, stdout, tt.name)
		if tt.name != "no command" {
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "%s: one line, got %q", tt.name, stderr)
		}
		assert.Contains(t, stderr, tt.want, tt.name)
	}
}

func TestCLIVisual(t *testing.T) {
	file := convertConformance(t, "llada-tiny-f32", "f32")
	code, stdout, stderr := llada("generate", "--model", file, "--ids", "5,17,99", "--steps", "4",
		"--gen-length", "8", "--block-length", "8", "--visual", "--delay", "0")
	require.Zero(t, code, stderr)
	assert.Equal(t, 5, strings.Count(stderr, "\x1b[H"), "a frame per step and a final one")
	assert.Contains(t, stderr, "done after 4 steps")
	var out []int
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Len(t, out, 11)
}

func TestCLIBench(t *testing.T) {
	file := convertConformance(t, "llada-tiny-f32", "q8")
	code, stdout, stderr := llada("bench", "--model", file, "--tokens", "16", "--time", "50ms")
	require.Zero(t, code, stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	for _, k := range []string{"f32", "q8"} {
		r := got[k].(map[string]any)
		assert.Greater(t, r["forward_per_s"].(float64), 0.0)
		assert.Greater(t, r["tokens_per_s"].(float64), 0.0)
	}
}

func TestCLIBenchGenerate(t *testing.T) {
	file := convertConformance(t, "llada-tiny-f32", "q8")
	code, stdout, stderr := llada("bench", "--model", file, "--generate", "--ids", "5,17,99",
		"--gen-length", "16", "--block-length", "8", "--rounds", "1", "--threshold", "0.05")
	require.Zero(t, code, stderr)
	assert.Contains(t, stderr, "ms/token")
	var got struct {
		Generate []struct {
			Cache         string  `json:"cache"`
			Threshold     float64 `json:"threshold"`
			MSPerToken    float64 `json:"ms_per_token"`
			ForwardPasses int     `json:"forward_passes"`
		} `json:"generate"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	require.Len(t, got.Generate, 6)
	for i, r := range got.Generate {
		assert.Equal(t, []string{"none", "prefix", "dual"}[i/2], r.Cache)
		assert.Equal(t, []float64{0, 0.05}[i%2], r.Threshold)
		assert.Greater(t, r.MSPerToken, 0.0)
		if r.Threshold == 0 {
			assert.Equal(t, 16, r.ForwardPasses, "one step per token by default")
		}
	}
	code, _, stderr = llada("bench", "--model", file, "--generate", "--ids", "5", "--rounds", "0")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--rounds")
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"unmask/tools/internal/genbench"
)

// Natively the command measures the forward pass alone and prints the
// native part of the result line that the wasm run merges.
func TestNativeResultLine(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run([]string{"--time=1ns"}, &out, io.Discard))
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	var res struct {
		KernelGOPS  *json.RawMessage    `json:"kernel_gops"`
		ForwardPerS map[string]*float64 `json:"forward_per_s"`
		Tokens      int                 `json:"tokens"`
		Params      int64               `json:"params"`
	}
	require.NoError(t, json.Unmarshal(lines[len(lines)-1], &res))
	require.Nil(t, res.KernelGOPS)
	require.NotNil(t, res.ForwardPerS["native"])
	require.Greater(t, *res.ForwardPerS["native"], 0.0)
	require.Nil(t, res.ForwardPerS["simd"])
	require.Equal(t, 256, res.Tokens)
	require.Equal(t, int64(5442816), res.Params)
}

func TestBadFlags(t *testing.T) {
	require.Error(t, run([]string{"--time=0s"}, io.Discard, io.Discard))
	require.Error(t, run([]string{"--no-such-flag"}, io.Discard, io.Discard))
	require.Error(t, run([]string{"--generate", "--rounds=0"}, io.Discard, io.Discard))
	require.Error(t, run([]string{"--generate", "--models=/nonexistent"}, io.Discard, io.Discard))
}

// The comparison line divides the twin's tokens per second by the base's,
// per kernel path, and only where both were timed.
func TestARVersusBase(t *testing.T) {
	rows := func(ms float64) []genbench.Row { return []genbench.Row{{MSPerToken: ms}} }
	res := result{Generate: map[string]map[string][]genbench.Row{
		"ar":        {"native": rows(0.5), "simd": rows(1)},
		"base_page": {"native": rows(10)},
	}}
	var out bytes.Buffer
	res.addVersus(&out)
	require.Equal(t, map[string]versus{"native": {AR: 2000, Base: 100, Ratio: 20}}, res.ARVersusBase)
	require.Contains(t, out.String(), "native kernels: autoregressive twin with its cache 2000 tokens/s, LLaDA base at the page's defaults 100 tokens/s (20.0x)")
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
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

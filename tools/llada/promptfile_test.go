package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shippedModel is the base model the page ships, which has a tokenizer.
var shippedModel = filepath.Join("..", "..", "web", "models", "unmask-base.unmask")

// TestPromptFile: --prompt-file (and - for standard input) gives the same
// generation as --prompt, and reads prompts longer than one command-line
// argument may be (128 KB), which are then refused for their length alone.
func TestPromptFile(t *testing.T) {
	dir := t.TempDir()
	const text = "It is a truth universally acknowledged"
	base := []string{"generate", "--model", shippedModel, "--gen-length", "8", "--block-length", "8", "--steps", "4", "--json"}
	code, want, stderr := llada(append(base, "--prompt", text)...)
	require.Zero(t, code, stderr)

	file := filepath.Join(dir, "prompt.txt")
	require.NoError(t, os.WriteFile(file, []byte(text+"\n"), 0o644))
	code, got, stderr := llada(append(base, "--prompt-file", file)...)
	require.Zero(t, code, stderr)
	assert.Equal(t, want, got, "a file ending in a newline")

	t.Cleanup(func() { stdin = os.Stdin })
	stdin = strings.NewReader(text + "\r\n")
	code, got, stderr = llada(append(base, "--prompt-file", "-")...)
	require.Zero(t, code, stderr)
	assert.Equal(t, want, got, "standard input")

	long := filepath.Join(dir, "long.txt")
	require.NoError(t, os.WriteFile(long, []byte(strings.Repeat("and so on ", 20_000)), 0o644)) // 200 KB
	empty := filepath.Join(dir, "empty.txt")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o644))
	huge := filepath.Join(dir, "huge.txt")
	require.NoError(t, os.WriteFile(huge, nil, 0o644))
	require.NoError(t, os.Truncate(huge, 1<<30))
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"200 KB prompt", []string{"--prompt-file", long}, "max_sequence_length"},
		{"empty file", []string{"--prompt-file", empty}, "empty"},
		{"1 GB file", []string{"--prompt-file", huge}, "longer than any prompt"},
		{"missing file", []string{"--prompt-file", filepath.Join(dir, "absent")}, "absent"},
		{"file and text", []string{"--prompt-file", file, "--prompt", text}, "exactly one"},
		{"file and ids", []string{"--prompt-file", file, "--ids", "1"}, "exactly one"},
	} {
		code, stdout, stderr := llada(append(base, tc.args...)...)
		assert.Equal(t, 2, code, tc.name)
		assert.Empty(t, stdout, tc.name)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "%s: %q", tc.name, stderr)
		assert.Contains(t, stderr, tc.says, tc.name)
	}
}

// TestStepsBound: more steps than masked positions is one line, however
// many (the schedule once panicked at 2^62 and allocated 8 GB at 1e9).
func TestStepsBound(t *testing.T) {
	for _, tc := range []struct{ steps, says string }{
		{"4611686018427387904", "limit"},
		{"1000000000", "limit"},
		{"16", "16 steps for 8 masked positions"},
	} {
		code, stdout, stderr := llada("generate", "--model", shippedModel, "--ids", "1,2", "--gen-length", "8", "--block-length", "8", "--steps", tc.steps)
		assert.Equal(t, 2, code, tc.steps)
		assert.Empty(t, stdout)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
		assert.Contains(t, stderr, tc.says)
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"unmask/engine"
)

// parseIDs reads a comma-separated list of token ids.
func parseIDs(s string) ([]int, error) {
	var ids []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("--ids: %q is not a token id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// loadModel opens a model file, as a usage error when the flag is missing.
func loadModel(path string) (*engine.Model, error) {
	if path == "" {
		return nil, usageError{fmt.Errorf("--model is required")}
	}
	return engine.LoadFile(path)
}

// maxPromptFile bounds --prompt-file: every token covers at least one byte,
// so a longer text could not fit any canvas the engine accepts.
const maxPromptFile = 4 * engine.MaxSequenceLimit

// stdin is where --prompt-file - reads; tests replace it.
var stdin io.Reader = os.Stdin

// errPromptFile reports a prompt file that cannot be a prompt.
var errPromptFile = errors.New("--prompt-file")

// readPromptFile reads a prompt from path, or from standard input for "-",
// dropping one final line end (as left by echo or an editor).
func readPromptFile(path string) (string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPromptFile+1))
	if err != nil {
		return "", fmt.Errorf("%w: %w", errPromptFile, err)
	}
	if len(data) > maxPromptFile {
		return "", fmt.Errorf("%w: %s is over %d bytes, longer than any prompt a model accepts", errPromptFile, path, maxPromptFile)
	}
	text := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if text == "" {
		return "", fmt.Errorf("%w: %s is empty", errPromptFile, path)
	}
	return text, nil
}

// countSet counts the non-empty values.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

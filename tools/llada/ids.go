package main

import (
	"fmt"
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

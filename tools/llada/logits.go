package main

import (
	"encoding/json"
	"fmt"
	"io"

	"unmask/engine"
)

func init() {
	commands["logits"] = command{"print the mask predictor's logits for a canvas as JSON", runLogits}
}

func runLogits(args []string, stdout, _ io.Writer) error {
	fs := newFlags("logits")
	modelPath := fs.String("model", "", "model file")
	idList := fs.String("ids", "", "comma-separated token ids (the canvas)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *idList == "" {
		return usageError{fmt.Errorf("--ids is required")}
	}
	ids, err := parseIDs(*idList)
	if err != nil {
		return err
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	logits, err := engine.NewState(m, len(ids)).Forward(ids)
	if err != nil {
		return err
	}
	V := m.Config.EmbeddingSize
	rows := make([][]float32, len(ids))
	for t := range rows {
		rows[t] = logits[t*V : (t+1)*V]
	}
	return json.NewEncoder(stdout).Encode(map[string]any{"logits": rows})
}

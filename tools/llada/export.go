package main

import (
	"fmt"
	"io"
	"path/filepath"

	"unmask/engine/checkpoint"
	"unmask/quant"
)

func init() {
	commands["export"] = command{"write a model file as a LLaDA checkpoint folder (F32 safetensors)", runExport}
}

func runExport(args []string, stdout, _ io.Writer) error {
	fs := newFlags("export")
	modelPath := fs.String("model", "", "model file")
	out := fs.String("out", "", "checkpoint folder to write (created if needed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{fmt.Errorf("--out is required")}
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	if err := checkpoint.Write(*out, m); err != nil {
		return err
	}
	note := ""
	if m.DType() != quant.F32 {
		note = ", int8 weights dequantised"
	}
	fmt.Fprintf(stdout, "wrote %s and %s: %d parameters in F32%s\n",
		filepath.Join(*out, checkpoint.ConfigFile), filepath.Join(*out, checkpoint.WeightsFile), m.Params(), note)
	return nil
}

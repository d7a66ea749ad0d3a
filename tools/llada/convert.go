package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"unmask/engine"
	"unmask/engine/checkpoint"
	"unmask/quant"
)

func init() {
	commands["convert"] = command{"convert a LLaDA checkpoint folder (or a model file) to a model file", runConvert}
}

func runConvert(args []string, stdout, _ io.Writer) error {
	fs := newFlags("convert")
	in := fs.String("in", "", "LLaDA checkpoint folder (config.json and model.safetensors, or shards with model.safetensors.index.json), or a model file")
	out := fs.String("out", "", "model file to write")
	dtypeName := fs.String("dtype", "", "weight storage: f32 or q8 (default: as the input, so a model file is rewritten with its weights unchanged)")
	group := fs.Int("group", 0, "q8 only: columns per scale (0: one scale per row)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usageError{fmt.Errorf("--in and --out are required")}
	}
	var dtype quant.DType
	if *dtypeName != "" {
		d, err := quant.ParseDType(*dtypeName)
		if err != nil {
			return usageError{fmt.Errorf("--dtype: %w", err)}
		}
		dtype = d
	}
	if *group < 0 {
		return usageError{fmt.Errorf("--group %d: want 0 (per row) or a positive column count", *group)}
	}
	if *group > 0 && (*dtypeName == "" || dtype != quant.Q8) {
		return usageError{fmt.Errorf("--group applies to --dtype q8 only")}
	}

	m, err := loadAny(*in)
	if err != nil {
		return err
	}
	if *dtypeName == "" {
		dtype = m.DType() // rewritten as read
	}
	switch {
	case m.DType() == quant.Q8 && dtype == quant.F32:
		m = m.Dequantize()
	case m.DType() == quant.Q8 && *dtypeName != "":
		return fmt.Errorf("%s is already q8: convert from its float32 source", *in)
	case dtype == quant.Q8 && m.DType() == quant.F32:
		q := m.Quantize(*group)
		reportQuantization(stdout, m, q)
		m = q
	}
	size, err := writeModelFile(*out, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d parameters, %d bytes\n", *out, m.DType(), m.Params(), size)
	return nil
}

// loadAny reads a checkpoint folder, or a model file (the trainer's float32
// output, say) when in names a file. Model files of an older version are
// read too, so that converting one rewrites it as the current version.
func loadAny(in string) (*engine.Model, error) {
	info, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return checkpoint.Load(in)
	}
	return engine.LoadFileForConversion(in)
}

// reportQuantization prints, for every matrix, the largest difference
// between the float32 weights and their int8 rounding, then a summary.
func reportQuantization(w io.Writer, f32, q8 *engine.Model) {
	ft, qt := f32.Weights.Tensors(), q8.Weights.Tensors()
	var worst float32
	worstName, matrices, perRow := "", 0, 0
	for i := range ft {
		if ft[i].Matrix == nil {
			continue
		}
		fm, qm := ft[i].Matrix, qt[i].Matrix
		var amax float32
		for _, v := range fm.F32 {
			amax = max(amax, v, -v)
		}
		e := qm.MaxAbsError(fm.F32)
		rel := float32(0)
		if amax > 0 {
			rel = e / amax
		}
		fmt.Fprintf(w, "%-48s %5dx%-5d group %-5d max|err| %.3e (%.3f%% of max|w| %.3g)\n",
			ft[i].Name, fm.Rows, fm.Cols, qm.Group, e, 100*rel, amax)
		matrices++
		if qm.Group == qm.Cols {
			perRow++
		}
		if e >= worst {
			worst, worstName = e, ft[i].Name
		}
	}
	fmt.Fprintf(w, "q8: %d matrices (%d with one scale per row), max|err| %.3e in %s\n", matrices, perRow, worst, worstName)
}

// writeModelFile encodes m next to path and renames it into place, so a
// failed conversion never leaves a partial file under the final name. The
// file is read back before the rename. It returns the file's size.
func writeModelFile(path string, m *engine.Model) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	bw := bufio.NewWriter(tmp)
	err = m.Encode(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if _, err := engine.LoadFile(tmp.Name()); err != nil {
		return 0, fmt.Errorf("the written file does not load back: %w", err)
	}
	info, err := os.Stat(tmp.Name())
	if err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, err
	}
	return info.Size(), os.Rename(tmp.Name(), path)
}

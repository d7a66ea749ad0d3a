package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/checkpoint"
)

var conformanceCheckpoints = []string{"llada-tiny-f32", "llada-tiny-bf16-gqa"}

func conformanceDir(name string) string { return filepath.Join("..", "..", "testdata", name) }

// requireSameModel compares configuration and every tensor bit for bit.
func requireSameModel(t *testing.T, want, got *engine.Model) {
	t.Helper()
	require.Equal(t, want.Config, got.Config)
	wt, gt := want.Weights.Tensors(), got.Weights.Tensors()
	require.Len(t, gt, len(wt))
	for i := range wt {
		if wt[i].Vector != nil {
			require.Equal(t, *wt[i].Vector, *gt[i].Vector, wt[i].Name)
			continue
		}
		w, g := wt[i].Matrix, gt[i].Matrix
		require.Equal(t, w.DType, g.DType, wt[i].Name)
		require.Equal(t, w.Group, g.Group, wt[i].Name)
		require.Equal(t, w.F32, g.F32, wt[i].Name)
		require.Equal(t, w.Q, g.Q, wt[i].Name)
		require.Equal(t, w.Scales, g.Scales, wt[i].Name)
	}
}

// TestConvertConformance converts both checkpoints to f32 and q8 files and
// checks that they hold exactly the checkpoint's weights (q8: their
// rounding), and that q8 prints one error line per matrix and a summary.
func TestConvertConformance(t *testing.T) {
	for _, name := range conformanceCheckpoints {
		want, err := checkpoint.Load(conformanceDir(name))
		require.NoError(t, err)
		matrices := 2 + 7*want.Config.NLayers
		for _, tc := range []struct {
			dtype string
			group int
			flags []string
		}{
			{"f32", 0, nil},
			{"q8", 0, nil},
			{"q8", 16, []string{"--group", "16"}},
		} {
			t.Run(name+"/"+tc.dtype+"/"+strings.Join(tc.flags, ""), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "model.unmask")
				args := append([]string{"convert", "--in", conformanceDir(name), "--out", out, "--dtype", tc.dtype}, tc.flags...)
				code, stdout, stderr := llada(args...)
				require.Zero(t, code, stderr)
				require.Empty(t, stderr)
				got, err := engine.LoadFile(out)
				require.NoError(t, err)
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				require.True(t, strings.HasPrefix(lines[len(lines)-1], "wrote "+out+": "+tc.dtype), stdout)
				if tc.dtype == "f32" {
					requireSameModel(t, want, got)
					require.Len(t, lines, 1)
					return
				}
				requireSameModel(t, want.Quantize(tc.group), got)
				require.Len(t, lines, matrices+2, stdout)
				for i, tensor := range want.Weights.Tensors() {
					if tensor.Matrix != nil {
						require.Contains(t, stdout, tensor.Name+" ", "tensor %d", i)
					}
				}
				require.Contains(t, lines[matrices], "q8: ")
				require.Contains(t, lines[matrices], "max|err|")
				t.Log(lines[matrices])
			})
		}
	}
}

// TestConvertExportErrors: bad flags, missing or broken inputs and
// unwritable outputs exit with status 2 and one line on stderr.
func TestConvertExportErrors(t *testing.T) {
	dir := t.TempDir()
	notModel := filepath.Join(dir, "not-a-model")
	require.NoError(t, os.WriteFile(notModel, []byte("hello"), 0o644))
	good := filepath.Join(dir, "good.unmask")
	code, _, stderr := llada("convert", "--in", conformanceDir("llada-tiny-f32"), "--out", good)
	require.Zero(t, code, stderr)
	tiny := conformanceDir("llada-tiny-f32")
	out := filepath.Join(dir, "out.unmask")
	cases := []struct {
		name string
		args []string
		says string
	}{
		{"convert without flags", []string{"convert"}, "--in and --out are required"},
		{"convert without --out", []string{"convert", "--in", tiny}, "--out"},
		{"unknown flag", []string{"convert", "--in", tiny, "--out", out, "--bits", "4"}, "-bits"},
		{"positional argument", []string{"convert", "--in", tiny, "--out", out, "extra"}, "extra"},
		{"unknown dtype", []string{"convert", "--in", tiny, "--out", out, "--dtype", "q4"}, "q4"},
		{"negative group", []string{"convert", "--in", tiny, "--out", out, "--dtype", "q8", "--group", "-1"}, "--group"},
		{"group with f32", []string{"convert", "--in", tiny, "--out", out, "--group", "32"}, "--group"},
		{"group not a number", []string{"convert", "--in", tiny, "--out", out, "--group", "x"}, "-group"},
		{"missing folder", []string{"convert", "--in", filepath.Join(dir, "absent"), "--out", out}, "absent"},
		{"folder without weights", []string{"convert", "--in", dir, "--out", out}, "config.json"},
		{"output folder missing", []string{"convert", "--in", tiny, "--out", filepath.Join(dir, "no", "such", "m.unmask")}, "no"},
		{"export without flags", []string{"export"}, "--out"},
		{"export without --model", []string{"export", "--out", dir}, "--model"},
		{"export missing model", []string{"export", "--model", filepath.Join(dir, "absent.unmask"), "--out", dir}, "absent.unmask"},
		{"export not a model", []string{"export", "--model", notModel, "--out", dir}, "bad magic"},
		{"export onto a file", []string{"export", "--model", good, "--out", notModel}, "not-a-model"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := llada(tc.args...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
			require.True(t, strings.HasPrefix(stderr, "llada "+tc.args[0]+": "), stderr)
			require.Contains(t, stderr, tc.says)
		})
	}
	_, err := os.Stat(out)
	require.ErrorIs(t, err, os.ErrNotExist, "a failed conversion left a file behind")
	leftovers, err := filepath.Glob(filepath.Join(dir, ".*"))
	require.NoError(t, err)
	require.Empty(t, leftovers, "temporary files left behind")
}

// asVersion1 rewrites a current model file in the version 1 layout: a 16
// byte prefix, and the sha256 of the data section alone in the header.
func asVersion1(t *testing.T, file []byte) []byte {
	t.Helper()
	hlen := int(binary.LittleEndian.Uint32(file[12:]))
	var header map[string]any
	require.NoError(t, json.Unmarshal(file[48:48+hlen], &header))
	data := file[(48+hlen+63)/64*64:]
	sum := sha256.Sum256(data)
	header["data_sha256"] = hex.EncodeToString(sum[:])
	js, err := json.Marshal(header)
	require.NoError(t, err)
	out := make([]byte, (16+len(js)+63)/64*64)
	copy(out, file[:8])
	binary.LittleEndian.PutUint32(out[8:], 1)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(js)))
	copy(out[16:], js)
	return append(out, data...)
}

// TestConvertRewritesVersion1 converts a version 1 file, which the engine
// refuses to load, into the current version with the same weights and, when
// the input is int8, without re-quantising.
func TestConvertRewritesVersion1(t *testing.T) {
	dir := t.TempDir()
	for _, dtype := range []string{"f32", "q8"} {
		current := filepath.Join(dir, dtype+".unmask")
		code, _, stderr := llada("convert", "--in", conformanceDir("llada-tiny-f32"), "--out", current, "--dtype", dtype, "--group", map[string]string{"f32": "0", "q8": "16"}[dtype])
		require.Zero(t, code, stderr)
		data, err := os.ReadFile(current)
		require.NoError(t, err)
		old := filepath.Join(dir, dtype+"-v1.unmask")
		require.NoError(t, os.WriteFile(old, asVersion1(t, data), 0o644))

		code, _, stderr = llada("logits", "--model", old, "--ids", "1,2")
		require.Equal(t, 2, code)
		require.Contains(t, stderr, "re-convert")
		require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)

		again := filepath.Join(dir, dtype+"-again.unmask")
		code, _, stderr = llada("convert", "--in", old, "--out", again)
		require.Zero(t, code, stderr)
		rewritten, err := os.ReadFile(again)
		require.NoError(t, err)
		require.Equal(t, data, rewritten, "converting the version 1 file gives back the current file")
	}
}

// TestConvertRefusesNonFinite converts a checkpoint with a NaN weight: one
// line naming the tensor, and no file written.
func TestConvertRefusesNonFinite(t *testing.T) {
	dir := t.TempDir()
	m, err := checkpoint.Load(conformanceDir("llada-tiny-f32"))
	require.NoError(t, err)
	m.Weights.Layers[1].V.F32[3] = float32(math.Inf(-1))
	src := filepath.Join(dir, "ckpt")
	require.NoError(t, os.MkdirAll(src, 0o755))
	// Write refuses nothing numeric, so the bad weight reaches the file.
	require.NoError(t, checkpoint.Write(src, m))
	out := filepath.Join(dir, "m.unmask")
	code, stdout, stderr := llada("convert", "--in", src, "--out", out)
	require.Equal(t, 2, code)
	require.Empty(t, stdout)
	require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
	require.Contains(t, stderr, "model.transformer.blocks.1.v_proj.weight")
	_, err = os.Stat(out)
	require.ErrorIs(t, err, os.ErrNotExist)
}

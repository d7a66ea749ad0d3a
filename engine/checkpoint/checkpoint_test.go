package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/engine/conformance"
	"unmask/quant"
)

const testdata = "../../testdata"

// TestConformanceLogits loads both conformance checkpoints and compares the
// forward pass with the reference implementation's logits.
func TestConformanceLogits(t *testing.T) {
	for _, name := range conformance.Checkpoints {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(testdata, name)
			m, err := Load(dir)
			require.NoError(t, err)
			require.Equal(t, quant.F32, m.DType())
			golden, err := conformance.Load(dir)
			require.NoError(t, err)
			require.NotEmpty(t, golden.LogitsCases)
			st := engine.NewState(m, 0)
			V := m.Config.EmbeddingSize
			for _, c := range golden.LogitsCases {
				logits, err := st.Forward(c.InputIDs)
				require.NoError(t, err)
				require.Len(t, c.Logits, len(c.InputIDs))
				var worst float64
				for i, row := range c.Logits {
					require.Len(t, row, V)
					for j, want := range row {
						worst = max(worst, math.Abs(float64(logits[i*V+j])-want))
					}
				}
				t.Logf("%d tokens: max |logit - golden| = %.3g", len(c.InputIDs), worst)
				require.Less(t, worst, 1e-3)
			}
		})
	}
}

// TestShardsMatchSingleFile checks that the sharded bf16 checkpoint loads
// the same weights as one file holding all of them.
func TestShardsMatchSingleFile(t *testing.T) {
	sharded, err := Load(filepath.Join(testdata, "llada-tiny-bf16-gqa"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, Write(dir, sharded))
	single, err := Load(dir)
	require.NoError(t, err)
	requireSameWeights(t, sharded, single)
}

func requireSameWeights(t *testing.T, want, got *engine.Model) {
	t.Helper()
	require.Equal(t, want.Config, got.Config)
	wt, gt := want.Weights.Tensors(), got.Weights.Tensors()
	for i := range wt {
		if wt[i].Vector != nil {
			require.Equal(t, *wt[i].Vector, *gt[i].Vector, wt[i].Name)
		} else {
			require.Equal(t, wt[i].Matrix.Dequantize(), gt[i].Matrix.Dequantize(), wt[i].Name)
		}
	}
}

func smallConfig(vocab int) engine.Config {
	return engine.Config{DModel: 16, NHeads: 4, NKVHeads: 2, NLayers: 2, MLPHiddenSize: 40,
		VocabSize: vocab, EmbeddingSize: vocab, RopeTheta: 500000, RMSNormEps: 1e-6,
		MaxSequenceLen: 32, MaskTokenID: vocab - 1, EOSTokenID: vocab - 4, PadTokenID: vocab - 4}
}

func TestWriteLoadRoundTrip(t *testing.T) {
	tok, err := bpe.Train(slices.Values([]string{"the cat sat on the mat", "the cat ate the rat"}), 266, bpe.DefaultSpecials)
	require.NoError(t, err)
	c := smallConfig(tok.VocabSize())
	f32 := engine.RandomModel(c, 9)
	f32.Tokenizer = tok
	for _, m := range []*engine.Model{f32, f32.Quantize(0), f32.Quantize(8)} {
		dir := t.TempDir()
		require.NoError(t, Write(dir, m))
		got, err := Load(dir)
		require.NoError(t, err)
		require.Equal(t, quant.F32, got.DType())
		requireSameWeights(t, m, got)
		require.NotNil(t, got.Tokenizer)
		require.Equal(t, tok.Encode("the cat sat"), got.Tokenizer.Encode("the cat sat"))

		// Writing again over the folder gives the same files.
		first, err := os.ReadFile(filepath.Join(dir, WeightsFile))
		require.NoError(t, err)
		require.NoError(t, Write(dir, got))
		second, err := os.ReadFile(filepath.Join(dir, WeightsFile))
		require.NoError(t, err)
		require.Equal(t, first, second)
	}
}

func TestWrittenConfigHasEveryLLaDAKey(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Write(dir, engine.RandomModel(smallConfig(50), 1)))
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	// Every key of a conformance checkpoint's config.json, with the same
	// value for the architecture flags.
	ref, err := os.ReadFile(filepath.Join(testdata, "llada-tiny-f32", ConfigFile))
	require.NoError(t, err)
	var want map[string]any
	require.NoError(t, json.Unmarshal(ref, &want))
	for key, v := range want {
		require.Contains(t, got, key)
		switch v.(type) {
		case bool, string:
			if key != "torch_dtype" {
				require.Equal(t, v, got[key], key)
			}
		}
	}
	require.Equal(t, 50.0, got["embedding_size"])
	require.Equal(t, 2.0, got["n_kv_heads"])
	require.Equal(t, "float32", got["torch_dtype"])
}

// copyDir copies a checkpoint folder so that a test can damage it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
	}
	return dst
}

// rawTensor is a tensor with its stored bytes, for writing damaged files.
type rawTensor struct {
	dtype string
	shape []int64
	data  []byte
}

// readRaw reads every tensor of a safetensors file as stored.
func readRaw(t *testing.T, path string) map[string]rawTensor {
	t.Helper()
	f, err := openSafetensors(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]rawTensor{}
	for name, e := range f.header.Tensors {
		buf := make([]byte, e.DataOffsets[1]-e.DataOffsets[0])
		_, err := f.f.ReadAt(buf, f.dataStart+e.DataOffsets[0])
		require.NoError(t, err)
		out[name] = rawTensor{e.DType, e.Shape, buf}
	}
	return out
}

// writeRaw writes tensors in any dtype, in name order.
func writeRaw(t *testing.T, path string, tensors map[string]rawTensor) {
	t.Helper()
	header := map[string]any{}
	var data []byte
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range tensors {
			if !yield(n) {
				return
			}
		}
	}) {
		r := tensors[name]
		header[name] = stEntry{r.dtype, r.shape, [2]int64{int64(len(data)), int64(len(data) + len(r.data))}}
		data = append(data, r.data...)
	}
	js, err := json.Marshal(header)
	require.NoError(t, err)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	require.NoError(t, os.WriteFile(path, append(append(out, js...), data...), 0o644))
}

func TestLoadRejectsBadCheckpoints(t *testing.T) {
	const q0 = "model.transformer.blocks.0.q_proj.weight"
	f32 := filepath.Join(testdata, "llada-tiny-f32")
	bf16 := filepath.Join(testdata, "llada-tiny-bf16-gqa")
	shard1, shard2 := "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
	editWeights := func(src, file string, edit func(map[string]rawTensor)) func(t *testing.T) string {
		return func(t *testing.T) string {
			dir := copyDir(t, src)
			ts := readRaw(t, filepath.Join(dir, file))
			edit(ts)
			writeRaw(t, filepath.Join(dir, file), ts)
			return dir
		}
	}
	editFile := func(src, file string, edit func(string) string) func(t *testing.T) string {
		return func(t *testing.T) string {
			dir := copyDir(t, src)
			p := filepath.Join(dir, file)
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, []byte(edit(string(data))), 0o644))
			return dir
		}
	}
	remove := func(src, file string) func(t *testing.T) string {
		return func(t *testing.T) string {
			dir := copyDir(t, src)
			require.NoError(t, os.Remove(filepath.Join(dir, file)))
			return dir
		}
	}
	cases := []struct {
		name   string
		folder func(t *testing.T) string
		want   error  // nil: only the message is checked
		says   string // a fragment of the message
	}{
		{"no folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent") }, os.ErrNotExist, "config.json"},
		{"no config", remove(f32, ConfigFile), os.ErrNotExist, "config.json"},
		{"no weights", remove(f32, WeightsFile), os.ErrNotExist, WeightsFile},
		{"missing shard", remove(bf16, shard2), os.ErrNotExist, shard2},
		{"unsupported flag", editFile(f32, ConfigFile, func(s string) string {
			return strings.Replace(s, `"alibi": false`, `"alibi": true`, 1)
		}), engine.ErrConfig, "alibi"},
		{"config not JSON", editFile(f32, ConfigFile, func(s string) string { return s[:40] }), nil, "config.json"},
		{"missing tensor", editWeights(f32, WeightsFile, func(ts map[string]rawTensor) { delete(ts, q0) }), ErrCheckpoint, "missing tensor " + q0},
		{"extra tensor", editWeights(f32, WeightsFile, func(ts map[string]rawTensor) {
			ts["model.transformer.wpe.weight"] = ts["model.transformer.ln_f.weight"]
		}), ErrCheckpoint, "unexpected tensor model.transformer.wpe.weight"},
		{"mis-shaped tensor", editWeights(f32, WeightsFile, func(ts map[string]rawTensor) {
			r := ts[q0]
			r.shape = []int64{r.shape[0] / 2, r.shape[1] * 2}
			ts[q0] = r
		}), ErrCheckpoint, q0},
		{"unsupported dtype", editWeights(f32, WeightsFile, func(ts map[string]rawTensor) {
			r := ts[q0]
			r.dtype = "I32"
			ts[q0] = r
		}), ErrCheckpoint, "I32"},
		{"corrupt header", editFile(f32, WeightsFile, func(s string) string { return s[:8] + "[" + s[9:] }), ErrSafetensors, WeightsFile},
		{"truncated weights", editFile(f32, WeightsFile, func(s string) string { return s[:len(s)-4] }), ErrSafetensors, WeightsFile},
		{"index not JSON", editFile(bf16, IndexFile, func(s string) string { return "{" }), nil, IndexFile},
		{"index empty", editFile(bf16, IndexFile, func(s string) string { return "{}" }), ErrCheckpoint, "weight_map"},
		{"index escapes the folder", editFile(bf16, IndexFile, func(s string) string {
			return strings.ReplaceAll(s, `"`+shard2+`"`, `"../`+shard2+`"`)
		}), ErrCheckpoint, "outside the folder"},
		{"index names the wrong shard", editFile(bf16, IndexFile, func(s string) string {
			return strings.Replace(s, `"model.transformer.ff_out.weight": "`+shard2, `"model.transformer.ff_out.weight": "`+shard1, 1)
		}), ErrCheckpoint, "model.transformer.ff_out.weight"},
		{"tensor in two shards", editWeights(bf16, shard1, func(ts map[string]rawTensor) {
			ts["model.transformer.ff_out.weight"] = ts["model.transformer.wte.weight"]
		}), ErrCheckpoint, "model.transformer.ff_out.weight"},
		// Sizes from config.json are checked against the tensors present
		// before anything is allocated from them (776 GB and 4 GB here).
		{"n_layers 1e9", editFile(f32, ConfigFile, func(s string) string {
			return strings.Replace(s, `"n_layers": 2`, `"n_layers": 1000000000`, 1)
		}), engine.ErrShape, "n_layers 1000000000"},
		{"d_model 1e9", editFile(f32, ConfigFile, func(s string) string {
			return strings.Replace(s, `"d_model": 64`, `"d_model": 1000000000`, 1)
		}), engine.ErrShape, "model.transformer.wte.weight"},
		{"max_sequence_length 1e9", editFile(f32, ConfigFile, func(s string) string {
			return strings.Replace(s, `"max_sequence_length": 256`, `"max_sequence_length": 1000000000`, 1)
		}), engine.ErrConfig, "max_sequence_length"},
		{"config.json endless", func(t *testing.T) string {
			dir := copyDir(t, f32)
			require.NoError(t, os.Remove(filepath.Join(dir, ConfigFile)))
			if err := os.Symlink("/dev/zero", filepath.Join(dir, ConfigFile)); err != nil {
				t.Skip(err)
			}
			return dir
		}, ErrCheckpoint, "limit"},
		{"NaN weight", editWeights(f32, WeightsFile, func(ts map[string]rawTensor) {
			binary.LittleEndian.PutUint32(ts[q0].data[4:], math.Float32bits(float32(math.NaN())))
		}), engine.ErrNonFinite, q0},
		{"infinite weight", editWeights(f32, WeightsFile, func(ts map[string]rawTensor) {
			binary.LittleEndian.PutUint32(ts["model.transformer.ln_f.weight"].data, math.Float32bits(float32(math.Inf(1))))
		}), engine.ErrNonFinite, "model.transformer.ln_f.weight"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.folder(t))
			require.Nil(t, m)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			require.ErrorContains(t, err, tc.says)
			t.Log(err)
		})
	}
}

func TestWriteRefusesInvalidModel(t *testing.T) {
	m := engine.RandomModel(smallConfig(50), 1)
	m.Weights.NormF = m.Weights.NormF[:3]
	require.Error(t, Write(t.TempDir(), m))
}

func TestWriteReplacesStaleIndex(t *testing.T) {
	dir := copyDir(t, filepath.Join(testdata, "llada-tiny-bf16-gqa"))
	m := engine.RandomModel(smallConfig(50), 3)
	require.NoError(t, Write(dir, m))
	got, err := Load(dir)
	require.NoError(t, err)
	requireSameWeights(t, m, got)
}

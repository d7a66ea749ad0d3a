package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/x448/float16"

	"unmask/engine/bpe"
	"unmask/quant"
)

var updateFileSeeds = flag.Bool("update-file-seeds", false, "rewrite the committed model file seeds under testdata/fuzz/FuzzLoad")

// tinyConfig is a grouped-query model small enough for fuzz seeds.
func tinyConfig() Config {
	return Config{DModel: 8, NHeads: 2, NKVHeads: 1, NLayers: 2, MLPHiddenSize: 16,
		VocabSize: 11, EmbeddingSize: 12, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 16, MaskTokenID: 11, EOSTokenID: 10, PadTokenID: 10}
}

// patternModel fills a float32 model for c with weights from a fixed
// formula: different for every seed and tensor, independent of any random
// generator, so the committed seed files stay valid.
func patternModel(c Config, seed uint64) *Model {
	m := &Model{Config: c}
	m.Weights.Layers = make([]Layer, c.NLayers)
	shapes := c.ExpectedShapes()
	for k, t := range m.Weights.Tensors() {
		shape := shapes[t.Name]
		n := shape[0]
		if len(shape) == 2 {
			n *= shape[1]
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(math.Sin(float64(i+1)*(0.7+float64(k)*0.13) + float64(seed)))
		}
		if t.Vector != nil {
			*t.Vector = v
		} else {
			*t.Matrix = quant.NewF32(v, shape[0], shape[1])
		}
	}
	return m
}

func encode(t testing.TB, m *Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, m.Encode(&buf))
	return buf.Bytes()
}

// requireSameWeights compares every tensor bit for bit.
func requireSameWeights(t *testing.T, want, got *Model) {
	t.Helper()
	require.Equal(t, want.Config, got.Config)
	wt, gt := want.Weights.Tensors(), got.Weights.Tensors()
	require.Len(t, gt, len(wt))
	for i := range wt {
		require.Equal(t, wt[i].Name, gt[i].Name)
		if wt[i].Vector != nil {
			require.Equal(t, *wt[i].Vector, *gt[i].Vector, wt[i].Name)
			continue
		}
		w, g := wt[i].Matrix, gt[i].Matrix
		require.Equal(t, w.DType, g.DType, wt[i].Name)
		require.Equal(t, [2]int{w.Rows, w.Cols}, [2]int{g.Rows, g.Cols}, wt[i].Name)
		require.Equal(t, w.F32, g.F32, wt[i].Name)
		require.Equal(t, w.Q, g.Q, wt[i].Name)
		require.Equal(t, w.Scales, g.Scales, wt[i].Name)
		require.Equal(t, w.Group, g.Group, wt[i].Name)
	}
}

func TestEncodeLoadRoundTrip(t *testing.T) {
	f32 := patternModel(tinyConfig(), 1)
	cases := []struct {
		name  string
		model *Model
		dtype quant.DType
	}{
		{"f32", f32, quant.F32},
		{"q8 per row", f32.Quantize(0), quant.Q8},
		{"q8 group 4", f32.Quantize(4), quant.Q8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(t, tc.model)
			require.Equal(t, FileMagic, string(data[:8]))
			got, err := Load(data)
			require.NoError(t, err)
			requireSameWeights(t, tc.model, got)
			require.Equal(t, tc.dtype, got.DType())
			require.Equal(t, f32.Params(), got.Params())
			require.Equal(t, data, encode(t, got), "re-encoding a loaded model changes the file")
		})
	}
}

func TestTokenizerRoundTrip(t *testing.T) {
	tok, err := bpe.Train(slices.Values([]string{"a rose is a rose is a rose"}), 264, bpe.DefaultSpecials)
	require.NoError(t, err)
	c := tinyConfig()
	c.VocabSize, c.EmbeddingSize = tok.VocabSize(), tok.VocabSize()
	c.MaskTokenID, _ = tok.Special(bpe.Mask)
	c.EOSTokenID, _ = tok.Special(bpe.EOS)
	m := patternModel(c, 8)
	m.Tokenizer = tok
	got, err := Load(encode(t, m))
	require.NoError(t, err)
	require.IsType(t, tok, got.Tokenizer)
	require.Equal(t, tok.Merges(), got.Tokenizer.(*bpe.Tokenizer).Merges())
	require.Equal(t, tok.Encode("a rose is"), got.Tokenizer.Encode("a rose is"))

	// A tokenizer whose special ids disagree with the config is refused on
	// both sides.
	bad := *m
	bad.Config.EOSTokenID = 3
	require.ErrorContains(t, bad.Encode(&bytes.Buffer{}), "eos")
	edited := rewriteHeader(t, encode(t, m), func(h *fileHeader) { h.Config.MaskTokenID = 3 })
	_, err = Load(edited)
	require.ErrorIs(t, err, ErrHeader)
	require.ErrorContains(t, err, "mask")
	small := rewriteHeader(t, encode(t, m), func(h *fileHeader) { h.Tokenizer = json.RawMessage(`{"type":"byte-bpe"}`) })
	_, err = Load(small)
	require.ErrorIs(t, err, bpe.ErrFormat)
}

// wordTokenizer is a Tokenizer the model file has no stored form for.
type wordTokenizer struct{}

func (wordTokenizer) Encode(string) []int        { return nil }
func (wordTokenizer) Decode([]int) string        { return "" }
func (wordTokenizer) Token(int) string           { return "" }
func (wordTokenizer) Special(string) (int, bool) { return 0, false }

func TestEncodeRefusesUnknownTokenizer(t *testing.T) {
	m := patternModel(tinyConfig(), 1)
	m.Tokenizer = wordTokenizer{}
	require.ErrorIs(t, m.Encode(&bytes.Buffer{}), ErrTokenizerType)
}

func TestParams(t *testing.T) {
	c := tinyConfig()
	d, kv, h, v := 8, 4, 16, 12
	want := 2*v*d + d + c.NLayers*(2*d+2*d*d+2*kv*d+3*h*d)
	require.EqualValues(t, want, patternModel(c, 1).Params())
	require.EqualValues(t, want, c.paramCount())
}

func TestLoadUsesBufferInPlace(t *testing.T) {
	for _, m := range []*Model{patternModel(tinyConfig(), 2), patternModel(tinyConfig(), 2).Quantize(4)} {
		data := encode(t, m)
		got, err := Load(data)
		require.NoError(t, err)
		inside := func(p unsafe.Pointer) bool {
			base := uintptr(unsafe.Pointer(&data[0]))
			return uintptr(p) >= base && uintptr(p) < base+uintptr(len(data))
		}
		e := &got.Weights.Embed
		if e.DType == quant.F32 {
			require.True(t, inside(unsafe.Pointer(&e.F32[0])), "f32 weights were copied")
		} else {
			require.True(t, inside(unsafe.Pointer(&e.Q[0])), "int8 weights were copied")
		}
		require.True(t, inside(unsafe.Pointer(&got.Weights.NormF[0])), "norm weights were copied")
	}
}

func TestLoadMisalignedBuffer(t *testing.T) {
	m := patternModel(tinyConfig(), 3)
	data := encode(t, m)
	for shift := 1; shift < 4; shift++ {
		buf := make([]byte, len(data)+shift)
		copy(buf[shift:], data)
		got, err := Load(buf[shift:])
		require.NoError(t, err)
		requireSameWeights(t, m, got)
	}
}

func TestLoadFile(t *testing.T) {
	m := patternModel(tinyConfig(), 4).Quantize(0)
	path := filepath.Join(t.TempDir(), "m.unmask")
	require.NoError(t, os.WriteFile(path, encode(t, m), 0o644))
	got, err := LoadFile(path)
	require.NoError(t, err)
	requireSameWeights(t, m, got)

	_, err = LoadFile(filepath.Join(t.TempDir(), "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestLoadFileReadsOnlyWhatIsDeclared gives LoadFile endless devices and
// files whose size disagrees with their header: each is refused at once,
// before the data is read (a 10 GB sparse file would otherwise be read
// into memory).
func TestLoadFileReadsOnlyWhatIsDeclared(t *testing.T) {
	valid := encode(t, patternModel(tinyConfig(), 4))
	dir := t.TempDir()
	write := func(name string, data []byte, size int64) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		if size > 0 {
			require.NoError(t, os.Truncate(path, size))
		}
		return path
	}
	cases := []struct {
		name string
		path string
		want error
	}{
		{"endless zeros", "/dev/zero", ErrMagic},
		{"endless noise", "/dev/urandom", ErrMagic},
		{"10 GB sparse file", write("sparse", valid, 10<<30), ErrHeader},
		{"cut short", write("short", valid[:len(valid)-1], 0), ErrTruncated},
		{"cut in the header", write("header", valid[:100], 0), ErrTruncated},
		{"huge header length", write("hlen", slices.Concat(valid[:12], []byte{0xff, 0xff, 0xff, 0x7f}, valid[16:]), 0), ErrHeader},
		{"version 1", write("v1", frameV1(t, valid), 0), ErrVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.path); err != nil {
				t.Skip(err)
			}
			m, err := LoadFile(tc.path)
			require.Nil(t, m)
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.path)
			require.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestLoadFileForConversion reads a version 1 file, which only the
// converter may, with its data checksum still checked.
func TestLoadFileForConversion(t *testing.T) {
	m := patternModel(tinyConfig(), 4).Quantize(4)
	v1 := frameV1(t, encode(t, m))
	dir := t.TempDir()
	path := filepath.Join(dir, "v1.unmask")
	require.NoError(t, os.WriteFile(path, v1, 0o644))
	_, err := LoadFile(path)
	require.ErrorIs(t, err, ErrVersion)
	require.ErrorContains(t, err, "re-convert")
	got, err := LoadFileForConversion(path)
	require.NoError(t, err)
	requireSameWeights(t, m, got)

	v1[len(v1)-1] ^= 1
	require.NoError(t, os.WriteFile(path, v1, 0o644))
	_, err = LoadFileForConversion(path)
	require.ErrorIs(t, err, ErrChecksum)
}

// rewriteHeader re-frames a valid file around an edited header, keeping the
// data section unchanged and computing a new sha256, so that the loader's
// structural checks are what decides.
func rewriteHeader(t *testing.T, data []byte, edit func(h *fileHeader)) []byte {
	t.Helper()
	f, err := parseFile(data)
	require.NoError(t, err)
	edit(f.header)
	header, err := json.Marshal(f.header)
	require.NoError(t, err)
	return frame(header, f.section)
}

// frame assembles prefix (with the sha256 of the rest), header, padding and
// data section, independently of Encode.
func frame(header, section []byte) []byte {
	start := (prefixLen + len(header) + 63) / 64 * 64
	out := make([]byte, start, start+len(section))
	copy(out, "\x89UNMASK\n")
	binary.LittleEndian.PutUint32(out[8:], 2)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(header)))
	copy(out[48:], header)
	out = append(out, section...)
	sum := sha256.Sum256(out[48:])
	copy(out[16:48], sum[:])
	return out
}

// frameV1 assembles a version 1 file: 16 byte prefix, and the header's
// data_sha256 covering the data section only.
func frameV1(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := parseFile(data)
	require.NoError(t, err)
	sum := sha256.Sum256(f.section)
	f.header.DataSHA256 = hex.EncodeToString(sum[:])
	header, err := json.Marshal(f.header)
	require.NoError(t, err)
	start := (16 + len(header) + 63) / 64 * 64
	out := make([]byte, start, start+len(f.section))
	copy(out, "\x89UNMASK\n")
	binary.LittleEndian.PutUint32(out[8:], 1)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(header)))
	copy(out[16:], header)
	return append(out, f.section...)
}

// withExtraTensor appends a well-formed tensor that the model does not use.
func withExtraTensor(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := parseFile(data)
	require.NoError(t, err)
	h, section := f.header, f.section
	off := alignUp(h.DataBytes)
	h.Tensors = append(h.Tensors, fileTensor{Name: "model.transformer.wpe.weight", DType: "f32", Shape: []int{16}, Offset: off, Bytes: 64})
	section = append(bytes.Clone(section), make([]byte, off+64-h.DataBytes)...)
	h.DataBytes = int64(len(section))
	header, err := json.Marshal(h)
	require.NoError(t, err)
	return frame(header, section)
}

// replaceOnce swaps one occurrence of old in b for new of the same length,
// as a flipped bit in the stored file would.
func replaceOnce(t *testing.T, b []byte, old, new string) {
	t.Helper()
	require.Len(t, new, len(old))
	i := bytes.Index(b, []byte(old))
	require.GreaterOrEqual(t, i, 0, "%s not in the file", old)
	copy(b[i:], new)
}

// withWeight stores v as the first value of a float32 or float16 tensor,
// with a sha256 that matches.
func withWeight(t *testing.T, data []byte, name string, v float32) []byte {
	t.Helper()
	f, err := parseFile(data)
	require.NoError(t, err)
	section := bytes.Clone(f.section)
	e := tensorByName(f.header, name)
	switch e.DType {
	case "f32":
		binary.LittleEndian.PutUint32(section[e.Offset:], math.Float32bits(v))
	case "f16":
		binary.LittleEndian.PutUint16(section[e.Offset:], float16.Fromfloat32(v).Bits())
	}
	header, err := json.Marshal(f.header)
	require.NoError(t, err)
	return frame(header, section)
}

func tensorByName(h *fileHeader, name string) *fileTensor {
	for i := range h.Tensors {
		if h.Tensors[i].Name == name {
			return &h.Tensors[i]
		}
	}
	panic("no tensor " + name)
}

func TestLoadRejectsBadFiles(t *testing.T) {
	valid := encode(t, patternModel(tinyConfig(), 5))
	q8 := encode(t, patternModel(tinyConfig(), 5).Quantize(4))
	const wte, q = "model.transformer.wte.weight", "model.transformer.blocks.0.q_proj.weight"
	headerLen := int(binary.LittleEndian.Uint32(valid[12:]))
	dataStart := int(alignUp(prefixLen + int64(headerLen)))
	f, err := parseFile(valid)
	require.NoError(t, err)
	h := f.header
	gap := dataStart + int(h.Tensors[1].Offset+h.Tensors[1].Bytes) // zero padding after a norm vector
	require.Less(t, gap, dataStart+int(h.Tensors[2].Offset))
	edit := func(base []byte, f func(h *fileHeader)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return rewriteHeader(t, base, f) }
	}
	bytesOf := func(b []byte) func(*testing.T) []byte { return func(*testing.T) []byte { return b } }
	modify := func(f func(b []byte)) func(*testing.T) []byte {
		return func(*testing.T) []byte {
			b := bytes.Clone(valid)
			f(b)
			return b
		}
	}
	cases := []struct {
		name string
		file func(t *testing.T) []byte
		want []error
	}{
		{"empty", bytesOf(nil), []error{ErrTruncated}},
		{"magic only", bytesOf([]byte(FileMagic)), []error{ErrTruncated}},
		{"short text", bytesOf([]byte("GGUF")), []error{ErrMagic}},
		{"other format", bytesOf([]byte("{\"__metadata__\": {}} and more text")), []error{ErrMagic}},
		{"version 3", modify(func(b []byte) { b[8] = 3 }), []error{ErrVersion}},
		{"version 1", func(t *testing.T) []byte { return frameV1(t, valid) }, []error{ErrVersion}},
		{"version 0", modify(func(b []byte) { b[8] = 0 }), []error{ErrVersion}},
		{"huge header length", modify(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 1<<31) }), []error{ErrHeader}},
		{"header past the end", modify(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], uint32(len(b))) }), []error{ErrTruncated}},
		{"cut in the header", bytesOf(valid[:prefixLen+headerLen/2]), []error{ErrTruncated}},
		{"cut in the padding", bytesOf(valid[:prefixLen+headerLen]), []error{ErrTruncated}},
		{"cut in the data", bytesOf(valid[:dataStart+100]), []error{ErrTruncated}},
		{"one byte short", bytesOf(valid[:len(valid)-1]), []error{ErrTruncated}},
		{"trailing byte", bytesOf(append(bytes.Clone(valid), 0)), []error{ErrHeader}},
		{"flipped data bit", modify(func(b []byte) { b[dataStart+5] ^= 1 }), []error{ErrChecksum}},
		{"flipped last bit", modify(func(b []byte) { b[len(b)-1] ^= 0x80 }), []error{ErrChecksum}},
		{"flipped padding bit", modify(func(b []byte) { b[gap] ^= 1 }), []error{ErrChecksum}},
		{"header not JSON", modify(func(b []byte) { b[prefixLen] = '[' }), []error{ErrHeader}},
		{"flipped checksum bit", modify(func(b []byte) { b[sumOffset+31] ^= 1 }), []error{ErrChecksum}},
		{"flipped rope_theta digit", modify(func(b []byte) { replaceOnce(t, b, `"rope_theta":10000`, `"rope_theta":90000`) }), []error{ErrChecksum}},
		{"flipped pad id", modify(func(b []byte) { replaceOnce(t, b, `"pad_token_id":10`, `"pad_token_id":11`) }), []error{ErrChecksum}},
		{"flipped tensor name", modify(func(b []byte) { replaceOnce(t, b, `ln_f.weight`, `ln_g.weight`) }), []error{ErrChecksum}},
		{"rope_theta out of range", edit(valid, func(h *fileHeader) { h.Config.RopeTheta = 1e12 }), []error{ErrHeader, ErrConfig}},
		{"rms_norm_eps out of range", edit(valid, func(h *fileHeader) { h.Config.RMSNormEps = 2 }), []error{ErrHeader, ErrConfig}},
		{"pad id past the vocabulary", edit(valid, func(h *fileHeader) { h.Config.PadTokenID = 12 }), []error{ErrHeader, ErrConfig}},
		{"max_sequence_length 1e9", edit(valid, func(h *fileHeader) { h.Config.MaxSequenceLen = 1e9 }), []error{ErrHeader, ErrConfig}},
		{"NaN weight", func(t *testing.T) []byte {
			return withWeight(t, valid, "model.transformer.blocks.1.ff_norm.weight", float32(math.NaN()))
		}, []error{ErrTensor, ErrNonFinite}},
		{"infinite weight", func(t *testing.T) []byte { return withWeight(t, valid, wte, float32(math.Inf(-1))) }, []error{ErrTensor, ErrNonFinite}},
		{"infinite int8 scale", func(t *testing.T) []byte { return withWeight(t, q8, q+scalesSuffix, float32(math.Inf(1))) }, []error{ErrTensor, ErrNonFinite}},
		{"bad config", edit(valid, func(h *fileHeader) { h.Config.NHeads = 3 }), []error{ErrHeader, ErrConfig}},
		{"absurd config", edit(valid, func(h *fileHeader) { h.Config.NLayers = 1 << 40 }), []error{ErrTensor, ErrShape}},
		{"n_layers 1e9", edit(valid, func(h *fileHeader) { h.Config.NLayers = 1e9 }), []error{ErrTensor, ErrShape}},
		{"d_model 1e9", edit(valid, func(h *fileHeader) { h.Config.DModel, h.Config.NHeads, h.Config.NKVHeads = 1e9, 1e6, 1e6 }), []error{ErrTensor, ErrShape}},
		{"config/tensor mismatch", edit(valid, func(h *fileHeader) { h.Config.MLPHiddenSize = 8 }), []error{ErrTensor}},
		{"missing tensor", edit(valid, func(h *fileHeader) { h.Tensors = h.Tensors[1:] }), []error{ErrTensor}},
		{"renamed tensor", edit(valid, func(h *fileHeader) { h.Tensors[0].Name = "model.transformer.wpe.weight" }), []error{ErrTensor}},
		{"unexpected tensor", func(t *testing.T) []byte { return withExtraTensor(t, valid) }, []error{ErrTensor}},
		{"duplicate tensor", edit(valid, func(h *fileHeader) { h.Tensors[1].Name = h.Tensors[0].Name }), []error{ErrTensor}},
		{"transposed shape", edit(valid, func(h *fileHeader) { s := tensorByName(h, wte); s.Shape = []int{s.Shape[1], s.Shape[0]} }), []error{ErrTensor}},
		{"3-d shape", edit(valid, func(h *fileHeader) { tensorByName(h, wte).Shape = []int{12, 2, 4} }), []error{ErrTensor}},
		{"zero dimension", edit(valid, func(h *fileHeader) { tensorByName(h, wte).Shape = []int{0, 8} }), []error{ErrTensor}},
		{"negative dimension", edit(valid, func(h *fileHeader) { tensorByName(h, wte).Shape = []int{-12, -8} }), []error{ErrTensor}},
		{"huge shape", edit(valid, func(h *fileHeader) { tensorByName(h, wte).Shape = []int{1 << 30, 1 << 30} }), []error{ErrTensor}},
		{"bytes disagree with shape", edit(valid, func(h *fileHeader) { tensorByName(h, wte).Bytes -= 4 }), []error{ErrTensor}},
		{"unknown dtype", edit(valid, func(h *fileHeader) { tensorByName(h, wte).DType = "bf16" }), []error{ErrTensor}},
		{"wrong dtype", edit(valid, func(h *fileHeader) { tensorByName(h, wte).DType = "f16"; tensorByName(h, wte).Bytes /= 2 }), []error{ErrTensor}},
		{"overlapping tensors", edit(valid, func(h *fileHeader) { h.Tensors[1].Offset = h.Tensors[0].Offset }), []error{ErrTensor}},
		{"misaligned offset", edit(valid, func(h *fileHeader) { h.Tensors[1].Offset += 4 }), []error{ErrTensor}},
		{"negative offset", edit(valid, func(h *fileHeader) { h.Tensors[0].Offset = -64 }), []error{ErrTensor}},
		{"offset past the end", edit(valid, func(h *fileHeader) { h.Tensors[3].Offset = h.DataBytes }), []error{ErrTensor}},
		{"group on f32", edit(valid, func(h *fileHeader) { tensorByName(h, wte).Group = 4 }), []error{ErrTensor}},
		{"q8 without scales", edit(q8, func(h *fileHeader) { tensorByName(h, q+scalesSuffix).Name = "x" }), []error{ErrTensor}},
		{"q8 group not dividing", edit(q8, func(h *fileHeader) { tensorByName(h, q).Group = 3 }), []error{ErrTensor}},
		{"q8 negative group", edit(q8, func(h *fileHeader) { tensorByName(h, q).Group = -4 }), []error{ErrTensor}},
		{"q8 group disagrees with scales", edit(q8, func(h *fileHeader) { tensorByName(h, q).Group = 8 }), []error{ErrTensor}},
		{"unknown tokenizer", edit(valid, func(h *fileHeader) { h.Tokenizer = json.RawMessage(`{"type":"sentencepiece"}`) }), []error{ErrHeader, ErrTokenizerType}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.file(t))
			require.Nil(t, m)
			require.Error(t, err)
			for _, want := range tc.want {
				require.ErrorIs(t, err, want)
			}
			require.NotContains(t, err.Error(), "\n")
			t.Log(err)
		})
	}
}

func TestVerifyChecksum(t *testing.T) {
	data := encode(t, patternModel(tinyConfig(), 6))
	require.NoError(t, VerifyChecksum(data))
	bad := bytes.Clone(data)
	bad[len(bad)-3] ^= 4
	require.ErrorIs(t, VerifyChecksum(bad), ErrChecksum)
	_, err := Load(bad)
	require.ErrorIs(t, err, ErrChecksum)
	// Without the check the same bytes load, with the flipped weight.
	m, err := LoadUnverified(bad)
	require.NoError(t, err)
	require.NotEqual(t, patternModel(tinyConfig(), 6).Weights.Head.F32, m.Weights.Head.F32)
	require.ErrorIs(t, VerifyChecksum([]byte("nope")), ErrMagic)
}

func TestEncodeRefusesInvalidModels(t *testing.T) {
	m := patternModel(tinyConfig(), 7)
	m.Weights.Layers[1].FFNorm = m.Weights.Layers[1].FFNorm[:3]
	require.Error(t, m.Encode(&bytes.Buffer{}))

	q := patternModel(tinyConfig(), 7).Quantize(0)
	q.Weights.Head.Scales[0] = 1.0001 // not a float16 value
	require.ErrorContains(t, q.Encode(&bytes.Buffer{}), "float16")

	nan := patternModel(tinyConfig(), 7)
	nan.Weights.Layers[1].Up.F32[5] = float32(math.NaN())
	err := nan.Encode(&bytes.Buffer{})
	require.ErrorIs(t, err, ErrNonFinite)
	require.ErrorContains(t, err, "model.transformer.blocks.1.up_proj.weight")
}

// fileSeeds are the committed fuzz seeds: small valid files in both dtypes
// and a few near misses.
func fileSeeds(t *testing.T) map[string][]byte {
	t.Helper()
	f32 := patternModel(tinyConfig(), 42)
	valid := encode(t, f32)
	truncated := valid[:len(valid)/2]
	return map[string][]byte{
		"valid-f32":      valid,
		"valid-q8-row":   encode(t, f32.Quantize(0)),
		"valid-q8-group": encode(t, f32.Quantize(4)),
		"truncated":      truncated,
		"wrong-version":  append(append([]byte(FileMagic), 9, 0, 0, 0), valid[12:64]...),
		"version-1":      frameV1(t, valid),
		"overlap": rewriteHeader(t, valid, func(h *fileHeader) {
			h.Tensors[2].Offset = h.Tensors[1].Offset
		}),
	}
}

// TestFileSeeds keeps the committed seeds equal to what this build writes,
// so a change to the format shows up as a diff (go test -update-file-seeds
// rewrites them), and checks that the valid ones load.
func TestFileSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	for name, data := range fileSeeds(t) {
		path := filepath.Join(dir, name)
		want := []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
		if *updateFileSeeds {
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(path, want, 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test ./engine -run TestFileSeeds -update-file-seeds")
		require.Equal(t, string(want), string(got), "%s is stale: run go test ./engine -run TestFileSeeds -update-file-seeds", path)
		_, err = Load(data)
		if name[:5] == "valid" {
			require.NoError(t, err, name)
		} else {
			require.Error(t, err, name)
		}
	}
}

// FuzzLoad feeds arbitrary bytes to the loader (also as the converter
// reads them, version 1 included): it must return a model that validates
// and re-encodes, or an error, and never panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(FileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		legacy := func(data []byte) (*Model, error) { return load(data, true, true) } // as LoadFileForConversion
		for _, load := range []func([]byte) (*Model, error){Load, LoadUnverified, legacy} {
			m, err := load(data)
			if err != nil {
				require.Nil(t, m)
				continue
			}
			require.NoError(t, m.Validate())
			again, err := Load(encode(t, m))
			require.NoError(t, err)
			require.Equal(t, m.Params(), again.Params())
		}
	})
}

package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/x448/float16"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	tensors := []stTensor{
		{"b", []int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}},
		{"a", []int{1}, []float32{7}},
		{"empty", []int{0, 4}, []float32{}},
	}
	var buf bytes.Buffer
	require.NoError(t, writeSafetensors(&buf, tensors, map[string]string{"format": "pt"}))
	n := binary.LittleEndian.Uint64(buf.Bytes())
	require.Zero(t, n%8, "header is padded to 8 bytes")

	path := filepath.Join(t.TempDir(), "x.safetensors")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	f, err := openSafetensors(path)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, map[string]string{"format": "pt"}, f.header.Metadata)
	for _, want := range tensors {
		got, err := f.readFloat32(want.Name)
		require.NoError(t, err)
		require.Equal(t, want.Data, got)
		require.Equal(t, toInt64s(want.Shape), f.header.Tensors[want.Name].Shape)
	}
	// The reference reader also wants the tensors to cover the data
	// section exactly, in order, with no holes.
	ends := map[int64]int64{}
	for _, e := range f.header.Tensors {
		ends[e.DataOffsets[0]] = max(ends[e.DataOffsets[0]], e.DataOffsets[1])
	}
	pos := int64(0)
	for range len(ends) {
		end, ok := ends[pos]
		require.True(t, ok, "hole at %d", pos)
		pos = end
	}
	require.Equal(t, int64(buf.Len())-8-int64(n), pos)
	require.Equal(t, byte('{'), buf.Bytes()[8])

	require.Error(t, writeSafetensors(&buf, []stTensor{tensors[1], tensors[1]}, nil))
}

func TestWiden(t *testing.T) {
	values := []float32{0, 1, -1.5, 3.140625, 65504, -6.1035156e-05, float32(math.Inf(-1))}
	bf := make([]byte, 2*len(values))
	f16 := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(bf[2*i:], uint16(math.Float32bits(v)>>16))
		binary.LittleEndian.PutUint16(f16[2*i:], float16.Fromfloat32(v).Bits())
	}
	got, err := widen(bf, "BF16")
	require.NoError(t, err)
	for i, v := range values {
		require.Equal(t, math.Float32frombits(math.Float32bits(v)&0xffff0000), got[i])
	}
	got, err = widen(f16, "F16")
	require.NoError(t, err)
	require.Equal(t, values, got)
	_, err = widen(bf, "I16")
	require.ErrorContains(t, err, "I16")
}

func TestParseHeaderRejects(t *testing.T) {
	cases := []struct{ name, header string }{
		{"not JSON", `{"a": `},
		{"not an object", `[1, 2]`},
		{"null", `null`},
		{"metadata not strings", `{"__metadata__": {"format": 1}}`},
		{"entry not an object", `{"a": 3}`},
		{"unknown field", `{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}`},
		{"unknown dtype", `{"a": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}}`},
		{"negative dim", `{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}`},
		{"size mismatch", `{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}`},
		{"past the end", `{"a": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}}`},
		{"backwards", `{"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}`},
		{"negative offset", `{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}`},
		{"overflowing shape", `{"a": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}`},
		{"overlap", `{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHeader([]byte(tc.header), 16)
			require.ErrorIs(t, err, ErrSafetensors)
		})
	}
	h, err := parseHeader([]byte(`{"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [8, 16]},
		"b": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}}`), 16)
	require.NoError(t, err)
	require.Equal(t, "BF16", h.Tensors["a"].DType)
}

func TestOpenSafetensorsRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	prefix := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	for name, data := range map[string][]byte{
		"short":            []byte{1, 2, 3},
		"header too long":  append(prefix(1000), `{}`...),
		"header over 100M": append(prefix(200<<20), `{}`...),
		"bad header":       append(prefix(2), `{]`...),
	} {
		_, err := openSafetensors(write(name, data))
		require.ErrorIs(t, err, ErrSafetensors, name)
		require.ErrorContains(t, err, name, "the error names the file")
	}
	_, err := openSafetensors(filepath.Join(dir, "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// FuzzParseHeader checks that no header makes the parser panic, and that
// whatever it accepts lies inside the data section without overlaps. The
// seeds under testdata/fuzz include the conformance checkpoints' headers.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, header []byte, dataLen uint32) {
		h, err := parseHeader(header, int64(dataLen))
		if err != nil {
			return
		}
		covered := int64(0)
		for _, e := range h.Tensors {
			require.LessOrEqual(t, e.DataOffsets[1], int64(dataLen))
			covered += e.DataOffsets[1] - e.DataOffsets[0]
		}
		require.LessOrEqual(t, covered, int64(dataLen))
	})
}

package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unsafe"

	"github.com/x448/float16"

	"unmask/quant"
)

// The model file holds one LLaDA model: configuration, tokenizer and
// weights, laid out so that a fetched []byte is used in place.
//
//	offset 0   magic      8 bytes, "\x89UNMASK\n"
//	offset 8   version    uint32, little endian (FileVersion)
//	offset 12  header_len uint32, little endian
//	offset 16  header     header_len bytes of JSON (fileHeader)
//	           zero padding up to a multiple of 64
//	data       data_bytes bytes: every tensor at a multiple of 64 from the
//	           start of the data section, zero padding between tensors
//
// The file ends with the data section. Tensors are little endian: f32 as
// IEEE float32, i8 as two's complement bytes, f16 as IEEE half precision.
// A float32 matrix is one f32 tensor; an int8 matrix named X is an i8
// tensor X (with its group length) and an f16 tensor "X.scales" of shape
// (rows, cols/group). Norm weights are 1-D f32 tensors.
//
// The magic's first byte has the high bit set and it ends in a newline, so
// text-mode transfers that strip bits or rewrite line ends break it at once.
const (
	FileMagic   = "\x89UNMASK\n"
	FileVersion = 1
	// FileAlign is the alignment of the data section and of every tensor.
	FileAlign = 64

	prefixLen     = 16
	scalesSuffix  = ".scales"
	maxHeaderSize = 64 << 20
)

// Errors of the model file. Load wraps one of them with the detail.
var (
	ErrMagic     = errors.New("not an Unmask model file (bad magic)")
	ErrVersion   = errors.New("unsupported model file version")
	ErrTruncated = errors.New("model file is truncated")
	ErrHeader    = errors.New("malformed model file header")
	ErrChecksum  = errors.New("model file data does not match its sha256")
	ErrTensor    = errors.New("bad tensor in model file")
)

// fileHeader is the JSON header of a model file.
type fileHeader struct {
	Config Config `json:"config"`
	// Tokenizer is {"type": ..., ...}; see MarshalTokenizer. Absent when
	// the model has none.
	Tokenizer  json.RawMessage `json:"tokenizer,omitempty"`
	Tensors    []fileTensor    `json:"tensors"`
	DataBytes  int64           `json:"data_bytes"`  // length of the data section
	DataSHA256 string          `json:"data_sha256"` // hex sha256 of the data section
}

// fileTensor is one entry of the tensor table.
type fileTensor struct {
	Name   string `json:"name"`
	DType  string `json:"dtype"` // "f32", "i8" or "f16"
	Shape  []int  `json:"shape"`
	Offset int64  `json:"offset"` // from the start of the data section; a multiple of FileAlign
	Bytes  int64  `json:"bytes"`
	Group  int    `json:"group,omitempty"` // i8 only: columns per scale
}

// elementSize gives the bytes per element of each stored dtype.
var elementSize = map[string]int64{"f32": 4, "i8": 1, "f16": 2}

// nativeLittleEndian reports whether this machine stores numbers little
// endian, so float32 data can be used in place.
var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Load reads a model file held in memory after checking its sha256. The
// model's weights point into data wherever the layout allows (float32
// tensors when data is 4-byte aligned, int8 tensors always), so data must
// not be modified while the model is in use.
func Load(data []byte) (*Model, error) {
	return load(data, true)
}

// LoadUnverified is Load without the sha256 check, for callers that have
// already run VerifyChecksum on the same bytes. Every structural check
// still runs.
func LoadUnverified(data []byte) (*Model, error) {
	return load(data, false)
}

// LoadFile reads and loads a model file.
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// VerifyChecksum checks the file's framing and that its data section
// matches the sha256 recorded in the header.
func VerifyChecksum(data []byte) error {
	h, section, err := parseFile(data)
	if err != nil {
		return err
	}
	return verify(h, section)
}

func verify(h *fileHeader, section []byte) error {
	sum := sha256.Sum256(section)
	if got := hex.EncodeToString(sum[:]); got != h.DataSHA256 {
		return fmt.Errorf("%w: data hashes to %.12s..., header says %.12q", ErrChecksum, got, h.DataSHA256)
	}
	return nil
}

// parseFile checks the framing (magic, version, header, sizes) and returns
// the header and the data section.
func parseFile(data []byte) (*fileHeader, []byte, error) {
	if len(data) < prefixLen {
		if len(data) < len(FileMagic) && string(data) != FileMagic[:len(data)] {
			return nil, nil, ErrMagic
		}
		return nil, nil, fmt.Errorf("%w: %d bytes, the fixed prefix alone is %d", ErrTruncated, len(data), prefixLen)
	}
	if string(data[:8]) != FileMagic {
		return nil, nil, fmt.Errorf("%w: starts with %q", ErrMagic, data[:8])
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != FileVersion {
		return nil, nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrVersion, v, FileVersion)
	}
	hlen := int64(binary.LittleEndian.Uint32(data[12:]))
	if hlen > maxHeaderSize {
		return nil, nil, fmt.Errorf("%w: header of %d bytes exceeds the %d byte limit", ErrHeader, hlen, maxHeaderSize)
	}
	if prefixLen+hlen > int64(len(data)) {
		return nil, nil, fmt.Errorf("%w: header of %d bytes, only %d follow the prefix", ErrTruncated, hlen, len(data)-prefixLen)
	}
	var h fileHeader
	// Unknown keys are ignored, so a writer may add descriptive fields
	// without a new version; anything that changes the layout bumps it.
	dec := json.NewDecoder(bytes.NewReader(data[prefixLen : prefixLen+hlen]))
	if err := dec.Decode(&h); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: data after the JSON object", ErrHeader)
	}
	start := alignUp(prefixLen + hlen)
	if h.DataBytes < 0 {
		return nil, nil, fmt.Errorf("%w: data_bytes = %d", ErrHeader, h.DataBytes)
	}
	if have := int64(len(data)) - start; have != h.DataBytes {
		if have < h.DataBytes {
			return nil, nil, fmt.Errorf("%w: data section has %d of %d bytes", ErrTruncated, max(have, 0), h.DataBytes)
		}
		return nil, nil, fmt.Errorf("%w: %d bytes after the %d byte data section", ErrHeader, have-h.DataBytes, h.DataBytes)
	}
	return &h, data[start:], nil
}

func load(data []byte, checksum bool) (*Model, error) {
	h, section, err := parseFile(data)
	if err != nil {
		return nil, err
	}
	if checksum {
		if err := verify(h, section); err != nil {
			return nil, err
		}
	}
	c := h.Config
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	// The configuration decides how much the loader allocates, so it must
	// not promise more weights than the data section can hold.
	if n := c.paramCount(); n > float64(len(section)) {
		return nil, fmt.Errorf("%w: config describes %.0f weights, the data section has %d bytes", ErrTensor, n, len(section))
	}
	table, err := checkTable(h.Tensors, int64(len(section)))
	if err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	if err := fillWeights(m, table, section); err != nil {
		return nil, err
	}
	if len(h.Tokenizer) > 0 {
		if m.Tokenizer, err = UnmarshalTokenizer(h.Tokenizer); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHeader, err)
		}
		if err := checkTokenizer(m.Tokenizer, &c); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHeader, err)
		}
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTensor, err)
	}
	return m, nil
}

// paramCount is the number of weights c describes, in float64 so that
// absurd configurations cannot overflow.
func (c *Config) paramCount() float64 {
	d, kv, h, v, l := float64(c.DModel), float64(c.KVDim()), float64(c.MLPHiddenSize), float64(c.EmbeddingSize), float64(c.NLayers)
	perLayer := 2*d + 2*d*d + 2*kv*d + 3*h*d
	return 2*v*d + d + l*perLayer
}

// checkTable validates every entry on its own and against the others and
// returns the entries by name.
func checkTable(entries []fileTensor, sectionLen int64) (map[string]*fileTensor, error) {
	table := make(map[string]*fileTensor, len(entries))
	for i := range entries {
		e := &entries[i]
		size, ok := elementSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("%w: %s has dtype %q (want f32, i8 or f16)", ErrTensor, e.Name, e.DType)
		}
		if _, dup := table[e.Name]; dup {
			return nil, fmt.Errorf("%w: %s appears twice", ErrTensor, e.Name)
		}
		table[e.Name] = e
		if len(e.Shape) == 0 || len(e.Shape) > 2 {
			return nil, fmt.Errorf("%w: %s has shape %v (want 1 or 2 dimensions)", ErrTensor, e.Name, e.Shape)
		}
		n := size
		for _, dim := range e.Shape {
			if dim <= 0 || int64(dim) > sectionLen {
				return nil, fmt.Errorf("%w: %s has shape %v", ErrTensor, e.Name, e.Shape)
			}
			if n > sectionLen/int64(dim) {
				return nil, fmt.Errorf("%w: %s of shape %v does not fit the %d byte data section", ErrTensor, e.Name, e.Shape, sectionLen)
			}
			n *= int64(dim)
		}
		if e.Bytes != n {
			return nil, fmt.Errorf("%w: %s of shape %v %s takes %d bytes, table says %d", ErrTensor, e.Name, e.Shape, e.DType, n, e.Bytes)
		}
		if e.Offset < 0 || e.Offset%FileAlign != 0 || e.Offset > sectionLen-e.Bytes {
			return nil, fmt.Errorf("%w: %s at offset %d (+%d bytes) is outside the %d byte data section or not %d-aligned",
				ErrTensor, e.Name, e.Offset, e.Bytes, sectionLen, FileAlign)
		}
		if (e.Group != 0) != (e.DType == "i8") {
			return nil, fmt.Errorf("%w: %s: group %d with dtype %s (only i8 has a group)", ErrTensor, e.Name, e.Group, e.DType)
		}
	}
	byOffset := slices.Clone(entries)
	slices.SortFunc(byOffset, func(a, b fileTensor) int { return cmp.Compare(a.Offset, b.Offset) })
	for i := 1; i < len(byOffset); i++ {
		prev, cur := byOffset[i-1], byOffset[i]
		if prev.Offset+prev.Bytes > cur.Offset {
			return nil, fmt.Errorf("%w: %s [%d, %d) overlaps %s [%d, %d)", ErrTensor,
				prev.Name, prev.Offset, prev.Offset+prev.Bytes, cur.Name, cur.Offset, cur.Offset+cur.Bytes)
		}
	}
	return table, nil
}

// fillWeights sets every tensor of m from the table and refuses missing,
// unexpected or mis-shaped ones.
func fillWeights(m *Model, table map[string]*fileTensor, section []byte) error {
	m.Weights.Layers = make([]Layer, m.Config.NLayers)
	shapes := m.Config.ExpectedShapes()
	used := make(map[string]bool, len(table))
	get := func(name, dtype string, shape []int) (*fileTensor, error) {
		e, ok := table[name]
		if !ok {
			return nil, fmt.Errorf("%w: missing tensor %s", ErrTensor, name)
		}
		if e.DType != dtype || !slices.Equal(e.Shape, shape) {
			return nil, fmt.Errorf("%w: %s is %s %v, want %s %v", ErrTensor, name, e.DType, e.Shape, dtype, shape)
		}
		used[name] = true
		return e, nil
	}
	for _, t := range m.Weights.Tensors() {
		want := shapes[t.Name]
		if t.Vector != nil {
			e, err := get(t.Name, "f32", want)
			if err != nil {
				return err
			}
			*t.Vector = float32s(section[e.Offset : e.Offset+e.Bytes])
			continue
		}
		e, ok := table[t.Name]
		if ok && e.DType == "i8" {
			if _, err := get(t.Name, "i8", want); err != nil {
				return err
			}
			rows, cols := want[0], want[1]
			if e.Group < 0 || cols%e.Group != 0 {
				return fmt.Errorf("%w: %s: group %d does not divide %d columns", ErrTensor, t.Name, e.Group, cols)
			}
			s, err := get(t.Name+scalesSuffix, "f16", []int{rows, cols / e.Group})
			if err != nil {
				return err
			}
			*t.Matrix = quant.Matrix{Rows: rows, Cols: cols, DType: quant.Q8, Group: e.Group,
				Q:      int8s(section[e.Offset : e.Offset+e.Bytes]),
				Scales: float16s(section[s.Offset : s.Offset+s.Bytes]),
			}
			continue
		}
		e, err := get(t.Name, "f32", want)
		if err != nil {
			return err
		}
		*t.Matrix = quant.NewF32(float32s(section[e.Offset:e.Offset+e.Bytes]), want[0], want[1])
	}
	for name := range table {
		if !used[name] {
			return fmt.Errorf("%w: unexpected tensor %s", ErrTensor, name)
		}
	}
	return nil
}

// float32s views little-endian float32 bytes as []float32, in place when
// the machine and the alignment allow, as a copy otherwise.
func float32s(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	if nativeLittleEndian && uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(float32(0)) == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// int8s views bytes as []int8 in place.
func int8s(b []byte) []int8 {
	if len(b) == 0 {
		return []int8{}
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// float16s widens little-endian float16 bytes to float32 (exactly).
func float16s(b []byte) []float32 {
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
	}
	return out
}

// Encode writes m as a model file. The sha256 in the header covers the data
// section, so the weights are streamed twice: once through the hash, once
// to w.
func (m *Model) Encode(w io.Writer) error {
	if err := m.Validate(); err != nil {
		return err
	}
	h := fileHeader{Config: m.Config}
	if m.Tokenizer != nil {
		raw, err := MarshalTokenizer(m.Tokenizer)
		if err != nil {
			return err
		}
		if err := checkTokenizer(m.Tokenizer, &m.Config); err != nil {
			return err
		}
		h.Tokenizer = raw
	}
	blobs := m.blobs()
	var off int64
	for _, b := range blobs {
		b.entry.Offset = alignUp(off)
		off = b.entry.Offset + b.entry.Bytes
		h.Tensors = append(h.Tensors, b.entry)
	}
	h.DataBytes = off
	sum := sha256.New()
	if err := writeData(sum, h.Tensors, blobs); err != nil {
		return err
	}
	h.DataSHA256 = hex.EncodeToString(sum.Sum(nil))
	header, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if len(header) > maxHeaderSize {
		return fmt.Errorf("model file header of %d bytes exceeds the %d byte limit", len(header), maxHeaderSize)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var prefix [prefixLen]byte
	copy(prefix[:], FileMagic)
	binary.LittleEndian.PutUint32(prefix[8:], FileVersion)
	binary.LittleEndian.PutUint32(prefix[12:], uint32(len(header)))
	bw.Write(prefix[:])
	bw.Write(header)
	bw.Write(make([]byte, alignUp(prefixLen+int64(len(header)))-prefixLen-int64(len(header))))
	if err := writeData(bw, h.Tensors, blobs); err != nil {
		return err
	}
	return bw.Flush()
}

// blob is one stored tensor: its table entry and a writer of its bytes.
type blob struct {
	entry fileTensor
	write func(w io.Writer) error
}

// blobs lists the stored tensors of m in the order of Weights.Tensors.
func (m *Model) blobs() []blob {
	var out []blob
	for _, t := range m.Weights.Tensors() {
		switch {
		case t.Vector != nil:
			v := *t.Vector
			out = append(out, blob{fileTensor{Name: t.Name, DType: "f32", Shape: t.Shape, Bytes: 4 * int64(len(v))},
				func(w io.Writer) error { return writeFloat32s(w, v) }})
		case t.Matrix.DType == quant.Q8:
			mat := t.Matrix
			out = append(out,
				blob{fileTensor{Name: t.Name, DType: "i8", Shape: t.Shape, Bytes: int64(len(mat.Q)), Group: mat.Group},
					func(w io.Writer) error { _, err := w.Write(bytesOf(mat.Q)); return err }},
				blob{fileTensor{Name: t.Name + scalesSuffix, DType: "f16", Shape: []int{mat.Rows, mat.Groups()}, Bytes: 2 * int64(len(mat.Scales))},
					func(w io.Writer) error { return writeFloat16s(w, mat.Scales) }})
		default:
			f := t.Matrix.F32
			out = append(out, blob{fileTensor{Name: t.Name, DType: "f32", Shape: t.Shape, Bytes: 4 * int64(len(f))},
				func(w io.Writer) error { return writeFloat32s(w, f) }})
		}
	}
	return out
}

// writeData writes the data section: each blob at its offset, zeros between.
func writeData(w io.Writer, entries []fileTensor, blobs []blob) error {
	var pos int64
	var zeros [FileAlign]byte
	for i, b := range blobs {
		if _, err := w.Write(zeros[:entries[i].Offset-pos]); err != nil {
			return err
		}
		if err := b.write(w); err != nil {
			return err
		}
		pos = entries[i].Offset + entries[i].Bytes
	}
	return nil
}

func writeFloat32s(w io.Writer, v []float32) error {
	if nativeLittleEndian {
		_, err := w.Write(bytesOf(v))
		return err
	}
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	_, err := w.Write(buf)
	return err
}

// writeFloat16s stores int8 scales, which quant.Quantize keeps exactly
// representable in float16; any other value would change on the way.
func writeFloat16s(w io.Writer, v []float32) error {
	buf := make([]byte, 2*len(v))
	for i, f := range v {
		h := float16.Fromfloat32(f)
		if h.Float32() != f && !math.IsNaN(float64(f)) {
			return fmt.Errorf("int8 scale %v is not a float16 value", f)
		}
		binary.LittleEndian.PutUint16(buf[2*i:], h.Bits())
	}
	_, err := w.Write(buf)
	return err
}

// bytesOf views a numeric slice as its bytes in memory.
func bytesOf[T int8 | float32](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(v[0])))
}

func alignUp(n int64) int64 { return (n + FileAlign - 1) / FileAlign * FileAlign }

// Params is the number of weights in the model.
func (m *Model) Params() int64 {
	var n int64
	for _, t := range m.Weights.Tensors() {
		if t.Vector != nil {
			n += int64(len(*t.Vector))
		} else {
			n += int64(t.Matrix.Rows) * int64(t.Matrix.Cols)
		}
	}
	return n
}

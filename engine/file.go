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
	"strings"
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
//	offset 16  sha256     32 bytes: the sha256 of everything after it, from
//	                      offset 48 to the end of the file
//	offset 48  header     header_len bytes of JSON (fileHeader)
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
//
// Version 1 had no sha256 in the prefix (its header was at offset 16) and
// recorded in the header the sha256 of the data section alone, so a changed
// config or tokenizer went unnoticed. Only the converter reads it, to
// rewrite such a file as the current version (LoadFileForConversion).
const (
	FileMagic   = "\x89UNMASK\n"
	FileVersion = 2
	// FileAlign is the alignment of the data section and of every tensor.
	FileAlign = 64

	prefixLen     = 48
	sumOffset     = 16
	scalesSuffix  = ".scales"
	maxHeaderSize = 64 << 20

	legacyVersion   = 1
	legacyPrefixLen = 16
)

// Errors of the model file. Load wraps one of them with the detail.
var (
	ErrMagic     = errors.New("not an Unmask model file (bad magic)")
	ErrVersion   = errors.New("unsupported model file version")
	ErrTruncated = errors.New("model file is truncated")
	ErrHeader    = errors.New("malformed model file header")
	ErrChecksum  = errors.New("model file does not match its sha256")
	ErrTensor    = errors.New("bad tensor in model file")
)

// fileHeader is the JSON header of a model file.
type fileHeader struct {
	Config Config `json:"config"`
	// Tokenizer is {"type": ..., ...}; see MarshalTokenizer. Absent when
	// the model has none.
	Tokenizer json.RawMessage `json:"tokenizer,omitempty"`
	Tensors   []fileTensor    `json:"tensors"`
	DataBytes int64           `json:"data_bytes"` // length of the data section
	// DataSHA256 is version 1's hex sha256 of the data section; version 2
	// files leave it out, their prefix holds the sha256 of the whole file.
	DataSHA256 string `json:"data_sha256,omitempty"`
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
	return load(data, true, false)
}

// LoadUnverified is Load without the sha256 check, for callers that have
// already run VerifyChecksum on the same bytes. Every structural check
// still runs.
func LoadUnverified(data []byte) (*Model, error) {
	return load(data, false, false)
}

// LoadFile reads and loads a model file. It reads the fixed prefix and the
// header first and then no more than they declare, so a file that is not a
// model file (or a device such as /dev/zero) is refused before anything
// large is allocated.
func LoadFile(path string) (*Model, error) {
	return loadFile(path, false)
}

// LoadFileForConversion is LoadFile that also reads version 1 files, whose
// sha256 covers the data section only (it is checked, as is everything
// else). The converter uses it to rewrite them as the current version.
func LoadFileForConversion(path string) (*Model, error) {
	return loadFile(path, true)
}

func loadFile(path string, legacy bool) (*Model, error) {
	data, err := ReadModelFile(path)
	if err != nil {
		return nil, err
	}
	m, err := load(data, true, legacy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadModelFile reads the bytes of a model file, bounded by what its prefix
// and header declare: a wrong magic or version is refused after 16 bytes, a
// header over the limit before it is read, and a regular file whose size
// differs from the declared one before the data is read. Other files (pipes,
// devices) are read only up to the declared size plus one byte.
func ReadModelFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fail := func(err error) ([]byte, error) { return nil, fmt.Errorf("%s: %w", path, err) }
	head := make([]byte, legacyPrefixLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	_, plen, hlen, err := parsePrefix(head[:n])
	if err != nil {
		return fail(err)
	}
	head = append(head, make([]byte, plen+hlen-legacyPrefixLen)...)
	if _, err := io.ReadFull(f, head[legacyPrefixLen:]); err != nil {
		return fail(fmt.Errorf("%w: header of %d bytes: %v", ErrTruncated, hlen, err))
	}
	h, err := parseHeader(head[plen:])
	if err != nil {
		return fail(err)
	}
	total := alignUp(int64(len(head))) + h.DataBytes
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		if size := info.Size(); size < total {
			return fail(fmt.Errorf("%w: %d bytes, the header declares %d", ErrTruncated, size, total))
		} else if size > total {
			return fail(fmt.Errorf("%w: %d bytes after the declared %d", ErrHeader, size-total, total))
		}
		data := make([]byte, total)
		copy(data, head)
		if _, err := io.ReadFull(f, data[len(head):]); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrTruncated, err))
		}
		return data, nil
	}
	// Not a regular file: grow as bytes arrive, one byte past the declared
	// end so that a longer stream is noticed.
	rest, err := io.ReadAll(io.LimitReader(f, total-int64(len(head))+1))
	if err != nil {
		return fail(err)
	}
	return append(head, rest...), nil
}

// VerifyChecksum checks the file's framing and that it matches the sha256
// in its prefix.
func VerifyChecksum(data []byte) error {
	f, err := parseFile(data)
	if err != nil {
		return err
	}
	return f.verify()
}

// parsedFile is a model file whose framing has been checked.
type parsedFile struct {
	version int
	header  *fileHeader
	data    []byte // the whole file
	section []byte // the data section
}

// verify checks the sha256: of everything after the prefix (version 2),
// or of the data section against the header's (version 1).
func (f *parsedFile) verify() error {
	if f.version == legacyVersion {
		sum := sha256.Sum256(f.section)
		if got := hex.EncodeToString(sum[:]); got != f.header.DataSHA256 {
			return fmt.Errorf("%w: data hashes to %.12s..., header says %.12q", ErrChecksum, got, f.header.DataSHA256)
		}
		return nil
	}
	sum := sha256.Sum256(f.data[prefixLen:])
	if want := f.data[sumOffset:prefixLen]; !bytes.Equal(sum[:], want) {
		return fmt.Errorf("%w: the file hashes to %x..., its prefix says %x...", ErrChecksum, sum[:6], want[:6])
	}
	return nil
}

// parsePrefix checks the magic, version and header length of the file's
// first bytes (at least legacyPrefixLen of them unless the file is
// shorter) and returns the version, the prefix length and the header length.
func parsePrefix(data []byte) (version int, plen, hlen int64, err error) {
	if len(data) < legacyPrefixLen {
		if len(data) < len(FileMagic) && string(data) != FileMagic[:len(data)] {
			return 0, 0, 0, ErrMagic
		}
		return 0, 0, 0, fmt.Errorf("%w: %d bytes, the fixed prefix alone is %d", ErrTruncated, len(data), prefixLen)
	}
	if string(data[:8]) != FileMagic {
		return 0, 0, 0, fmt.Errorf("%w: starts with %q", ErrMagic, data[:8])
	}
	switch v := binary.LittleEndian.Uint32(data[8:]); v {
	case FileVersion:
		version, plen = FileVersion, prefixLen
	case legacyVersion:
		version, plen = legacyVersion, legacyPrefixLen
	default:
		return 0, 0, 0, fmt.Errorf("%w: version %d, this build reads version %d", ErrVersion, v, FileVersion)
	}
	hlen = int64(binary.LittleEndian.Uint32(data[12:]))
	if hlen > maxHeaderSize {
		return 0, 0, 0, fmt.Errorf("%w: header of %d bytes exceeds the %d byte limit", ErrHeader, hlen, maxHeaderSize)
	}
	return version, plen, hlen, nil
}

// parseHeader decodes the JSON header.
func parseHeader(raw []byte) (*fileHeader, error) {
	var h fileHeader
	// Unknown keys are ignored, so a writer may add descriptive fields
	// without a new version; anything that changes the layout bumps it.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrHeader)
	}
	if h.DataBytes < 0 {
		return nil, fmt.Errorf("%w: data_bytes = %d", ErrHeader, h.DataBytes)
	}
	return &h, nil
}

// parseFile checks the framing (magic, version, header, sizes) and returns
// the header and the data section.
func parseFile(data []byte) (*parsedFile, error) {
	version, plen, hlen, err := parsePrefix(data)
	if err != nil {
		return nil, err
	}
	if plen+hlen > int64(len(data)) {
		return nil, fmt.Errorf("%w: header of %d bytes, only %d follow the prefix", ErrTruncated, hlen, max(int64(len(data))-plen, 0))
	}
	h, err := parseHeader(data[plen : plen+hlen])
	if err != nil {
		return nil, err
	}
	start := alignUp(plen + hlen)
	if have := int64(len(data)) - start; have != h.DataBytes {
		if have < h.DataBytes {
			return nil, fmt.Errorf("%w: data section has %d of %d bytes", ErrTruncated, max(have, 0), h.DataBytes)
		}
		return nil, fmt.Errorf("%w: %d bytes after the %d byte data section", ErrHeader, have-h.DataBytes, h.DataBytes)
	}
	return &parsedFile{version: version, header: h, data: data, section: data[start:]}, nil
}

func load(data []byte, checksum, legacy bool) (*Model, error) {
	f, err := parseFile(data)
	if err != nil {
		return nil, err
	}
	if f.version == legacyVersion && !legacy {
		return nil, fmt.Errorf("%w: version %d, whose checksum leaves the header unchecked; re-convert it: llada convert --in FILE --out FILE",
			ErrVersion, legacyVersion)
	}
	if checksum {
		if err := f.verify(); err != nil {
			return nil, err
		}
	}
	h, section := f.header, f.section
	c := h.Config
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	table, err := checkTable(h.Tensors, int64(len(section)))
	if err != nil {
		return nil, err
	}
	// The configuration decides how much the loader allocates, so it is
	// checked against the tensors present before anything is sized from it.
	shapes := make(map[string][]int, len(table))
	for name, e := range table {
		if !isScales(name, table) {
			shapes[name] = e.Shape
		}
	}
	if err := c.CheckTensors(shapes); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTensor, err)
	}
	m := &Model{Config: c}
	if err := fillWeights(m, table, section); err != nil {
		return nil, err
	}
	if err := m.CheckFinite(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTensor, err)
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

// isScales reports whether name is the scales tensor of an int8 matrix in
// the table.
func isScales(name string, table map[string]*fileTensor) bool {
	base, ok := strings.CutSuffix(name, scalesSuffix)
	if !ok {
		return false
	}
	e, ok := table[base]
	return ok && e.DType == "i8"
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

// Encode writes m as a model file of the current version. Models with NaN
// or infinite weights are refused, naming the tensor.
func (m *Model) Encode(w io.Writer) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := m.CheckFinite(); err != nil {
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
	header, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if len(header) > maxHeaderSize {
		return fmt.Errorf("model file header of %d bytes exceeds the %d byte limit", len(header), maxHeaderSize)
	}
	// The sha256 covers the header, its padding and the data section, so
	// the weights are streamed twice: once through the hash, once to w.
	padding := make([]byte, alignUp(prefixLen+int64(len(header)))-prefixLen-int64(len(header)))
	sum := sha256.New()
	sum.Write(header)
	sum.Write(padding)
	if err := writeData(sum, h.Tensors, blobs); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var prefix [prefixLen]byte
	copy(prefix[:], FileMagic)
	binary.LittleEndian.PutUint32(prefix[8:], FileVersion)
	binary.LittleEndian.PutUint32(prefix[12:], uint32(len(header)))
	copy(prefix[sumOffset:], sum.Sum(nil))
	bw.Write(prefix[:])
	bw.Write(header)
	bw.Write(padding)
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

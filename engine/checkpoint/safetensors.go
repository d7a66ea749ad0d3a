package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/x448/float16"
)

// A safetensors file is
//
//	u64 little endian  N, the header length
//	N bytes            JSON: {"__metadata__": {str: str}, NAME: {"dtype": D,
//	                   "shape": [...], "data_offsets": [BEGIN, END]}, ...}
//	data               the tensors, BEGIN and END counted from here
//
// with tensors in row-major order and little endian.

// ErrSafetensors reports a safetensors file that cannot be read.
var ErrSafetensors = errors.New("malformed safetensors file")

// maxHeaderLen bounds the JSON header, as the reference implementation does.
const maxHeaderLen = 100 << 20

// dtypeSize gives the element size of every safetensors dtype.
var dtypeSize = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"U16": 2, "I16": 2, "F16": 2, "BF16": 2,
	"U32": 4, "I32": 4, "F32": 4,
	"U64": 8, "I64": 8, "F64": 8,
}

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// stHeader is a parsed and checked safetensors header.
type stHeader struct {
	Metadata map[string]string
	Tensors  map[string]stEntry
}

// parseHeader reads the JSON header of a file whose data section has
// dataLen bytes, checking every entry: known dtype, sizes that match the
// shape, offsets inside the data section, no two tensors overlapping.
func parseHeader(header []byte, dataLen int64) (*stHeader, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrSafetensors, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: header is null", ErrSafetensors)
	}
	h := &stHeader{Tensors: make(map[string]stEntry, len(raw))}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__: %v", ErrSafetensors, err)
			}
			continue
		}
		var e stEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrSafetensors, name, err)
		}
		size, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q has unknown dtype %q", ErrSafetensors, name, e.DType)
		}
		n := size
		for _, dim := range e.Shape {
			if dim < 0 {
				return nil, fmt.Errorf("%w: tensor %q has shape %v", ErrSafetensors, name, e.Shape)
			}
			if dim > 0 && n > math.MaxInt64/dim {
				return nil, fmt.Errorf("%w: tensor %q of shape %v is too large", ErrSafetensors, name, e.Shape)
			}
			n *= dim
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || begin > end || end > dataLen {
			return nil, fmt.Errorf("%w: tensor %q at [%d, %d) outside the %d byte data section", ErrSafetensors, name, begin, end, dataLen)
		}
		if end-begin != n {
			return nil, fmt.Errorf("%w: tensor %q of shape %v %s needs %d bytes, has %d", ErrSafetensors, name, e.Shape, e.DType, n, end-begin)
		}
		h.Tensors[name] = e
	}
	names := make([]string, 0, len(h.Tensors))
	for name := range h.Tensors {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		ea, eb := h.Tensors[a].DataOffsets, h.Tensors[b].DataOffsets
		return cmp.Or(cmp.Compare(ea[0], eb[0]), cmp.Compare(ea[1], eb[1]), cmp.Compare(a, b))
	})
	for i := 1; i < len(names); i++ {
		prev, cur := h.Tensors[names[i-1]], h.Tensors[names[i]]
		if prev.DataOffsets[1] > cur.DataOffsets[0] {
			return nil, fmt.Errorf("%w: tensors %q and %q overlap", ErrSafetensors, names[i-1], names[i])
		}
	}
	return h, nil
}

// stFile is an open safetensors file whose tensors are read on demand.
type stFile struct {
	path      string
	f         *os.File
	header    *stHeader
	dataStart int64
}

func openSafetensors(path string) (*stFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := readSafetensorsHeader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return st, nil
}

func readSafetensorsHeader(f *os.File, path string) (*stFile, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var prefix [8]byte
	if _, err := io.ReadFull(f, prefix[:]); err != nil {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the length prefix", path, ErrSafetensors, info.Size())
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > maxHeaderLen || int64(n) > info.Size()-8 {
		return nil, fmt.Errorf("%s: %w: header length %d in a %d byte file", path, ErrSafetensors, n, info.Size())
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dataStart := 8 + int64(n)
	h, err := parseHeader(header, info.Size()-dataStart)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &stFile{path: path, f: f, header: h, dataStart: dataStart}, nil
}

func (s *stFile) Close() error { return s.f.Close() }

// readFloat32 reads a tensor and widens it to float32: F32 as is, BF16 and
// F16 exactly.
func (s *stFile) readFloat32(name string) ([]float32, error) {
	e := s.header.Tensors[name]
	buf := make([]byte, e.DataOffsets[1]-e.DataOffsets[0])
	if _, err := s.f.ReadAt(buf, s.dataStart+e.DataOffsets[0]); err != nil {
		return nil, fmt.Errorf("%s: tensor %s: %w", s.path, name, err)
	}
	return widen(buf, e.DType)
}

// widen converts little-endian F32, BF16 or F16 bytes to float32.
func widen(b []byte, dtype string) ([]float32, error) {
	switch dtype {
	case "F32":
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case "BF16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out, nil
	case "F16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not supported (want F32, BF16 or F16)", dtype)
}

// stTensor is a float32 tensor to write.
type stTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// writeSafetensors writes the tensors as F32, in the given order, with the
// header padded with spaces to a multiple of 8 bytes as the reference
// writer does.
func writeSafetensors(w io.Writer, tensors []stTensor, metadata map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: tensor %s written twice", t.Name)
		}
		n := 4 * int64(len(t.Data))
		header[t.Name] = stEntry{DType: "F32", Shape: toInt64s(t.Shape), DataOffsets: [2]int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(js)))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, t := range tensors {
		buf := make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func toInt64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

// toInts converts a safetensors shape; parseHeader has bounded every
// dimension by the file's size.
func toInts(s []int64) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

package main

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// R's serialization format (XDR, versions 2 and 3) as written by saveRDS,
// save and the lazy-load databases that installed R packages keep their
// data in (data/Rdata.rdx + data/Rdata.rdb). Only the value types that data
// sets use are read: vectors, lists, pairlists, symbols and attributes.

// errRData reports R data this reader cannot use.
var errRData = errors.New("R data")

// R SEXP type codes (src/include/Rinternals.h) and the serializer's
// special codes (src/main/serialize.c).
const (
	rSym      = 1
	rList     = 2
	rClosure  = 3
	rEnv      = 4
	rPromise  = 5
	rLang     = 6
	rChar     = 9
	rLogical  = 10
	rInt      = 13
	rReal     = 14
	rString   = 16
	rDots     = 17
	rVector   = 19
	rExpr     = 20
	rRaw      = 24
	rBaseNS   = 247
	rEmptyEnv = 242
	rBaseEnv  = 241
	rGlobal   = 253
	rUnbound  = 252
	rMissing  = 251
	rNil      = 254
	rRef      = 255
)

// rNA is how an NA string reads.
const rNA = "\x00NA"

// rSymbol is an R symbol (a name).
type rSymbol string

// rPair is one cell of an R pairlist: an optional tag and a value.
type rPair struct {
	Tag   string
	Value any
}

// rObject is an R vector with attributes. Data is []string, []int32,
// []float64, []byte or []any (a list).
type rObject struct {
	Data  any
	Attrs []rPair
}

// Names returns the "names" attribute of a vector, if any.
func (o *rObject) Names() []string {
	for _, a := range o.Attrs {
		if a.Tag == "names" {
			if n, ok := a.Value.(*rObject); ok {
				if s, ok := n.Data.([]string); ok {
					return s
				}
			}
		}
	}
	return nil
}

// rReader reads one serialized R value.
type rReader struct {
	r    *bufio.Reader
	refs []any
	size int // input bytes: no vector can have more elements
}

// readRSerialized reads a value written by R's serialize (after any
// compression has been removed): the "X\n" header and one item.
func readRSerialized(data []byte) (any, error) {
	rr := &rReader{r: bufio.NewReader(bytes.NewReader(data)), size: len(data)}
	magic := make([]byte, 2)
	if _, err := io.ReadFull(rr.r, magic); err != nil {
		return nil, fmt.Errorf("%w: %v", errRData, err)
	}
	if string(magic) != "X\n" {
		return nil, fmt.Errorf("%w: format %q, only XDR (\"X\\n\") is supported", errRData, magic)
	}
	version, err := rr.int()
	if err != nil {
		return nil, err
	}
	if _, err := rr.int(); err != nil { // writer's R version
		return nil, err
	}
	if _, err := rr.int(); err != nil { // oldest R that can read it
		return nil, err
	}
	switch version {
	case 2:
	case 3:
		n, err := rr.int()
		if err != nil {
			return nil, err
		}
		if n < 0 || n > 64 {
			return nil, fmt.Errorf("%w: native encoding name of %d bytes", errRData, n)
		}
		if _, err := rr.bytes(int(n)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: serialization version %d", errRData, version)
	}
	return rr.item()
}

func (rr *rReader) int() (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(rr.r, b[:]); err != nil {
		return 0, fmt.Errorf("%w: truncated: %v", errRData, err)
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

func (rr *rReader) bytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rr.r, b); err != nil {
		return nil, fmt.Errorf("%w: truncated: %v", errRData, err)
	}
	return b, nil
}

// length reads a vector length, including R's long-vector form.
func (rr *rReader) length() (int, error) {
	n, err := rr.int()
	if err != nil {
		return 0, err
	}
	if n >= 0 {
		return int(n), nil
	}
	if n != -1 {
		return 0, fmt.Errorf("%w: vector length %d", errRData, n)
	}
	hi, err := rr.int()
	if err != nil {
		return 0, err
	}
	lo, err := rr.int()
	if err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%w: long vector of %d elements", errRData, int64(hi)<<32|int64(uint32(lo)))
}

func (rr *rReader) item() (any, error) {
	flags, err := rr.int()
	if err != nil {
		return nil, err
	}
	typ := flags & 0xFF
	hasAttr := flags&(1<<9) != 0
	hasTag := flags&(1<<10) != 0
	switch typ {
	case rNil, rEmptyEnv, rBaseEnv, rGlobal, rUnbound, rMissing, rBaseNS:
		return nil, nil
	case rRef:
		i := int(flags >> 8)
		if i == 0 {
			n, err := rr.int()
			if err != nil {
				return nil, err
			}
			i = int(n)
		}
		if i < 1 || i > len(rr.refs) {
			return nil, fmt.Errorf("%w: reference %d of %d", errRData, i, len(rr.refs))
		}
		return rr.refs[i-1], nil
	case rSym:
		v, err := rr.item()
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: symbol name is %T", errRData, v)
		}
		rr.refs = append(rr.refs, rSymbol(s))
		return rSymbol(s), nil
	case rEnv:
		slot := len(rr.refs)
		rr.refs = append(rr.refs, nil)
		if _, err := rr.int(); err != nil { // locked
			return nil, err
		}
		env := &rObject{}
		rr.refs[slot] = env
		for range 4 { // enclosure, frame, hash table, attributes
			if _, err := rr.item(); err != nil {
				return nil, err
			}
		}
		return env, nil
	case rList, rLang, rClosure, rPromise, rDots:
		return rr.pairlist(hasAttr, hasTag)
	case rChar:
		n, err := rr.int()
		if err != nil {
			return nil, err
		}
		if n == -1 {
			return rNA, nil
		}
		if n < 0 || int(n) > rr.size {
			return nil, fmt.Errorf("%w: string of %d bytes", errRData, n)
		}
		b, err := rr.bytes(int(n))
		if err != nil {
			return nil, err
		}
		// Strings marked latin1 (flag bit 2 of the levels) are converted.
		if (flags>>12)&4 != 0 {
			return latin1ToUTF8(b), nil
		}
		return string(b), nil
	}
	n, err := rr.length()
	if err != nil {
		return nil, err
	}
	if n > rr.size {
		return nil, fmt.Errorf("%w: vector of %d elements in %d bytes of data", errRData, n, rr.size)
	}
	obj := &rObject{}
	switch typ {
	case rLogical, rInt:
		v := make([]int32, n)
		for i := range v {
			if v[i], err = rr.int(); err != nil {
				return nil, err
			}
		}
		obj.Data = v
	case rReal:
		v := make([]float64, n)
		for i := range v {
			b, err := rr.bytes(8)
			if err != nil {
				return nil, err
			}
			v[i] = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		obj.Data = v
	case rString:
		v := make([]string, n)
		for i := range v {
			e, err := rr.item()
			if err != nil {
				return nil, err
			}
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: character vector element is %T", errRData, e)
			}
			v[i] = s
		}
		obj.Data = v
	case rVector, rExpr:
		v := make([]any, n)
		for i := range v {
			if v[i], err = rr.item(); err != nil {
				return nil, err
			}
		}
		obj.Data = v
	case rRaw:
		if obj.Data, err = rr.bytes(n); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unsupported value type %d", errRData, typ)
	}
	if hasAttr {
		a, err := rr.item()
		if err != nil {
			return nil, err
		}
		obj.Attrs, _ = a.([]rPair)
	}
	return obj, nil
}

// pairlist reads the cells of a pairlist iteratively (R writes the CDR
// after each cell, so long lists would otherwise recurse deeply).
func (rr *rReader) pairlist(hasAttr, hasTag bool) ([]rPair, error) {
	var cells []rPair
	for {
		if hasAttr {
			if _, err := rr.item(); err != nil {
				return nil, err
			}
		}
		var cell rPair
		if hasTag {
			t, err := rr.item()
			if err != nil {
				return nil, err
			}
			if s, ok := t.(rSymbol); ok {
				cell.Tag = string(s)
			}
		}
		v, err := rr.item()
		if err != nil {
			return nil, err
		}
		cell.Value = v
		cells = append(cells, cell)
		// The CDR: another cell of the same kind, or the end.
		flags, err := rr.r.Peek(4)
		if err != nil {
			return nil, fmt.Errorf("%w: truncated pairlist: %v", errRData, err)
		}
		f := int32(binary.BigEndian.Uint32(flags))
		typ := f & 0xFF
		if typ != rList && typ != rLang && typ != rDots {
			rest, err := rr.item()
			if err != nil {
				return nil, err
			}
			if rest != nil {
				return nil, fmt.Errorf("%w: improper pairlist ends in %T", errRData, rest)
			}
			return cells, nil
		}
		rr.r.Discard(4)
		hasAttr, hasTag = f&(1<<9) != 0, f&(1<<10) != 0
	}
}

func latin1ToUTF8(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// decompressAny removes gzip or bzip2 compression, recognised by magic
// number; other data is returned as is. xz is recognised and refused.
func decompressAny(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errRData, err)
		}
		return io.ReadAll(zr)
	case bytes.HasPrefix(data, []byte("BZh")):
		return io.ReadAll(bzip2.NewReader(bytes.NewReader(data)))
	case bytes.HasPrefix(data, []byte{0xFD, '7', 'z', 'X', 'Z', 0}):
		return nil, fmt.Errorf("%w: xz compression is not supported", errRData)
	}
	return data, nil
}

// readRData reads an .rda/.RData file (save()): optional compression, the
// "RDX2\n"/"RDX3\n" magic, then a pairlist of named objects.
func readRData(data []byte) (map[string]any, error) {
	data, err := decompressAny(data)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte("RDX2\n")) && !bytes.HasPrefix(data, []byte("RDX3\n")) {
		return nil, fmt.Errorf("%w: not an RData file", errRData)
	}
	v, err := readRSerialized(data[5:])
	if err != nil {
		return nil, err
	}
	cells, ok := v.([]rPair)
	if !ok {
		return nil, fmt.Errorf("%w: RData holds %T, want a pairlist", errRData, v)
	}
	out := make(map[string]any, len(cells))
	for _, c := range cells {
		out[c.Tag] = c.Value
	}
	return out, nil
}

// readLazyLoadDB reads every variable of an R lazy-load database, given
// the path without extension (".../data/Rdata" for Rdata.rdx + Rdata.rdb).
func readLazyLoadDB(base string) (map[string]any, error) {
	idx, err := os.ReadFile(base + ".rdx")
	if err != nil {
		return nil, err
	}
	db, err := os.ReadFile(base + ".rdb")
	if err != nil {
		return nil, err
	}
	return parseLazyLoadDB(idx, db)
}

// parseLazyLoadDB reads a lazy-load database from its index (.rdx: a
// compressed serialized list of variables, references and compression)
// and data (.rdb: one compressed serialized value per variable).
func parseLazyLoadDB(idx, db []byte) (map[string]any, error) {
	raw, err := decompressAny(idx)
	if err != nil {
		return nil, err
	}
	v, err := readRSerialized(raw)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	index, ok := v.(*rObject)
	if !ok {
		return nil, fmt.Errorf("%w: index is %T, want a list", errRData, v)
	}
	fields := map[string]any{}
	items, _ := index.Data.([]any)
	for i, name := range index.Names() {
		if i < len(items) {
			fields[name] = items[i]
		}
	}
	compression := 1
	if c, ok := fields["compressed"].(*rObject); ok {
		switch d := c.Data.(type) {
		case []int32:
			if len(d) == 1 {
				compression = int(d[0])
			}
		case []float64:
			if len(d) == 1 {
				compression = int(d[0])
			}
		}
	}
	vars, ok := fields["variables"].(*rObject)
	if !ok {
		return nil, fmt.Errorf("%w: index has no variables list", errRData)
	}
	names := vars.Names()
	offsets, _ := vars.Data.([]any)
	out := make(map[string]any, len(names))
	for i, name := range names {
		if i >= len(offsets) {
			break
		}
		pos, ok := offsets[i].(*rObject)
		var ol []int
		if ok {
			switch d := pos.Data.(type) {
			case []int32:
				for _, x := range d {
					ol = append(ol, int(x))
				}
			case []float64:
				for _, x := range d {
					ol = append(ol, int(x))
				}
			}
		}
		if len(ol) != 2 || ol[0] < 0 || ol[1] < 5 || ol[0]+ol[1] > len(db) {
			return nil, fmt.Errorf("%w: variable %q has a bad position", errRData, name)
		}
		chunk, err := lazyLoadChunk(db[ol[0]:ol[0]+ol[1]], compression)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		if out[name], err = readRSerialized(chunk); err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
	}
	return out, nil
}

// lazyLoadChunk decompresses one value of a lazy-load database: a 4-byte
// big-endian uncompressed length, then zlib data (compression 1), or a
// type byte ('Z' xz, '2' bzip2, '1' zlib, '0' none) and the data
// (compression 2 and 3), as R's R_decompress1/2/3.
func lazyLoadChunk(chunk []byte, compression int) ([]byte, error) {
	if len(chunk) < 5 {
		return nil, fmt.Errorf("%w: chunk of %d bytes", errRData, len(chunk))
	}
	size := int(binary.BigEndian.Uint32(chunk))
	body := chunk[4:]
	if size > 1100*len(body)+64 { // past what zlib, bzip2 or xz can reach
		return nil, fmt.Errorf("%w: chunk of %d bytes claims %d uncompressed", errRData, len(chunk), size)
	}
	kind := byte('1')
	if compression != 1 {
		kind, body = body[0], body[1:]
	}
	var out []byte
	var err error
	switch kind {
	case '0':
		out = body
	case '1':
		var zr io.ReadCloser
		if zr, err = zlib.NewReader(bytes.NewReader(body)); err == nil {
			out, err = io.ReadAll(io.LimitReader(zr, int64(size)+1))
		}
	case '2':
		out, err = io.ReadAll(io.LimitReader(bzip2.NewReader(bytes.NewReader(body)), int64(size)+1))
	case 'Z':
		return nil, fmt.Errorf("%w: xz-compressed lazy-load data is not supported", errRData)
	default:
		return nil, fmt.Errorf("%w: compression type %q", errRData, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRData, err)
	}
	if len(out) != size {
		return nil, fmt.Errorf("%w: chunk decompresses to %d bytes, header says %d", errRData, len(out), size)
	}
	return out, nil
}

// characterVector returns the strings of an R character vector.
func characterVector(v any) ([]string, error) {
	if o, ok := v.(*rObject); ok {
		if s, ok := o.Data.([]string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("%w: vector of %T, want character", errRData, o.Data)
	}
	return nil, fmt.Errorf("%w: %T, want a character vector", errRData, v)
}

// readRPackageData reads all data sets of an installed R package folder
// (its data/Rdata lazy-load database).
func readRPackageData(pkgDir string) (map[string]any, error) {
	return readLazyLoadDB(filepath.Join(pkgDir, "data", "Rdata"))
}

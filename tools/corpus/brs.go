package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The Bible Retrieval System's text file (bible-kjv-text's bible.data), as
// its tsl.c reads it:
//
//	offset  size       field
//	0       2          magic "EC"
//	2       2          format version "02"
//	4       80         description, NUL padded
//	84      4          window size W (big-endian), 65536
//	88      4          number of windows N
//	92      4*(N+1)    file offset of each compressed window, then the end
//
// Window i holds bytes [i*W, (i+1)*W) of the text, compressed on its own
// with the LZW of Unix compress(1) (16-bit codes, block mode; the .Z header
// 1F 9D 90 sits once before the first window). The text has one verse per
// line, "Ge1:1 In the beginning God created the heaven and the earth.",
// after a one-line title.

var errBRS = errors.New("bible data")

const (
	brsHeaderSize = 92
	brsMaxBits    = 16
)

// readBRS decompresses the whole text of a bible.data file.
func readBRS(data []byte) ([]byte, error) {
	if len(data) < brsHeaderSize || string(data[:2]) != "EC" {
		return nil, fmt.Errorf("%w: bad magic", errBRS)
	}
	if string(data[2:4]) != "02" {
		return nil, fmt.Errorf("%w: format version %q, want \"02\"", errBRS, data[2:4])
	}
	wsize := int(binary.BigEndian.Uint32(data[84:]))
	wnum := int(binary.BigEndian.Uint32(data[88:]))
	if wsize <= 0 || wsize > 1<<24 || wnum <= 0 || brsHeaderSize+4*(wnum+1) > len(data) {
		return nil, fmt.Errorf("%w: %d windows of %d bytes do not fit a file of %d bytes", errBRS, wnum, wsize, len(data))
	}
	offsets := make([]int, wnum+1)
	for i := range offsets {
		offsets[i] = int(binary.BigEndian.Uint32(data[brsHeaderSize+4*i:]))
		if offsets[i] > len(data) || (i > 0 && offsets[i] < offsets[i-1]) {
			return nil, fmt.Errorf("%w: window %d offset %d out of order or past the end", errBRS, i, offsets[i])
		}
	}
	var text []byte
	for i := range wnum {
		w, err := unLZW(data[offsets[i]:offsets[i+1]], brsMaxBits, wsize)
		if err != nil {
			return nil, fmt.Errorf("%w: window %d: %v", errBRS, i, err)
		}
		if len(w) != wsize && i != wnum-1 {
			return nil, fmt.Errorf("%w: window %d holds %d bytes, want %d", errBRS, i, len(w), wsize)
		}
		text = append(text, w...)
	}
	return text, nil
}

// unLZW decodes a raw code stream of Unix compress(1) in block mode
// (without the 3-byte .Z header), producing at most limit bytes. Codes
// start 9 bits wide and grow to maxBits; code 256 clears the table. As in
// compress, codes are read in groups of eight: when the width changes or
// the table is cleared, the rest of the current group is skipped.
func unLZW(in []byte, maxBits, limit int) ([]byte, error) {
	const (
		clearCode = 256
		firstFree = 257
	)
	if maxBits < 9 || maxBits > 16 {
		return nil, fmt.Errorf("maximum code width %d, want 9 to 16", maxBits)
	}
	var (
		prefix = make([]uint16, 1<<maxBits)
		suffix = make([]byte, 1<<maxBits)
		stack  = make([]byte, 0, 1<<maxBits)
		out    = make([]byte, 0, min(limit, 16*len(in)+16))

		nBits    = 9
		maxCode  = 1<<nBits - 1
		free     = firstFree
		old      = -1
		fin      byte
		pos      = 0 // bit position in the input
		groupAt  = 0 // bit position where the current group alignment started
		totalBit = len(in) * 8
	)
	for i := range 256 {
		suffix[i] = byte(i)
	}
	skipGroup := func() {
		n := nBits * 8
		if r := (pos - groupAt) % n; r != 0 {
			pos += n - r
		}
		groupAt = pos
	}
	for len(out) < limit {
		if free > maxCode && nBits < maxBits {
			skipGroup()
			nBits++
			maxCode = 1<<nBits - 1
			continue
		}
		if pos+nBits > totalBit {
			break
		}
		// Codes are packed least significant bit first.
		b := pos >> 3
		v := uint32(in[b])
		if b+1 < len(in) {
			v |= uint32(in[b+1]) << 8
		}
		if b+2 < len(in) {
			v |= uint32(in[b+2]) << 16
		}
		code := int(v>>(pos&7)) & (1<<nBits - 1)
		pos += nBits
		if old == -1 {
			if code >= 256 {
				return nil, fmt.Errorf("first code %d is not a byte", code)
			}
			fin, old = byte(code), code
			out = append(out, fin)
			continue
		}
		if code == clearCode {
			skipGroup()
			free = firstFree - 1
			nBits = 9
			maxCode = 1<<nBits - 1
			continue
		}
		incode := code
		stack = stack[:0]
		if code >= free {
			if code > free {
				return nil, fmt.Errorf("code %d beyond table end %d", code, free)
			}
			stack = append(stack, fin)
			code = old
		}
		for code >= 256 {
			if len(stack) >= 1<<maxBits {
				return nil, fmt.Errorf("code chain longer than the table")
			}
			stack = append(stack, suffix[code])
			code = int(prefix[code])
		}
		fin = byte(code)
		stack = append(stack, fin)
		for i := len(stack) - 1; i >= 0; i-- {
			out = append(out, stack[i])
		}
		if free < 1<<maxBits {
			prefix[free] = uint16(old)
			suffix[free] = fin
			free++
		}
		old = incode
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

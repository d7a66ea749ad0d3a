package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"unmask/app/protocol"
)

// maxModelBytes bounds a model file whose size the page did not pin: more
// than a wasm32 worker could hold beside the engine's buffers.
const maxModelBytes = 1 << 30

// loadError is a failed Load with the protocol code that tells the page
// what to offer next (protocol.ErrModelDamaged, ErrModelUnreachable).
type loadError struct {
	code string
	err  error
}

func (e *loadError) Error() string { return e.err.Error() }
func (e *loadError) Unwrap() error { return e.err }

// damaged is the error of a file that arrived but is not the model asked for.
func damaged(format string, args ...any) error {
	return &loadError{code: protocol.ErrModelDamaged, err: fmt.Errorf(format, args...)}
}

// unreachable marks err, a failure of the network or the server.
func unreachable(err error) error {
	return &loadError{code: protocol.ErrModelUnreachable, err: err}
}

// errorCode is the protocol code of err, or "" for errors without one.
func errorCode(err error) string {
	if le, ok := errors.AsType[*loadError](err); ok {
		return le.code
	}
	return ""
}

// localPath is a local file name given as a pinned URL, without the pin.
func localPath(url string) string {
	path, _, _ := strings.Cut(url, "?sha256=")
	return path
}

// body collects a downloaded file in memory that the expected size bounds,
// whatever length the server announces: a compressing host announces the
// compressed length, a broken one any number.
type body struct {
	data  []byte
	limit int64 // most bytes accepted
	total int64 // size shown as progress; 0 when unknown
}

// newBody prepares for a file of expected bytes (0: unknown, then at most
// maxModelBytes). announced is the server's Content-Length (negative when
// absent); encoded says the body is compressed, so that length counts
// other bytes. An unencoded body announced longer than the limit is
// refused before any byte is read.
func newBody(expected, announced int64, encoded bool) (*body, error) {
	b := &body{limit: expected, total: expected}
	if expected <= 0 {
		b.limit, b.total = maxModelBytes, 0
	}
	if !encoded && announced > b.limit {
		if expected > 0 {
			return nil, damaged("the server announced %d bytes for a model file of %d", announced, expected)
		}
		return nil, damaged("the server announced %d bytes, more than the %d a model file may have", announced, int64(maxModelBytes))
	}
	capacity := b.total
	if capacity == 0 && !encoded && announced > 0 {
		capacity, b.total = announced, announced
	}
	b.data = make([]byte, 0, min(capacity, 64<<20))
	return b, nil
}

// reserve makes room for n more bytes and returns it, refusing more bytes
// than the limit.
func (b *body) reserve(n int) ([]byte, error) {
	if int64(len(b.data))+int64(n) > b.limit {
		if b.total == b.limit {
			return nil, damaged("the model file is longer than the %d bytes expected", b.limit)
		}
		return nil, damaged("the model file is longer than %d bytes", b.limit)
	}
	b.data = append(b.data, make([]byte, n)...)
	return b.data[len(b.data)-n:], nil
}

// readAll reads r to its end in chunks, reporting progress after each.
func (b *body) readAll(r io.Reader, progress func(loaded, total int64)) ([]byte, error) {
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			dst, err := b.reserve(n)
			if err != nil {
				return nil, err
			}
			copy(dst, buf[:n])
			progress(int64(len(b.data)), b.total)
		}
		if err == io.EOF {
			return b.data, nil
		}
		if err != nil {
			return nil, unreachable(err)
		}
	}
}

// identity says whether a Content-Encoding leaves the body as it is.
func identity(encoding string) bool {
	return encoding == "" || strings.EqualFold(encoding, "identity")
}

// verify refuses data that is not the pinned file: of another size
// (incomplete, or longer when the host did not stop it), or with another
// sha256.
func verify(data []byte, req *protocol.LoadRequest) error {
	if req.Size > 0 && int64(len(data)) != req.Size {
		return damaged("the model file has %d bytes, not the %d expected", len(data), req.Size)
	}
	if req.SHA256 == "" {
		return nil
	}
	if got := sha256Hex(data); got != strings.ToLower(req.SHA256) {
		return damaged("the model file's sha256 (%s…) is not the one the page pins (%s…)", short(got), short(req.SHA256))
	}
	return nil
}

// sha256Hex is the sha256 of data in lower-case hex, as models are pinned.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// short is the start of a sha256, enough to tell two apart in a message.
func short(sha string) string {
	return sha[:min(len(sha), 12)]
}

package trainer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"unmask/engine"
)

// stateMagic opens a training state file; the version follows it.
const (
	stateMagic   = "UNMTRAIN"
	stateVersion = 1
)

// ErrState reports a training state file that cannot be resumed from.
var ErrState = errors.New("bad training state")

// State is everything a run needs to continue exactly where it stopped:
// the parameters, the optimiser moments, the step and the random number
// generator, plus the run's own record (settings, loss history) as JSON.
type State struct {
	Config    engine.Config   `json:"config"`
	Step      int             `json:"step"`       // training steps done
	AdamSteps int             `json:"adam_steps"` // optimiser updates since its moments were reset
	RNG       []byte          `json:"rng"`        // the data/mask generator (math/rand/v2 PCG)
	Run       json.RawMessage `json:"run"`        // the trainer's settings and history
	Params    []float32       `json:"-"`
	M, V      []float32       `json:"-"`
}

type stateHeader struct {
	State
	Size   int    `json:"size"`   // values per array
	SHA256 string `json:"sha256"` // of the three arrays as stored
}

// WriteState saves s to path atomically (a temporary file renamed over
// it), so a crash never leaves a torn state behind.
func WriteState(path string, s *State) error {
	n := len(s.Params)
	if len(s.M) != n || len(s.V) != n {
		return fmt.Errorf("%w: arrays of %d, %d and %d values", ErrState, n, len(s.M), len(s.V))
	}
	sum := sha256.New()
	for _, a := range [][]float32{s.Params, s.M, s.V} {
		if err := writeFloats(sum, a); err != nil {
			return err
		}
	}
	header, err := json.Marshal(stateHeader{State: *s, Size: n, SHA256: hex.EncodeToString(sum.Sum(nil))})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	var prefix [16]byte
	copy(prefix[:], stateMagic)
	binary.LittleEndian.PutUint32(prefix[8:], stateVersion)
	binary.LittleEndian.PutUint32(prefix[12:], uint32(len(header)))
	w.Write(prefix[:])
	w.Write(header)
	for _, a := range [][]float32{s.Params, s.M, s.V} {
		if err := writeFloats(w, a); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maxStateHeader bounds a state file's JSON header (settings and loss
// history), and maxStateValues the values per array (4 GiB of float32s),
// so a damaged or foreign file is refused before anything is allocated
// from the sizes it declares.
const (
	maxStateHeader = 64 << 20
	maxStateValues = 1 << 30
)

// ReadState loads a file written by WriteState, checking its checksum. It
// reads no more than the header declares: the magic and the header length
// are checked first, and the arrays' size against the model the header
// describes before they are read.
func ReadState(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var prefix [16]byte
	if _, err := io.ReadFull(f, prefix[:]); err != nil || string(prefix[:8]) != stateMagic {
		return nil, fmt.Errorf("%w: %s is not a training state", ErrState, path)
	}
	if v := binary.LittleEndian.Uint32(prefix[8:]); v != stateVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrState, v, stateVersion)
	}
	hl := int64(binary.LittleEndian.Uint32(prefix[12:]))
	if hl > maxStateHeader {
		return nil, fmt.Errorf("%w: a header of %d bytes (limit %d)", ErrState, hl, maxStateHeader)
	}
	header, err := readExactly(f, hl)
	if err != nil {
		return nil, fmt.Errorf("%w: header runs past the end", ErrState)
	}
	var h stateHeader
	if err := json.Unmarshal(header, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrState, err)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if h.Size <= 0 || h.Size > maxStateValues || h.Size != Size(&h.Config) {
		return nil, fmt.Errorf("%w: %d values per array for this model", ErrState, h.Size)
	}
	want := int64(3 * 4 * h.Size)
	body, err := readExactly(f, want)
	if err != nil {
		return nil, fmt.Errorf("%w: fewer than the %d bytes of arrays the header declares", ErrState, want)
	}
	if n, _ := f.Read(prefix[:1]); n != 0 {
		return nil, fmt.Errorf("%w: more than the %d bytes of arrays the header declares", ErrState, want)
	}
	if got := sha256.Sum256(body); hex.EncodeToString(got[:]) != h.SHA256 {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrState)
	}
	s := h.State
	s.Params, s.M, s.V = floats(body[:4*h.Size]), floats(body[4*h.Size:8*h.Size]), floats(body[8*h.Size:])
	return &s, nil
}

// readExactly reads n bytes, growing its buffer as they arrive, so a file
// shorter than it claims costs no more memory than it holds.
func readExactly(r io.Reader, n int64) ([]byte, error) {
	var buf bytes.Buffer
	got, err := io.Copy(&buf, io.LimitReader(r, n))
	if err != nil {
		return nil, err
	}
	if got != n {
		return nil, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), nil
}

func writeFloats(w io.Writer, a []float32) error {
	var buf bytes.Buffer
	buf.Grow(1 << 16)
	for start := 0; start < len(a); start += 1 << 14 {
		buf.Reset()
		for _, v := range a[start:min(len(a), start+1<<14)] {
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			buf.Write(b[:])
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

package main

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine/bpe"
)

func TestWriteTokens(t *testing.T) {
	docs := []Document{
		{Title: "a", Paragraphs: []string{"It is a truth.", "Universally acknowledged."}},
		{Title: "b", Paragraphs: []string{"In the beginning."}},
	}
	tok, err := bpe.Train(paragraphs(docs), 300, bpe.DefaultSpecials)
	require.NoError(t, err)
	base := filepath.Join(t.TempDir(), "train")
	n, err := writeTokens(base, docs, tok)
	require.NoError(t, err)

	raw, err := os.ReadFile(base + ".bin")
	require.NoError(t, err)
	require.Len(t, raw, 2*n)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = int(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	eos, _ := tok.Special(bpe.EOS)
	want := slices.Concat(tok.Encode("It is a truth."), []int{'\n'}, tok.Encode("Universally acknowledged."), []int{eos},
		tok.Encode("In the beginning."), []int{eos})
	assert.Equal(t, want, ids)

	raw, err = os.ReadFile(base + ".idx")
	require.NoError(t, err)
	var starts []int
	for i := 0; i < len(raw); i += 4 {
		starts = append(starts, int(binary.LittleEndian.Uint32(raw[i:])))
	}
	first := len(tok.Encode("It is a truth."))
	assert.Equal(t, []int{0, first + 1, first + 1 + len(tok.Encode("Universally acknowledged.")) + 1}, starts)
	for _, s := range starts[1:] {
		assert.Contains(t, []int{'\n', eos}, ids[s-1], "every paragraph follows a newline or the previous document's EOS")
	}
}

func TestWriteFileLeavesNoPartialFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	err := writeFile(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("disk full")
	})
	require.Error(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	_, err = os.Stat(path + ".tmp")
	assert.ErrorIs(t, err, os.ErrNotExist, "the temporary file is removed")
}

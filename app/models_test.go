//go:build !(js && wasm)

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pinLines finds one model entry's pin in the Go file that lists it: its file name, then
// (before the entry ends) its SHA256 and Size lines.
func pinLines(file string) *regexp.Regexp {
	return regexp.MustCompile(`(File:\s*"` + regexp.QuoteMeta(file) + `",(?:[^}]|\}[^\n])*?\n\s*SHA256:\s*")[0-9a-f]*(",\n\s*Size:\s*)\d+`)
}

// Each model's pin matches its file in web/ (go test ./app -run Pins
// -update rewrites the pins in the Go file that lists the model after a
// model file changes).
func TestModelPins(t *testing.T) {
	for source, list := range map[string][]modelEntry{"models.go": models, "twinmodel.go": twinModels, "reversalmodels.go": reversalModels} {
		t.Run(source, func(t *testing.T) { checkPins(t, source, list) })
	}
}

// checkPins compares (or with -update rewrites) the pins of list, whose
// entries are written in the Go file source.
func checkPins(t *testing.T, source string, list []modelEntry) {
	t.Helper()
	code, err := os.ReadFile(source)
	require.NoError(t, err)
	for _, m := range list {
		data, err := os.ReadFile(filepath.Join("..", "web", filepath.FromSlash(m.File)))
		require.NoError(t, err, "model %q", m.ID)
		sum := sha256.Sum256(data)
		want := hex.EncodeToString(sum[:])
		re := pinLines(m.File)
		require.Len(t, re.FindAllIndex(code, -1), 1, "%s: no single SHA256/Size pin for %s", source, m.File)
		if *update {
			code = re.ReplaceAll(code, []byte(fmt.Sprintf("${1}%s${2}%d", want, len(data))))
			continue
		}
		assert.Equal(t, want, m.SHA256, "sha256 of %s: run go test ./app -run Pins -update", m.File)
		assert.Equal(t, int64(len(data)), m.Size, "size of %s: run go test ./app -run Pins -update", m.File)
	}
	if *update {
		formatted, err := format.Source(code)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(source, formatted, 0o644))
	}
}

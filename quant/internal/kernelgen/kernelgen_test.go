package kernelgen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the module root, from this package's folder.
const root = "../../.."

// TestGeneratedFilesAreCurrent: every generated file is what the kernel
// list gives (as make check-wasm does for the assembled .wasm).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	loader, err := os.ReadFile(filepath.Join(root, LoaderFile))
	require.NoError(t, err)
	files, err := Render(loader)
	require.NoError(t, err)
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s is stale: run go generate ./quant", path)
	}
}

func TestWatTypes(t *testing.T) {
	for _, tc := range []struct {
		params string
		want   []string
	}{
		{"a, b unsafe.Pointer, n uint32", []string{"i32", "i32", "i32"}},
		{"a float32, x, y unsafe.Pointer, n uint32", []string{"f32", "i32", "i32", "i32"}},
		{"out, x, w unsafe.Pointer, d, rows uint32, eps float64", []string{"i32", "i32", "i32", "i32", "i32", "f64"}},
		{"", nil},
	} {
		assert.Equal(t, tc.want, watTypes(tc.params), tc.params)
	}
}

func TestRenderNeedsLoaderMarkers(t *testing.T) {
	_, err := Render([]byte("const SLOTS = [];\n"))
	require.ErrorIs(t, err, ErrLoader)
}

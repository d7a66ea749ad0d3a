//go:build !(js && wasm)

package quanttest

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"unmask/quant"
	"unmask/quant/internal/wasmhost"
)

var (
	hostOnce sync.Once
	hostErr  error
)

// registerHost loads web/kernels/kernels.wasm (found from the module root
// above the test's folder) into wazero and offers it as a kernel path.
func registerHost(tb testing.TB) {
	tb.Helper()
	hostOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			hostErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				hostErr = errors.New("no go.mod above the test's folder")
				return
			}
			dir = filepath.Dir(dir)
		}
		m, err := wasmhost.Load(filepath.Join(dir, "web", "kernels", "kernels.wasm"))
		if err != nil {
			hostErr = err
			return
		}
		quant.RegisterWasmHost(m)
	})
	if hostErr != nil {
		tb.Fatalf("loading the WebAssembly kernels into wazero: %v", hostErr)
	}
}

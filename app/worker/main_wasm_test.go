//go:build js && wasm

package main

import (
	"fmt"
	"os"
	"testing"

	"unmask/quant"
)

// Under Node (make test-worker) the tests run the engine on the kernels the
// runner loaded, as the browser's worker does.
func TestMain(m *testing.M) {
	path, err := quant.UseKernels("auto")
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker tests:", err)
		os.Exit(2)
	}
	fmt.Println("worker tests run on the", path, "kernels")
	os.Exit(m.Run())
}

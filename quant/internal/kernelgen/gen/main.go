// Command gen writes the files that package kernelgen generates from its
// kernel list; go generate ./quant runs it. Paths are from the module root,
// which it finds by walking up to go.mod.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"unmask/quant/internal/kernelgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kernelgen:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return fmt.Errorf("no go.mod above the working folder")
		}
		root = parent
	}
	loader, err := os.ReadFile(filepath.Join(root, kernelgen.LoaderFile))
	if err != nil {
		return err
	}
	files, err := kernelgen.Render(loader)
	if err != nil {
		return err
	}
	for path, data := range files {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(path)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

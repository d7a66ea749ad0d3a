//go:build !(js && wasm)

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The service worker, run under Node in a simulated worker scope
// (serviceworker_test.js): one download per file, navigations answered
// from the cache, models kept only with their pinned sha256, updates that
// keep the site working offline.
func TestServiceWorker(t *testing.T) {
	node, err := exec.LookPath("node")
	require.NoError(t, err, "Node.js runs the service worker's test (make unit installs it)")
	sum := sha256.Sum256([]byte("good model"))
	pin := hex.EncodeToString(sum[:])
	script, err := serviceWorkerData{
		Version: "v1",
		Shell:   []string{"./", "./app.js"},
		Files:   []string{"./web/app.wasm"},
		Models:  map[string]string{"./web/models/m.unmask?sha256=" + pin: pin},
	}.render()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "app-worker.js")
	require.NoError(t, os.WriteFile(path, script, 0o644))
	out, err := exec.Command(node, "serviceworker_test.js", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "ok\n", string(out))
}

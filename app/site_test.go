//go:build !(js && wasm)

package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/app/protocol"
)

var update = flag.Bool("update", false, "rewrite the top-level index.html")

// fakeWeb makes a web folder with every file the site needs (contents
// do not matter to the site's own files) plus a few it must leave out.
func fakeWeb(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := append([]string{}, requiredWebFiles...)
	for _, m := range allModels() {
		// The real model files: the site refuses files the pins disagree with.
		p := filepath.Join(dir, filepath.FromSlash(m.File))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.Link(filepath.Join("..", "web", filepath.FromSlash(m.File)), p))
	}
	files = append(files, reversalQuestions, "kernels/kernels.wasm", "kernels/kernels.js",
		"kernels/kernels.wat", "kernels/run_node.js", "models/unused.unmask", ".hidden", "README.md")
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("content of "+f), 0o644))
	}
	return dir
}

func TestSiteFiles(t *testing.T) {
	web := fakeWeb(t)
	files, err := siteFiles(web)
	require.NoError(t, err)
	assert.Contains(t, files, "kernels/kernels.wasm")
	assert.Contains(t, files, "worker.wasm")
	assert.Contains(t, files, models[0].File)
	for _, left := range []string{"kernels/kernels.wat", "kernels/run_node.js", "models/unused.unmask", ".hidden", "README.md"} {
		assert.NotContains(t, files, left)
	}

	model := filepath.Join(web, filepath.FromSlash(models[0].File))
	require.NoError(t, os.Remove(model))
	require.NoError(t, os.WriteFile(model, []byte("another model"), 0o644))
	_, err = siteFiles(web)
	assert.ErrorContains(t, err, "not the file app/models.go pins")

	require.NoError(t, os.Remove(model))
	_, err = siteFiles(web)
	assert.ErrorContains(t, err, models[0].ID)
}

func TestSiteVersionFollowsContent(t *testing.T) {
	web := fakeWeb(t)
	files, err := siteFiles(web)
	require.NoError(t, err)
	v1, err := siteVersion(web, files)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(web, "worker.wasm"), []byte("new"), 0o644))
	v2, err := siteVersion(web, files)
	require.NoError(t, err)
	assert.NotEqual(t, v1, v2)
}

func TestRelativize(t *testing.T) {
	in := `<link rel="manifest" href="/manifest.webmanifest"><script src="/app.js"></script>` +
		`<meta property="og:url" content="http://127.0.0.1:4242/">` + "\n" + `["/","/app.css","./web/x"]`
	want := `<link rel="manifest" href="./manifest.webmanifest"><script src="./app.js"></script>` +
		`["./","./app.css","./web/x"]`
	assert.Equal(t, want, string(relativize([]byte(in))))
}

func TestSortAttributes(t *testing.T) {
	in := `<meta name="a" content="b"><br><input type="range" disabled value="3"><p class="x">a > b</p>`
	want := `<meta content="b" name="a"><br><input disabled type="range" value="3"><p class="x">a > b</p>`
	assert.Equal(t, want, string(sortAttributes([]byte(in))))
}

// absoluteURL finds an address on some origin.
var absoluteURL = regexp.MustCompile(`https?://[^"' )<>]+`)

// absolutePath finds a quoted path that starts at the site's root.
var absolutePath = regexp.MustCompile(`"/[^"/>]`)

// The written site links everything relatively, lists only files that it
// ships for the offline cache, uses local icons only, and its index.html
// is the committed top-level one (go test -update rewrites that).
func TestWriteSite(t *testing.T) {
	web := fakeWeb(t)
	out := t.TempDir()
	require.NoError(t, writeSite(web, out))
	for _, f := range goAppFiles {
		data, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		text := string(data)
		if f == "wasm_exec.js" {
			continue // Go's own file; its one address is in a comment
		}
		assert.NotRegexp(t, absolutePath, text, "%s has an absolute path", f)
		for _, u := range absoluteURL.FindAllString(text, -1) {
			assert.Equal(t, "http://www.w3.org/2000/svg", u, "%s refers to another origin", f)
		}
	}
	worker, err := os.ReadFile(filepath.Join(out, "app-worker.js"))
	require.NoError(t, err)
	list := regexp.MustCompile(`"(\./[^"?]*)(\?sha256=[0-9a-f]+)?"`).FindAllStringSubmatch(string(worker), -1)
	require.NotEmpty(t, list)
	for _, m := range list {
		if m[1] == "./" {
			continue
		}
		_, err := os.Stat(filepath.Join(out, filepath.FromSlash(m[1])))
		assert.NoError(t, err, "the service worker caches %s, which the site lacks", m[1])
	}
	for _, f := range []string{"./web/worker.wasm", "./web/worker.js", "./web/kernels/kernels.wasm", protocol.PinnedURL("./web/"+models[0].File, models[0].SHA256)} {
		assert.Contains(t, string(worker), `"`+f+`"`, "not cached for offline use")
	}
	appJS, err := os.ReadFile(filepath.Join(out, "app.js"))
	require.NoError(t, err)
	assert.Contains(t, string(appJS), waitBeforeWASM, "app.wasm is fetched before the service worker can keep it")

	index, err := os.ReadFile(filepath.Join(out, "index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(index), `data-testid="generate"`, "the page is prerendered")
	assert.NotContains(t, string(index), `="false"`, "a false boolean attribute reads as true")
	assert.Contains(t, string(index), zoomViewport, "visitors can zoom")
	assert.NotContains(t, string(index), "user-scalable", "visitors can zoom")
	top := filepath.Join("..", "index.html")
	if *update {
		require.NoError(t, os.WriteFile(top, index, 0o644))
	}
	committed, err := os.ReadFile(top)
	require.NoError(t, err)
	assert.Equal(t, strings.Split(string(committed), "\n"), strings.Split(string(index), "\n"),
		"index.html is out of date: run go test ./app -run WriteSite -update")
}

// The service worker installs with the shell only (the page has just
// loaded it); everything else, models by content, is kept when first used.
func TestServiceWorkerData(t *testing.T) {
	files := []string{"app.wasm", "icon.svg", "icon-192.png", "icon-512.png", "kernels/kernels.wasm",
		"unmask.css", "worker.js", "worker.wasm", models[0].File, models[1].File}
	d := newServiceWorkerData("v1", files)
	assert.Equal(t, []string{"./", "./app.js", "./app.css", "./manifest.webmanifest", "./wasm_exec.js",
		"./web/icon.svg", "./web/icon-192.png", "./web/icon-512.png", "./web/unmask.css"}, d.Shell)
	assert.Equal(t, []string{"./web/app.wasm", "./web/kernels/kernels.wasm", "./web/worker.js", "./web/worker.wasm"}, d.Files)
	assert.Equal(t, map[string]string{
		"./web/" + models[0].File + "?sha256=" + models[0].SHA256: models[0].SHA256,
		"./web/" + models[1].File + "?sha256=" + models[1].SHA256: models[1].SHA256,
	}, d.Models)

	script, err := d.render()
	require.NoError(t, err)
	assert.Contains(t, string(script), `const version = "v1";`)
	assert.Contains(t, string(script), `const files = ["./web/app.wasm",`)
}

func TestWaitForServiceWorker(t *testing.T) {
	appJS := []byte("goappInitServiceWorker();\ngoappInitWebAssembly();\n\nasync function goappInitWebAssembly() {}\n")
	patched, err := waitForServiceWorker(appJS)
	require.NoError(t, err)
	assert.Contains(t, string(patched), "\nunmaskWhenControlled().then(goappInitWebAssembly);\n")
	assert.NotContains(t, string(patched), "\ngoappInitWebAssembly();")
	assert.Contains(t, string(patched), "function unmaskWhenControlled()")

	_, err = waitForServiceWorker([]byte("goappInitWebAssembly(); // moved"))
	assert.ErrorContains(t, err, "go-app's app.js changed")
}

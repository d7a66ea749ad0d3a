//go:build !(js && wasm)

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// requiredWebFiles must exist in the web folder before the site is written;
// the Makefile builds the first three.
var requiredWebFiles = []string{
	"app.wasm", "worker.wasm", "wasm_exec.js",
	"worker.js", "unmask.css", "icon.svg", "icon-192.png", "icon-512.png",
}

// siteFiles lists the files of the web folder that the site ships, as
// slash paths relative to it: everything but sources and notes, and of the
// model files only those the model list names.
func siteFiles(webDir string) ([]string, error) {
	for _, f := range requiredWebFiles {
		if _, err := os.Stat(filepath.Join(webDir, f)); err != nil {
			return nil, fmt.Errorf("%s is missing (run make build): %w", filepath.Join(webDir, f), err)
		}
	}
	shipped := map[string]bool{}
	for _, m := range models {
		if _, err := os.Stat(filepath.Join(webDir, filepath.FromSlash(m.File))); err != nil {
			return nil, fmt.Errorf("model %q (app/models.go) has no file: %w", m.ID, err)
		}
		shipped[m.File] = true
	}
	for _, f := range viewFiles { // the Compare and reversal views' (reversalmodels.go)
		shipped[f] = true
	}
	var files []string
	err := filepath.WalkDir(webDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(webDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasPrefix(name, "."), strings.HasSuffix(name, "_node.js"),
			slices.Contains([]string{".wat", ".md", ".go", ".txt"}, path.Ext(name)),
			strings.HasPrefix(rel, "models/") && !shipped[rel]:
			return nil
		}
		files = append(files, rel)
		return nil
	})
	slices.Sort(files)
	return files, err
}

// siteVersion hashes every shipped file, so the service worker replaces
// its cache exactly when something changed.
func siteVersion(webDir string, files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(webDir, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// relativeSite is go-app's resource provider for a site linked by relative
// paths: static files resolve to ./web/..., so the site works under any
// URL prefix.
type relativeSite struct{ http.Handler }

func (relativeSite) Package() string { return "" }
func (relativeSite) Static() string  { return "." }
func (relativeSite) AppWASM() string { return "./web/app.wasm" }

// newHandler configures go-app: every icon is local (go-app's defaults come
// from another origin and break the offline cache) and every file the page
// needs offline is listed for the service worker.
func newHandler(webDir, version string, files []string) *app.Handler {
	cacheable := make([]string, 0, len(files))
	for _, f := range files {
		cacheable = append(cacheable, "/web/"+f)
	}
	return &app.Handler{
		Name:        "Unmask",
		ShortName:   "Unmask",
		Title:       "Unmask: watch a diffusion language model write",
		Description: "A small LLaDA masked diffusion language model running in your browser, step by step.",
		Author:      "The Unmask authors",
		Keywords:    []string{"diffusion language model", "LLaDA", "WebAssembly", "masked diffusion"},
		Lang:        "en",
		Icon: app.Icon{
			Default:    "/web/icon-192.png",
			Large:      "/web/icon-512.png",
			AppleTouch: "/web/icon-192.png",
			SVG:        "/web/icon.svg",
		},
		BackgroundColor:    "#f7f5f0",
		ThemeColor:         "#1d3557",
		LoadingLabel:       "Loading Unmask… {progress}%",
		Styles:             []string{"/web/unmask.css"},
		CacheableResources: cacheable,
		Resources:          relativeSite{http.StripPrefix("/web/", http.FileServer(http.Dir(webDir)))},
		Version:            version,
		// The page's own service worker: go-app's, answering navigations
		// from the cache whatever their query.
		ServiceWorkerTemplate: serviceWorkerTemplate(),
	}
}

// goAppFetch is the fetch handler of go-app's service worker; offlineFetch
// replaces it so that a page address with settings in its query (or under
// any path, as every path shows the page) is served from the cache too: a
// navigation is answered with the cached page whatever its query.
const (
	goAppFetch   = `caches.match(event.request).then((response) => {`
	offlineFetch = `(event.request.mode === "navigate"
      ? caches.match(event.request, { ignoreSearch: true })
          .then((response) => response || caches.match(self.registration.scope))
      : caches.match(event.request)
    ).then((response) => {`
)

// serviceWorkerTemplate is go-app's service worker with offlineFetch.
func serviceWorkerTemplate() string {
	if !strings.Contains(app.DefaultAppWorkerJS, goAppFetch) {
		panic("go-app's service worker changed: update offlineFetch")
	}
	return strings.Replace(app.DefaultAppWorkerJS, goAppFetch, offlineFetch, 1)
}

// packagePaths are the absolute paths go-app writes for its own files,
// with the relative form each becomes.
var packagePaths = []struct{ abs, rel string }{
	{`"/app.css"`, `"./app.css"`},
	{`"/app.js"`, `"./app.js"`},
	{`"/app-worker.js"`, `"./app-worker.js"`},
	{`"/manifest.webmanifest"`, `"./manifest.webmanifest"`},
	{`"/wasm_exec.js"`, `"./wasm_exec.js"`},
	{`"/"`, `"./"`},
}

// ogURL is the page address go-app records from the request that rendered
// it: a throwaway local server's, so it is dropped.
var ogURL = regexp.MustCompile(`<meta (?:property="og:url" content="[^"]*"|content="[^"]*" property="og:url")>\n?`)

// Start tags and their attributes, as go-app writes them (values always
// double-quoted, quotes inside escaped).
var (
	startTag  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)+)\s*>`)
	attribute = regexp.MustCompile(`[^\s=>/]+(?:="[^"]*")?`)
)

// falseBooleans are boolean attributes that go-app's server render writes
// as ="false", which HTML reads as set: the page would show disabled
// controls until its WebAssembly replaced them.
var falseBooleans = regexp.MustCompile(` (?:checked|disabled|selected|open|hidden|required|readonly)="false"`)

// sortAttributes puts every tag's attributes in name order: go-app writes
// them in map order, which changes from run to run.
func sortAttributes(html []byte) []byte {
	return startTag.ReplaceAllFunc(html, func(tag []byte) []byte {
		m := startTag.FindSubmatch(tag)
		attrs := attribute.FindAll(m[2], -1)
		slices.SortStableFunc(attrs, func(a, b []byte) int {
			return bytes.Compare(attrName(a), attrName(b))
		})
		return []byte("<" + string(m[1]) + " " + string(bytes.Join(attrs, []byte(" "))) + ">")
	})
}

func attrName(a []byte) []byte {
	if i := bytes.IndexByte(a, '='); i >= 0 {
		return a[:i]
	}
	return a
}

// relativize rewrites go-app's absolute package paths in one of its files.
func relativize(content []byte) []byte {
	for _, p := range packagePaths {
		content = bytes.ReplaceAll(content, []byte(p.abs), []byte(p.rel))
	}
	return ogURL.ReplaceAll(content, nil)
}

// goAppFiles are the files GenerateStaticWebsite writes at the top.
var goAppFiles = []string{"index.html", "app.js", "app-worker.js", "app.css", "manifest.webmanifest", "wasm_exec.js"}

// writeSite writes the whole static site to outDir: go-app's files with
// relative paths, and the shipped files of webDir under outDir/web.
func writeSite(webDir, outDir string) error {
	files, err := siteFiles(webDir)
	if err != nil {
		return err
	}
	version, err := siteVersion(webDir, files)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := app.GenerateStaticWebsite(outDir, newHandler(webDir, version, files)); err != nil {
		return fmt.Errorf("writing go-app's files: %w", err)
	}
	for _, f := range goAppFiles {
		p := filepath.Join(outDir, f)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data = relativize(data)
		if f == "index.html" {
			data = falseBooleans.ReplaceAll(sortAttributes(data), nil)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := copyFile(filepath.Join(webDir, filepath.FromSlash(f)), filepath.Join(outDir, "web", filepath.FromSlash(f))); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

//go:build !(js && wasm)

package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"text/template"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
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
	for _, m := range allModels() {
		if err := checkPin(webDir, m); err != nil {
			return nil, err
		}
		shipped[m.File] = true
	}
	shipped[reversalQuestions] = true // the reversal view's questions (reversalmodels.go)
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

// checkPin says whether a model's file is the one app/models.go pins: the
// page refuses any other.
func checkPin(webDir string, m modelEntry) error {
	data, err := os.ReadFile(filepath.Join(webDir, filepath.FromSlash(m.File)))
	if err != nil {
		return fmt.Errorf("model %q (app/models.go) has no file: %w", m.ID, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != m.SHA256 || int64(len(data)) != m.Size {
		return fmt.Errorf("model %q: %s is not the file app/models.go pins (run go test ./app -run Pins -update)", m.ID, m.File)
	}
	return nil
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
// from another origin and break the offline cache). Its service worker is
// replaced by Unmask's own (serviceworker.js), written by writeSite.
func newHandler(webDir, version string) *app.Handler {
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
		BackgroundColor: "#f7f5f0",
		ThemeColor:      "#1d3557",
		LoadingLabel:    "Loading Unmask… {progress}%",
		Styles:          []string{"/web/unmask.css"},
		Resources:       relativeSite{http.StripPrefix("/web/", http.FileServer(http.Dir(webDir)))},
		Version:         version,
	}
}

// serviceWorkerJS is the page's service worker, a text/template over
// serviceWorkerData; whenControlledJS is added to go-app's app.js.
var (
	//go:embed serviceworker.js
	serviceWorkerJS string
	//go:embed whencontrolled.js
	whenControlledJS string
)

// serviceWorkerData are the file lists of the service worker, as paths
// relative to the site's root (JSON in the script).
type serviceWorkerData struct {
	Version string
	Shell   []string          // loaded by index.html before the worker runs
	Files   []string          // every other file but the models
	Models  map[string]string // a model's pinned path -> its sha256
}

// shellWebFiles are the files of web/ that index.html loads itself.
var shellWebFiles = []string{"unmask.css", "icon.svg", "icon-192.png", "icon-512.png"}

// newServiceWorkerData sorts the site's files into the worker's lists.
func newServiceWorkerData(version string, files []string) serviceWorkerData {
	d := serviceWorkerData{Version: version, Models: map[string]string{}}
	for _, f := range goAppFiles {
		switch f {
		case "index.html":
			d.Shell = append(d.Shell, "./")
		case "app-worker.js": // the worker itself
		default:
			d.Shell = append(d.Shell, "./"+f)
		}
	}
	pinned := map[string]modelEntry{}
	for _, m := range allModels() {
		pinned[m.File] = m
	}
	for _, f := range files {
		switch m, ok := pinned[f]; {
		case ok:
			d.Models[protocol.PinnedURL("./web/"+m.File, m.SHA256)] = m.SHA256
		case slices.Contains(shellWebFiles, f):
			d.Shell = append(d.Shell, "./web/"+f)
		default:
			d.Files = append(d.Files, "./web/"+f)
		}
	}
	return d
}

// render writes the service worker's script.
func (d serviceWorkerData) render() ([]byte, error) {
	tmpl, err := template.New("app-worker.js").Funcs(template.FuncMap{"json": toJSON}).Parse(serviceWorkerJS)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, d); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// goAppInitWASM is where go-app's app.js starts fetching app.wasm; the
// page waits for its service worker first (whencontrolled.js).
const (
	goAppInitWASM  = "\ngoappInitWebAssembly();\n"
	waitBeforeWASM = "\nunmaskWhenControlled().then(goappInitWebAssembly);\n"
)

// waitForServiceWorker patches go-app's app.js so that app.wasm is fetched
// through the service worker.
func waitForServiceWorker(appJS []byte) ([]byte, error) {
	if bytes.Count(appJS, []byte(goAppInitWASM)) != 1 {
		return nil, errors.New("go-app's app.js changed: update goAppInitWASM")
	}
	appJS = bytes.Replace(appJS, []byte(goAppInitWASM), []byte(waitBeforeWASM), 1)
	return append(appJS, whenControlledJS...), nil
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

// fixedViewport is go-app's viewport, which forbids zooming; zoomViewport
// lets visitors pinch-zoom (WCAG 1.4.4).
const (
	fixedViewport = `content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=0, viewport-fit=cover"`
	zoomViewport  = `content="width=device-width, initial-scale=1, viewport-fit=cover"`
)

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
	if err := app.GenerateStaticWebsite(outDir, newHandler(webDir, version)); err != nil {
		return fmt.Errorf("writing go-app's files: %w", err)
	}
	for _, f := range goAppFiles {
		p := filepath.Join(outDir, f)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data = relativize(data)
		switch f {
		case "index.html":
			data = falseBooleans.ReplaceAll(sortAttributes(data), nil)
			data = bytes.Replace(data, []byte(fixedViewport), []byte(zoomViewport), 1)
		case "app.js":
			if data, err = waitForServiceWorker(data); err != nil {
				return err
			}
		case "app-worker.js":
			if data, err = newServiceWorkerData(version, files).render(); err != nil {
				return err
			}
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

//go:build !(js && wasm)

// Command app is Unmask's page, built with go-app. Compiled to WebAssembly
// (web/app.wasm) it is the page itself; built natively it writes the
// static site and serves it:
//
//	go run ./app -out dist                 # write the site to dist/
//	go run ./app -out dist -serve :8000    # write it, then serve it
//
// The site's files are go-app's (index.html, app.js, app-worker.js,
// app.css, manifest.webmanifest, wasm_exec.js) and a copy of web/, all
// linked by relative paths, so any static host serves dist/ unchanged.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	web := fs.String("web", "web", "folder of the static files (with app.wasm and worker.wasm built)")
	out := fs.String("out", "dist", "folder to write the site to")
	serve := fs.String("serve", "", "after writing, serve the site on this address (e.g. :8000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := writeSite(*web, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the site to %s/\n", *out)
	if *serve == "" {
		return nil
	}
	ln, err := net.Listen("tcp", *serve)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	fmt.Fprintf(stdout, "serving Unmask on http://%s/\n", net.JoinHostPort(host, port))
	err = http.Serve(ln, http.FileServer(http.Dir(*out)))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

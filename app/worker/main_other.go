//go:build !(js && wasm)

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"unmask/app/protocol"
)

// Outside the browser the worker speaks the same protocol over standard
// input and output, one JSON message per line, so the protocol can be
// driven from a shell:
//
//	echo '{"type":"load","id":1,"load":{"url":"web/models/unmask-base.unmask"}}' | go run ./app/worker
//
// URLs are local paths or http(s) addresses.
func main() {
	if err := serveLines(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
}

// serveLines answers every request line of in on out and returns when in
// ends and the last job is over.
func serveLines(in io.Reader, out io.Writer) error {
	h := &lineHost{out: json.NewEncoder(out)}
	w := NewWorker(h)
	h.Send(w.Hello())
	var jobs sync.WaitGroup
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var req protocol.Request
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			w.fail(0, fmt.Errorf("bad request: %w", err))
			continue
		}
		if wait := w.Handle(req); wait != nil {
			jobs.Add(1)
			go func() { <-wait; jobs.Done() }()
		}
	}
	jobs.Wait()
	return sc.Err()
}

// lineHost writes responses as JSON lines and reads files or URLs.
type lineHost struct {
	mu  sync.Mutex
	out *json.Encoder
}

func (h *lineHost) Send(r protocol.Response) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.out.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
	}
}

// Yield has nothing to do: natively the request loop runs in its own
// goroutine and the scheduler preempts.
func (h *lineHost) Yield() {}

// Fetch reads a local file (a pin's query ignored, as a static host does)
// or downloads an http(s) URL within the size expected.
func (h *lineHost) Fetch(ctx context.Context, url string, size int64, progress func(loaded, total int64)) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return readLocal(localPath(url), size, progress)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unreachable(fmt.Errorf("HTTP %s", resp.Status))
	}
	// Go's client decompresses a gzip body it asked for and then announces
	// no length; a body it did not ask to be compressed stays as it came.
	encoded := resp.Uncompressed || !identity(resp.Header.Get("Content-Encoding"))
	b, err := newBody(size, resp.ContentLength, encoded)
	if err != nil {
		return nil, err
	}
	return b.readAll(resp.Body, progress)
}

// readLocal reads a file within the size expected.
func readLocal(path string, size int64, progress func(loaded, total int64)) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	announced := int64(-1)
	if info.Mode().IsRegular() {
		announced = info.Size()
	}
	b, err := newBody(size, announced, false)
	if err != nil {
		return nil, err
	}
	return b.readAll(f, progress)
}

// Forget has nothing to drop: natively nothing is cached.
func (h *lineHost) Forget(string) {}

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

func (h *lineHost) Fetch(ctx context.Context, url string, progress func(loaded, total int64)) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		data, err := os.ReadFile(url)
		if err == nil {
			progress(int64(len(data)), int64(len(data)))
		}
		return data, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	total := max(resp.ContentLength, 0)
	var data []byte
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		data = append(data, buf[:n]...)
		if n > 0 {
			progress(int64(len(data)), total)
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

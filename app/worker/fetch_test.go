//go:build !(js && wasm)

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/app/protocol"
)

// The expected size bounds the buffer, whatever length the server
// announces; an unencoded length above it is refused before reading.
func TestNewBody(t *testing.T) {
	tests := []struct {
		name                string
		expected, announced int64
		encoded             bool
		wantCap, wantTotal  int64
		wantErr             string
	}{
		{"pinned, announced right", 1000, 1000, false, 1000, 1000, ""},
		{"pinned, gzip length smaller", 1000, 300, true, 1000, 1000, ""},
		{"pinned, absurd gzip length", 1000, 1e12, true, 1000, 1000, ""},
		{"pinned, absurd length", 1000, 1e12, false, 0, 0, "announced 1000000000000 bytes for a model file of 1000"},
		{"pinned, one byte too many", 1000, 1001, false, 0, 0, "announced 1001"},
		{"pinned, no length", 1000, -1, false, 1000, 1000, ""},
		{"unpinned, announced", 0, 5000, false, 5000, 5000, ""},
		{"unpinned, gzip", 0, 300, true, 0, 0, ""},
		{"unpinned, absurd length", 0, 1e12, false, 0, 0, "more than the 1073741824"},
		{"unpinned, huge but allowed", 0, 1 << 29, false, 64 << 20, 1 << 29, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := newBody(tt.expected, tt.announced, tt.encoded)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, protocol.ErrModelDamaged, errorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantCap, int64(cap(b.data)))
			assert.Equal(t, tt.wantTotal, b.total)
		})
	}
}

// A body never grows past the size expected.
func TestBodyLimit(t *testing.T) {
	b, err := newBody(10, -1, true)
	require.NoError(t, err)
	dst, err := b.reserve(6)
	require.NoError(t, err)
	copy(dst, "abcdef")
	dst, err = b.reserve(4)
	require.NoError(t, err)
	copy(dst, "ghij")
	_, err = b.reserve(1)
	require.ErrorContains(t, err, "longer than the 10 bytes expected")
	assert.Equal(t, protocol.ErrModelDamaged, errorCode(err))
	assert.Equal(t, "abcdefghij", string(b.data))
}

func TestLocalPath(t *testing.T) {
	assert.Equal(t, "/tmp/a.unmask", localPath(protocol.PinnedURL("/tmp/a.unmask", "ab12")))
	assert.Equal(t, "/tmp/a.unmask", localPath("/tmp/a.unmask"))
}

// tinyModel writes the tiny conformance model to a file and returns its
// bytes and the load request that pins it.
func tinyModel(t *testing.T) ([]byte, *protocol.LoadRequest) {
	t.Helper()
	m, _ := loadConformance(t, "llada-tiny-f32")
	data := encode(t, m)
	path := filepath.Join(t.TempDir(), "tiny.unmask")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return data, &protocol.LoadRequest{URL: path, SHA256: sha256Hex(data), Size: int64(len(data))}
}

// Pinned loads: the right file is Ready, any other is a damaged-model
// error that drops the cached copy; a missing one is unreachable.
func TestLoadPinned(t *testing.T) {
	data, pin := tinyModel(t)
	tests := []struct {
		name     string
		edit     func(*protocol.LoadRequest)
		wantCode string
		wantErr  string
	}{
		{"the pinned file", func(*protocol.LoadRequest) {}, "", ""},
		{"another sha256", func(r *protocol.LoadRequest) { r.SHA256 = strings.Repeat("0", 64) }, protocol.ErrModelDamaged, "sha256"},
		{"fewer bytes than pinned", func(r *protocol.LoadRequest) { r.Size++ }, protocol.ErrModelDamaged, "bytes, not the"},
		{"more bytes than pinned", func(r *protocol.LoadRequest) { r.Size-- }, protocol.ErrModelDamaged, "bytes, not the"},
		{"no such file", func(r *protocol.LoadRequest) { r.URL += ".missing" }, protocol.ErrModelUnreachable, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := *pin
			tt.edit(&req)
			h := &fakeHost{}
			w := NewWorker(h)
			run(t, w, protocol.Request{Type: protocol.Load, ID: 1, Load: &req})
			sent := h.take()
			last := sent[len(sent)-1]
			if tt.wantErr == "" {
				require.Equal(t, protocol.Ready, last.Type, last.Error)
				assert.Equal(t, int64(len(data)), last.Ready.FileBytes)
				assert.Empty(t, h.forgotten)
				return
			}
			require.Equal(t, protocol.Error, last.Type)
			assert.Contains(t, last.Error, tt.wantErr)
			assert.Equal(t, tt.wantCode, last.Code)
			if tt.wantCode == protocol.ErrModelDamaged {
				assert.Equal(t, []string{protocol.PinnedURL(req.URL, req.SHA256)}, h.forgotten, "the damaged copy stays cached")
			} else {
				assert.Empty(t, h.forgotten)
			}
		})
	}
}

// The native worker's fetch path against misbehaving servers: the sha256
// decides, not the announced length, and an absurd length allocates
// nothing.
func TestLoadFromServers(t *testing.T) {
	data, pin := tinyModel(t)
	extra := append(bytes.Clone(data), 0)
	tests := []struct {
		name     string
		serve    http.HandlerFunc
		wantCode string
		wantErr  string
	}{
		{"plain", func(w http.ResponseWriter, r *http.Request) { w.Write(data) }, "", ""},
		{"gzip", func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
			w.Write(buf.Bytes())
		}, "", ""},
		{"announces 10^12 bytes", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000000000000")
			w.Write(data)
		}, protocol.ErrModelDamaged, "announced 1000000000000 bytes"},
		{"sends one byte more, no length", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			w.Write(extra)
		}, protocol.ErrModelDamaged, "longer than the"},
		{"announces the right length, closes early", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:len(data)/2])
		}, protocol.ErrModelUnreachable, "unexpected EOF"},
		{"404", http.NotFound, protocol.ErrModelUnreachable, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.serve)
			defer srv.Close()
			req := *pin
			req.URL = srv.URL + "/tiny.unmask"
			line, err := json.Marshal(protocol.Request{Type: protocol.Load, ID: 1, Load: &req})
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, serveLines(bytes.NewReader(line), &out))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var last protocol.Response
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
			if tt.wantErr == "" {
				require.Equal(t, protocol.Ready, last.Type, last.Error)
				return
			}
			require.Equal(t, protocol.Error, last.Type)
			assert.Contains(t, last.Error, tt.wantErr)
			assert.Equal(t, tt.wantCode, last.Code)
		})
	}
}

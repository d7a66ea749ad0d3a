package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/app/protocol"
	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/engine/checkpoint"
	"unmask/engine/conformance"
)

// fakeHost records every response; Fetch reads local files and Yield runs
// onYield, so a test can act between two steps as a page would.
type fakeHost struct {
	mu        sync.Mutex
	sent      []protocol.Response
	forgotten []string // URLs passed to Forget
	onYield   func()
}

func (h *fakeHost) Send(r protocol.Response) {
	// Round-trip through JSON: the page sees exactly what survives it.
	data, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var back protocol.Response
	if err := json.Unmarshal(data, &back); err != nil {
		panic(err)
	}
	h.mu.Lock()
	h.sent = append(h.sent, back)
	h.mu.Unlock()
}

func (h *fakeHost) Fetch(_ context.Context, url string, _ int64, progress func(loaded, total int64)) ([]byte, error) {
	data, err := os.ReadFile(localPath(url))
	if err != nil {
		return nil, err
	}
	for n := int64(0); n < int64(len(data)); n += 1 << 16 {
		progress(n, int64(len(data)))
	}
	progress(int64(len(data)), int64(len(data)))
	return data, nil
}

func (h *fakeHost) Forget(url string) {
	h.mu.Lock()
	h.forgotten = append(h.forgotten, url)
	h.mu.Unlock()
}

func (h *fakeHost) Yield() {
	if h.onYield != nil {
		h.onYield()
	}
}

// take returns the responses so far and forgets them.
func (h *fakeHost) take() []protocol.Response {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.sent
	h.sent = nil
	return out
}

// run sends one request and waits (bounded) for its work to end.
func run(t *testing.T, w *Worker, req protocol.Request) {
	t.Helper()
	wait := w.Handle(req)
	if wait == nil {
		return
	}
	select {
	case <-wait:
	case <-time.After(2 * time.Minute):
		t.Fatalf("request %s did not finish", req.Type)
	}
}

func encode(t *testing.T, m *engine.Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, m.Encode(&buf))
	return buf.Bytes()
}

func loadBytes(t *testing.T, h *fakeHost, w *Worker, data []byte) protocol.Response {
	t.Helper()
	run(t, w, protocol.Request{Type: protocol.Load, ID: 1, Load: &protocol.LoadRequest{Bytes: data}})
	sent := h.take()
	require.NotEmpty(t, sent)
	return sent[len(sent)-1]
}

func loadConformance(t *testing.T, name string) (*engine.Model, []conformance.GenerateCase) {
	return loadGolden(t, name, conformance.Load)
}

// loadGolden loads a fixture's checkpoint and the generate cases that
// load (conformance.Load or LoadCache) reads beside it.
func loadGolden(t *testing.T, name string, load func(string) (conformance.Golden, error)) (*engine.Model, []conformance.GenerateCase) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", name)
	m, err := checkpoint.Load(dir)
	require.NoError(t, err)
	g, err := load(dir)
	require.NoError(t, err)
	require.NotEmpty(t, g.GenerateCases)
	return m, g.GenerateCases
}

// generate runs one golden case through the worker and returns the
// canvases of its StepDone messages and its Done.
func generate(t *testing.T, h *fakeHost, w *Worker, c conformance.GenerateCase) ([][]int, *protocol.DoneInfo) {
	t.Helper()
	opts := c.Options()
	run(t, w, protocol.Request{Type: protocol.Generate, ID: 2,
		Generate: &protocol.GenerateRequest{IDs: c.Prompt, Options: protocol.WireOptions(opts)}})
	planned := c.Steps
	if opts.Threshold > 0 {
		planned = c.GenLength // at least one commit a step
	}
	var canvases [][]int
	var done *protocol.DoneInfo
	for _, r := range h.take() {
		switch r.Type {
		case protocol.StepDone:
			require.Equal(t, planned, r.Step.Steps)
			require.Equal(t, len(canvases), r.Step.Index)
			canvases = append(canvases, r.Step.Canvas)
		case protocol.Done:
			done = r.Done
		default:
			t.Fatalf("unexpected %s: %s", r.Type, r.Error)
		}
	}
	require.NotNil(t, done)
	return canvases, done
}

// The worker's engine reproduces the reference traces of the conformance
// checkpoints step for step, through the JSON messages.
func TestGoldenTraces(t *testing.T) {
	for _, name := range []string{"llada-tiny-f32", "llada-tiny-bf16-gqa"} {
		t.Run(name, func(t *testing.T) {
			m, cases := loadConformance(t, name)
			h := &fakeHost{}
			w := NewWorker(h)
			ready := loadBytes(t, h, w, encode(t, m))
			require.Equal(t, protocol.Ready, ready.Type, ready.Error)
			assert.Equal(t, "f32", ready.Ready.DType)
			assert.Equal(t, m.Config, ready.Ready.Config)
			for i, c := range cases {
				canvases, done := generate(t, h, w, c)
				want := c.Trace[:len(c.Trace)-1]
				require.Equal(t, want, canvases, "case %d", i)
				require.Equal(t, c.Output, done.Output, "case %d", i)
				assert.False(t, done.Stopped)
				assert.Equal(t, c.Steps, done.Steps)
				passes := c.Steps
				if c.CFGScale > 0 {
					passes *= 2
				}
				assert.Equal(t, passes, done.ForwardPasses)
			}
		})
	}
}

// Fast-dLLM's cached and threshold generators reproduce their traces
// through the worker too, with the forward passes they ran, and each step
// says which positions it computed.
func TestGoldenCacheTraces(t *testing.T) {
	for _, name := range conformance.Checkpoints {
		t.Run(name, func(t *testing.T) {
			m, cases := loadGolden(t, name, conformance.LoadCache)
			h := &fakeHost{}
			w := NewWorker(h)
			ready := loadBytes(t, h, w, encode(t, m))
			require.Equal(t, protocol.Ready, ready.Type, ready.Error)
			for i, c := range cases {
				canvases, done := generate(t, h, w, c)
				require.Equal(t, c.Trace[:len(c.Trace)-1], canvases, "case %d (%s)", i, c.Cache)
				require.Equal(t, c.Output, done.Output, "case %d", i)
				assert.Equal(t, c.ForwardPasses, done.ForwardPasses, "case %d", i)
				assert.Equal(t, len(canvases), done.Steps, "case %d", i)
				T := len(c.Output)
				assert.Equal(t, c.ForwardPasses*T, done.PositionsFull, "case %d", i)
				// Only a block's first pass runs the whole canvas with a cache.
				if blocks := c.GenLength / c.BlockLength; c.Cache == "none" || c.ForwardPasses == blocks {
					assert.Equal(t, done.PositionsFull, done.PositionsComputed, "case %d", i)
				} else {
					assert.Less(t, done.PositionsComputed, done.PositionsFull, "case %d (%s)", i, c.Cache)
				}
			}
		})
	}
}

// Forward passes are counted as they run: steps that find their block
// already filled skip the pass and do not count.
func TestForwardPassesCountedAsRun(t *testing.T) {
	m, _ := loadConformance(t, "llada-tiny-f32")
	h := &fakeHost{}
	w := NewWorker(h)
	require.Equal(t, protocol.Ready, loadBytes(t, h, w, encode(t, m)).Type)
	mask := m.Config.MaskTokenID
	prompt := []int{5, mask, mask, mask, mask, 6, mask, mask, mask, mask, 7}
	for _, cfg := range []float64{0, 1} {
		// 8 prompt masks and 2 blocks of 4 over 16 steps, 8 a block: the
		// first block's 12 masks take all 8, the second's 4 masks fill it
		// in 4 and its last 4 steps have nothing to do.
		opts := engine.Options{Steps: 16, GenLength: 8, BlockLength: 4, CFGScale: cfg, Remasking: engine.LowConfidence}
		run(t, w, protocol.Request{Type: protocol.Generate, ID: 3,
			Generate: &protocol.GenerateRequest{IDs: prompt, Options: protocol.WireOptions(opts)}})
		var done *protocol.DoneInfo
		passes := 0
		for _, r := range h.take() {
			switch r.Type {
			case protocol.StepDone:
				passes += r.Step.Passes
			case protocol.Done:
				done = r.Done
			}
		}
		require.NotNil(t, done)
		perStep := 1 + int(cfg)
		assert.Equal(t, 16, done.Steps, "cfg %v", cfg)
		assert.Equal(t, 12*perStep, passes, "cfg %v: passes the steps report", cfg)
		assert.Equal(t, 12*perStep, done.ForwardPasses, "cfg %v", cfg)
	}
}

// An int8 copy of the f32 checkpoint is not expected to reproduce the
// traces exactly; this reports how close it comes.
func TestQ8Agreement(t *testing.T) {
	m, cases := loadConformance(t, "llada-tiny-f32")
	h := &fakeHost{}
	w := NewWorker(h)
	ready := loadBytes(t, h, w, encode(t, m.Quantize(32)))
	require.Equal(t, protocol.Ready, ready.Type, ready.Error)
	require.Equal(t, "q8", ready.Ready.DType)
	same, total := 0, 0
	for _, c := range cases {
		_, done := generate(t, h, w, c)
		require.Len(t, done.Output, len(c.Output))
		for i := len(c.Prompt); i < len(c.Output); i++ {
			total++
			if done.Output[i] == c.Output[i] {
				same++
			}
		}
	}
	t.Logf("q8 (group 32) agrees with the f32 reference on %d of %d generated tokens (%.1f%%)",
		same, total, 100*float64(same)/float64(total))
	// Random weights make many near-ties; still, most tokens must agree
	// or the int8 path is broken.
	assert.Greater(t, float64(same)/float64(total), 0.5)
}

// A damaged or foreign file is an Error response, never a hang or a crash.
func TestBadFiles(t *testing.T) {
	m, _ := loadConformance(t, "llada-tiny-f32")
	good := encode(t, m)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-100] ^= 0x40
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"flipped weight byte", flipped, "sha256"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"not a model", []byte("<html>404 not found</html>"), "magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHost{}
			w := NewWorker(h)
			r := loadBytes(t, h, w, tt.data)
			require.Equal(t, protocol.Error, r.Type)
			assert.Contains(t, r.Error, tt.want)
			run(t, w, protocol.Request{Type: protocol.Generate, ID: 3, Generate: &protocol.GenerateRequest{
				IDs: []int{1, 2}, Options: protocol.WireOptions(engine.DefaultOptions())}})
			r = h.take()[0]
			assert.Equal(t, protocol.Error, r.Type)
			assert.Contains(t, r.Error, "no model")
		})
	}
}

// Loading from a URL streams progress, then Ready.
func TestLoadURL(t *testing.T) {
	m, _ := loadConformance(t, "llada-tiny-f32")
	path := filepath.Join(t.TempDir(), "tiny.unmask")
	require.NoError(t, os.WriteFile(path, encode(t, m), 0o644))
	h := &fakeHost{}
	w := NewWorker(h)
	run(t, w, protocol.Request{Type: protocol.Load, ID: 7, Load: &protocol.LoadRequest{URL: path}})
	sent := h.take()
	require.GreaterOrEqual(t, len(sent), 2)
	first, last := sent[0], sent[len(sent)-1]
	require.Equal(t, protocol.Progress, first.Type)
	require.Equal(t, protocol.Ready, last.Type, last.Error)
	assert.Equal(t, 7, last.ID)
	assert.Equal(t, last.Ready.FileBytes, sent[len(sent)-2].Progress.Loaded)
	assert.Len(t, last.Ready.Tokens, m.Config.EmbeddingSize)

	run(t, w, protocol.Request{Type: protocol.Load, ID: 8, Load: &protocol.LoadRequest{URL: path + ".missing"}})
	r := h.take()
	require.Equal(t, protocol.Error, r[len(r)-1].Type)
	assert.Equal(t, 8, r[len(r)-1].ID)
}

// Stop during a generation ends it after the current step, with a Done
// that says so.
func TestStop(t *testing.T) {
	m, cases := loadConformance(t, "llada-tiny-f32")
	h := &fakeHost{}
	w := NewWorker(h)
	require.Equal(t, protocol.Ready, loadBytes(t, h, w, encode(t, m)).Type)
	yields := 0
	h.onYield = func() {
		yields++
		if yields == 2 {
			w.Handle(protocol.Request{Type: protocol.Stop})
		}
	}
	c := cases[0]
	canvases, done := generate(t, h, w, c)
	assert.Len(t, canvases, 2)
	assert.True(t, done.Stopped)
	assert.Equal(t, 2, done.Steps)
	assert.Contains(t, done.Output, m.Config.MaskTokenID)
}

// A job replaced by a newer one must not, as it ends, take away the newer
// job's cancel: Stop has to reach the job that runs.
func TestStopReachesTheNewestJob(t *testing.T) {
	w := NewWorker(&fakeHost{})
	release := make(chan struct{})
	first := w.start(1, func(ctx context.Context) error {
		<-release // ends only after the second job has started
		return nil
	})
	stopped := make(chan bool, 1)
	second := w.start(2, func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			stopped <- true
		case <-time.After(5 * time.Second):
			stopped <- false
		}
		return nil
	})
	close(release)
	<-first
	w.Handle(protocol.Request{Type: protocol.Stop})
	<-second
	assert.True(t, <-stopped, "Stop did not cancel the running job")
}

// A generation stopped before its turn still answers, with a stopped Done.
func TestStopBeforeTurn(t *testing.T) {
	m, cases := loadConformance(t, "llada-tiny-f32")
	h := &fakeHost{}
	w := NewWorker(h)
	require.Equal(t, protocol.Ready, loadBytes(t, h, w, encode(t, m)).Type)
	release := make(chan struct{})
	w.start(1, func(context.Context) error { <-release; return nil })
	c := cases[0]
	wait := w.Handle(protocol.Request{Type: protocol.Generate, ID: 2, Generate: &protocol.GenerateRequest{IDs: c.Prompt,
		Options: protocol.WireOptions(engine.Options{Steps: c.Steps, GenLength: c.GenLength, BlockLength: c.BlockLength, Remasking: engine.LowConfidence})}})
	w.Handle(protocol.Request{Type: protocol.Stop})
	close(release)
	<-wait
	sent := h.take()
	require.Len(t, sent, 1)
	require.Equal(t, protocol.Done, sent[0].Type)
	assert.True(t, sent[0].Done.Stopped)
	assert.Zero(t, sent[0].Done.Steps)
}

func testTokenizer(t *testing.T) *bpe.Tokenizer {
	t.Helper()
	tok, err := bpe.New(nil, []string{"eos", "user", "assistant", "mask"})
	require.NoError(t, err)
	return tok
}

// A small random model with a byte-level tokenizer, for prompt handling.
func textModel(t *testing.T) *engine.Model {
	t.Helper()
	tok := testTokenizer(t)
	mask, _ := tok.Special("mask")
	eos, _ := tok.Special("eos")
	c := engine.Config{DModel: 32, NHeads: 2, NKVHeads: 2, NLayers: 1, MLPHiddenSize: 64,
		VocabSize: tok.VocabSize(), EmbeddingSize: tok.VocabSize(), RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 64, MaskTokenID: mask, EOSTokenID: eos, PadTokenID: eos}
	m := engine.RandomModel(c, 1)
	m.Tokenizer = tok
	return m
}

func TestPromptIDs(t *testing.T) {
	m := textModel(t)
	tok := m.Tokenizer
	mask := m.Config.MaskTokenID
	user, _ := tok.Special("user")
	assistant, _ := tok.Special("assistant")
	M := func(n int) []int {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = mask
		}
		return ids
	}
	cat := func(parts ...[]int) []int {
		var out []int
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name      string
		req       protocol.GenerateRequest
		want      []int
		wantMasks int
		wantErr   string
	}{
		{"text", protocol.GenerateRequest{Prompt: "hi"}, tok.Encode("hi"), 0, ""},
		{"ids", protocol.GenerateRequest{IDs: []int{5, mask, 6}}, []int{5, mask, 6}, 1, ""},
		{"blank default", protocol.GenerateRequest{Prompt: "a ___ b"}, cat(tok.Encode("a"), M(4), tok.Encode(" b")), 4, ""},
		{"blank of 2", protocol.GenerateRequest{Prompt: "___x___", Blank: 2}, cat(M(2), tok.Encode("x"), M(2)), 4, ""},
		{"chat", protocol.GenerateRequest{Prompt: "q", Chat: true}, cat([]int{user}, tok.Encode("q"), []int{assistant}), 0, ""},
		{"chat keeps blanks as text", protocol.GenerateRequest{Prompt: "a ___ b", Chat: true}, cat([]int{user}, tok.Encode("a ___ b"), []int{assistant}), 0, ""},
		{"both", protocol.GenerateRequest{Prompt: "q", IDs: []int{1}}, nil, 0, "not both"},
		{"blank too long", protocol.GenerateRequest{Prompt: "a ___", Blank: 1000}, nil, 0, "blank length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, masks, err := promptIDs(m, &tt.req)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids)
			assert.Equal(t, tt.wantMasks, masks)
		})
	}
	noTok := *m
	noTok.Tokenizer = nil
	_, _, err := promptIDs(&noTok, &protocol.GenerateRequest{Prompt: "x"})
	assert.ErrorIs(t, err, ErrNoTokenizer)
}

// Infilling with gen_length 0 fills every blank and nothing else; the text
// of Done is the whole canvas.
func TestInfill(t *testing.T) {
	m := textModel(t)
	h := &fakeHost{}
	w := NewWorker(h)
	ready := loadBytes(t, h, w, encode(t, m))
	require.Equal(t, protocol.Ready, ready.Type, ready.Error)
	assert.False(t, ready.Ready.Chat == false, "user and assistant tokens make a chat template")
	assert.Equal(t, "[MASK]", ready.Ready.Tokens[m.Config.MaskTokenID])
	run(t, w, protocol.Request{Type: protocol.Generate, ID: 4, Generate: &protocol.GenerateRequest{
		Prompt: "The ___ sat.", Blank: 3,
		Options: protocol.WireOptions(engine.Options{Steps: 3, Remasking: engine.LowConfidence})}})
	sent := h.take()
	done := sent[len(sent)-1]
	require.Equal(t, protocol.Done, done.Type, done.Error)
	assert.Len(t, sent, 4) // three steps, one token each, then Done
	assert.NotContains(t, done.Done.Output, m.Config.MaskTokenID)
	assert.True(t, strings.HasPrefix(done.Done.Text, "The"), "the space before a blank is the filling's")
	assert.True(t, strings.HasSuffix(done.Done.Text, " sat."))
	assert.Greater(t, done.Done.TokensPerS, 0.0)

	run(t, w, protocol.Request{Type: protocol.Tokenize, ID: 5, Text: "cat"})
	r := h.take()
	require.Len(t, r, 1)
	assert.Equal(t, protocol.Tokens, r[0].Type)
	assert.Equal(t, m.Tokenizer.Encode("cat"), r[0].IDs)

	// A generation's prompt, blanks included.
	gen := &protocol.GenerateRequest{Prompt: "a ___", Blank: 2}
	want, _, err := promptIDs(m, gen)
	require.NoError(t, err)
	run(t, w, protocol.Request{Type: protocol.Tokenize, ID: 6, Generate: gen})
	r = h.take()
	require.Len(t, r, 1)
	assert.Equal(t, want, r[0].IDs)
	assert.Contains(t, r[0].IDs, m.Config.MaskTokenID)
}

func TestUnknownRequest(t *testing.T) {
	h := &fakeHost{}
	w := NewWorker(h)
	run(t, w, protocol.Request{Type: "dance", ID: 9})
	r := h.take()
	require.Len(t, r, 1)
	assert.Equal(t, protocol.Error, r[0].Type)
	assert.Equal(t, 9, r[0].ID)
	assert.Equal(t, protocol.Hello, w.Hello().Type)
	assert.NotEmpty(t, w.Hello().Hello.KernelPath)
}

// Options the engine refuses come back as one error, with no step sent.
func TestBadOptions(t *testing.T) {
	m := textModel(t)
	h := &fakeHost{}
	w := NewWorker(h)
	ready := loadBytes(t, h, w, encode(t, m))
	require.Equal(t, protocol.Ready, ready.Type, ready.Error)
	for _, tc := range []struct {
		name string
		opts engine.Options
		want string
	}{
		{"length not a multiple of the block", engine.Options{Steps: 4, GenLength: 10, BlockLength: 4, Remasking: engine.LowConfidence}, "not a multiple"},
		{"unknown remasking", engine.Options{Steps: 4, GenLength: 8, BlockLength: 8, Remasking: "loudest"}, "loudest"},
		{"more steps than masks", engine.Options{Steps: 16, GenLength: 8, BlockLength: 8, Remasking: engine.LowConfidence}, "16 steps for 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, w, protocol.Request{Type: protocol.Generate, ID: 7, Generate: &protocol.GenerateRequest{
				Prompt: "The cat", Options: protocol.WireOptions(tc.opts)}})
			sent := h.take()
			require.Len(t, sent, 1)
			assert.Equal(t, protocol.Error, sent[0].Type)
			assert.Contains(t, sent[0].Error, tc.want)
		})
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/quant"
	"unmask/tools/internal/textstats"
)

func init() {
	commands["eval"] = command{"held-out negative ELBO, masked-token accuracy and sample statistics as JSON", runEval}
}

// Streams of the seeded random numbers, one per use, so that each
// measurement draws the same numbers whatever else runs.
const (
	streamELBO = iota + 1
	streamAccuracy
	streamPrompts = streamAccuracy + 16
	streamSFTELBO = streamPrompts + 1
	streamSFTPick = streamSFTELBO + 1
	// streamELBOGivenFirst is last so the streams before keep their numbers.
	streamELBOGivenFirst = streamSFTPick + 1
)

type evalConfig struct {
	windows, seq, mc, mcBatch int
	prompts, show             int
	opts                      engine.Options
	sft                       bool
	givenFirst                bool
	sftExamples, sftPrompts   int
	respLen                   int
	seed                      uint64
	threads                   int
	dict                      string
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval")
	modelPath := fs.String("model", "", "model file")
	dataDir := fs.String("data", defaultDataDir(), "corpus folder (heldout.bin/.idx/.txt, sft-heldout.jsonl, tokenizer.json)")
	var cfg evalConfig
	fs.IntVar(&cfg.windows, "windows", 64, "held-out windows for the ELBO and the masked accuracy (0: skip them)")
	fs.IntVar(&cfg.seq, "seq", 128, "tokens per window (the trained canvas length)")
	fs.IntVar(&cfg.mc, "mc", 16, "Monte Carlo samples per window")
	fs.IntVar(&cfg.mcBatch, "mc-batch", 16, "samples per stratified batch (one k ~ U{1..l} per batch); divides --mc")
	fs.IntVar(&cfg.prompts, "prompts", 50, "held-out prompts to generate from (0: skip)")
	fs.IntVar(&cfg.show, "show", 10, "samples to include in the JSON")
	cfg.opts = engine.DefaultOptions()
	cfg.opts.BlockLength = 64
	fs.IntVar(&cfg.opts.Steps, "steps", cfg.opts.Steps, "denoising steps")
	fs.IntVar(&cfg.opts.GenLength, "gen-length", cfg.opts.GenLength, "tokens to generate after each held-out prompt")
	fs.IntVar(&cfg.opts.BlockLength, "block-length", cfg.opts.BlockLength, "semi-autoregressive block length")
	fs.Float64Var(&cfg.opts.Temperature, "temperature", 0, "Gumbel-max temperature (0: argmax)")
	fs.Float64Var(&cfg.opts.CFGScale, "cfg", 0, "classifier-free guidance scale (0: off)")
	remasking := fs.String("remasking", string(engine.LowConfidence), "low_confidence, random, margin or entropy")
	fs.Var(&cfg.opts.Cache, "cache", "Fast-dLLM key/value cache within a block: none, prefix or dual")
	fs.BoolVar(&cfg.givenFirst, "given-first", false, "diffusion models: also the bound on each window's tokens after its first, given the first (what a causal model's likelihood covers)")
	fs.BoolVar(&cfg.sft, "sft", false, "also evaluate the instruction pairs of sft-heldout.jsonl (instruct models)")
	fs.IntVar(&cfg.sftExamples, "sft-examples", 64, "held-out pairs for the conditional ELBO of the response")
	fs.IntVar(&cfg.sftPrompts, "sft-prompts", 48, "held-out pairs to answer, spread evenly over the tasks")
	fs.IntVar(&cfg.respLen, "resp-len", 64, "response length: answers are padded with EOS to it and generated at it")
	fs.Uint64Var(&cfg.seed, "seed", 1, "random seed (masks, prompts, sampling)")
	fs.IntVar(&cfg.threads, "threads", runtime.GOMAXPROCS(0), "sequences evaluated at once, one core each")
	fs.StringVar(&cfg.dict, "dict", textstats.DebianWordList, "word list for the dictionary share (Debian's wamerican)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.check(*remasking); err != nil {
		return usageError{err}
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	if err := cfg.checkModel(m); err != nil {
		return usageError{err}
	}
	var dict textstats.Dictionary
	if cfg.prompts > 0 || cfg.sft {
		if dict, err = textstats.LoadDictionary(cfg.dict); err != nil {
			return err
		}
	}
	data, err := loadEvalData(*dataDir, m, cfg.sft)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ev := &evaluator{cfg: cfg, m: m, data: data, dict: dict, pool: newPool(m, cfg.threads)}
	rep, err := ev.run(ctx)
	if err != nil {
		return err
	}
	rep.Model, rep.Data = *modelPath, *dataDir
	summarize(stderr, rep)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func defaultDataDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "unmask"
	}
	return filepath.Join(dir, "unmask")
}

func (c *evalConfig) check(remasking string) error {
	r, err := engine.ParseRemasking(remasking)
	if err != nil {
		return err
	}
	c.opts.Remasking = r
	switch {
	case c.windows < 0:
		return fmt.Errorf("--windows %d, want >= 0", c.windows)
	case c.seq < 1:
		return fmt.Errorf("--seq %d, want >= 1", c.seq)
	case c.mc < 1 || c.mcBatch < 1 || c.mc%c.mcBatch != 0:
		return fmt.Errorf("--mc %d and --mc-batch %d: want positive numbers, the batch dividing --mc", c.mc, c.mcBatch)
	case c.prompts < 0 || c.show < 0 || c.sftExamples < 0 || c.sftPrompts < 0:
		return fmt.Errorf("--prompts, --show, --sft-examples and --sft-prompts must be >= 0")
	case c.threads < 1:
		return fmt.Errorf("--threads %d, want >= 1", c.threads)
	case c.respLen < 1:
		return fmt.Errorf("--resp-len %d, want >= 1", c.respLen)
	case c.opts.GenLength < 1:
		return fmt.Errorf("--gen-length %d, want >= 1", c.opts.GenLength)
	}
	if err := c.opts.Validate(); err != nil {
		return err
	}
	if c.sft {
		o := c.sftOptions()
		if err := o.Validate(); err != nil {
			return fmt.Errorf("with --resp-len %d: %w", c.respLen, err)
		}
	}
	return nil
}

// sftOptions generate an answer of respLen tokens with the sampler flags.
func (c *evalConfig) sftOptions() engine.Options {
	o := c.opts
	o.GenLength = c.respLen
	o.BlockLength = min(o.BlockLength, c.respLen)
	return o
}

func (c *evalConfig) checkModel(m *engine.Model) error {
	limit := m.Config.MaxSequenceLen
	if m.Config.Causal {
		switch {
		case c.sft:
			return errors.New("--sft scores a diffusion model's answers; the model is causal")
		case c.givenFirst:
			return errors.New("--given-first is a diffusion model's bound; a causal model's likelihood is exact and always given the first token")
		case c.windows > 0 && c.seq < 2:
			return fmt.Errorf("--seq %d: a causal model needs two tokens to score one", c.seq)
		}
		if c.opts.CFGScale != 0 {
			return fmt.Errorf("%w: --cfg", engine.ErrCausalOptions)
		}
	}
	if c.windows > 0 && c.seq > limit {
		return fmt.Errorf("--seq %d exceeds the model's max_sequence_length %d", c.seq, limit)
	}
	if c.prompts > 0 && c.opts.GenLength >= limit {
		return fmt.Errorf("--gen-length %d leaves no room for a prompt in the model's %d tokens", c.opts.GenLength, limit)
	}
	if c.sft && c.respLen >= limit {
		return fmt.Errorf("--resp-len %d leaves no room for a prompt in the model's %d tokens", c.respLen, limit)
	}
	return nil
}

// evalData is the held-out part of a corpus folder as tools/corpus writes
// it.
type evalData struct {
	tok        engine.Tokenizer
	tokens     []int     // heldout.bin: documents of paragraphs joined by "\n", each ended by EOS
	paragraphs []string  // heldout.txt: one paragraph per line
	sft        []sftPair // sft-heldout.jsonl, with --sft
}

// loadEvalData reads the held-out split and checks that its tokens were
// made by the model's tokenizer (a model without one borrows the
// folder's tokenizer.json).
func loadEvalData(dir string, m *engine.Model, sft bool) (*evalData, error) {
	d := &evalData{tok: m.Tokenizer}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("held-out data: %w (build the corpus with make corpus)", err)
		}
		return b, nil
	}
	if d.tok == nil {
		raw, err := read("tokenizer.json")
		if err != nil {
			return nil, err
		}
		tok := new(bpe.Tokenizer)
		if err := json.Unmarshal(raw, tok); err != nil {
			return nil, fmt.Errorf("held-out data: tokenizer.json: %w", err)
		}
		if mask, _ := tok.Special("mask"); tok.VocabSize() > m.Config.EmbeddingSize || mask != m.Config.MaskTokenID {
			return nil, fmt.Errorf("held-out data: the model has no tokenizer and %s/tokenizer.json does not fit it", dir)
		}
		d.tok = tok
	}
	bin, err := read("heldout.bin")
	if err != nil {
		return nil, err
	}
	if len(bin)%2 != 0 {
		return nil, fmt.Errorf("held-out data: heldout.bin has an odd number of bytes")
	}
	d.tokens = make([]int, len(bin)/2)
	for i := range d.tokens {
		d.tokens[i] = int(binary.LittleEndian.Uint16(bin[2*i:]))
		if d.tokens[i] >= m.Config.EmbeddingSize {
			return nil, fmt.Errorf("held-out data: token %d outside the model's vocabulary of %d", d.tokens[i], m.Config.EmbeddingSize)
		}
	}
	idx, err := read("heldout.idx")
	if err != nil {
		return nil, err
	}
	txt, err := read("heldout.txt")
	if err != nil {
		return nil, err
	}
	d.paragraphs = strings.Split(strings.TrimSuffix(string(txt), "\n"), "\n")
	if len(idx) != 4*len(d.paragraphs) {
		return nil, fmt.Errorf("held-out data: heldout.idx lists %d paragraphs, heldout.txt has %d", len(idx)/4, len(d.paragraphs))
	}
	// The first paragraphs, encoded by the tokenizer, must be the stream's.
	for i := range min(3, len(d.paragraphs)) {
		start := int(binary.LittleEndian.Uint32(idx[4*i:]))
		want := d.tok.Encode(d.paragraphs[i])
		if start+len(want) > len(d.tokens) || !slices.Equal(want, d.tokens[start:start+len(want)]) {
			return nil, fmt.Errorf("held-out data: the tokens in %s were made by another tokenizer than the model's (vocabulary %d)", dir, m.Config.EmbeddingSize)
		}
	}
	if sft {
		raw, err := read("sft-heldout.jsonl")
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(strings.NewReader(string(raw)))
		sc.Buffer(nil, 1<<20)
		for line := 1; sc.Scan(); line++ {
			var p sftPair
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.Prompt == "" {
				return nil, fmt.Errorf("held-out data: sft-heldout.jsonl line %d: want {task, prompt, response}", line)
			}
			d.sft = append(d.sft, p)
		}
		if len(d.sft) == 0 {
			return nil, fmt.Errorf("held-out data: sft-heldout.jsonl has no pairs")
		}
	}
	return d, nil
}

// evalReport is what llada eval prints.
type evalReport struct {
	Model      string             `json:"model"`
	Params     int64              `json:"params"`
	DType      string             `json:"dtype"`
	KernelPath string             `json:"kernel_path"`
	Data       string             `json:"data"`
	Seed       uint64             `json:"seed"`
	Threads    int                `json:"threads"`
	Heldout    *heldoutReport     `json:"heldout,omitempty"`
	Generation *generationReport  `json:"generation,omitempty"`
	SFT        *sftReport         `json:"sft,omitempty"`
	Seconds    map[string]float64 `json:"seconds"`
}

type evaluator struct {
	cfg  evalConfig
	m    *engine.Model
	data *evalData
	dict textstats.Dictionary
	pool *pool
}

func (ev *evaluator) run(ctx context.Context) (*evalReport, error) {
	rep := &evalReport{
		Params: ev.m.Params(), DType: ev.m.DType().String(), KernelPath: quant.KernelPath(),
		Seed: ev.cfg.seed, Threads: ev.cfg.threads, Seconds: map[string]float64{},
	}
	start := time.Now()
	phase := func(name string, f func() error) error {
		t := time.Now()
		err := f()
		rep.Seconds[name] = math.Round(time.Since(t).Seconds()*100) / 100
		return err
	}
	var err error
	if ev.cfg.windows > 0 {
		windows, werr := ev.windows()
		if werr != nil {
			return nil, werr
		}
		rep.Heldout = &heldoutReport{Windows: len(windows), WindowTokens: ev.cfg.seq}
		if ev.m.Config.Causal {
			if err = phase("nll", func() error { return ev.heldoutNLL(ctx, windows, rep.Heldout) }); err != nil {
				return nil, err
			}
		} else {
			rep.Heldout.MC, rep.Heldout.MCBatch = ev.cfg.mc, ev.cfg.mcBatch
			if err = phase("elbo", func() error { return ev.heldoutELBO(ctx, windows, rep.Heldout) }); err != nil {
				return nil, err
			}
			if err = phase("accuracy", func() error { return ev.maskedAccuracy(ctx, windows, rep.Heldout) }); err != nil {
				return nil, err
			}
		}
	}
	if ev.cfg.prompts > 0 {
		if err = phase("generation", func() error { rep.Generation, err = ev.generation(ctx); return err }); err != nil {
			return nil, err
		}
	}
	if ev.cfg.sft {
		if err = phase("sft", func() error { rep.SFT, err = ev.sftEval(ctx); return err }); err != nil {
			return nil, err
		}
	}
	rep.Seconds["total"] = math.Round(time.Since(start).Seconds()*100) / 100
	return rep, nil
}

func (ev *evaluator) rng(stream, i int) *rand.Rand {
	return rand.New(rand.NewPCG(ev.cfg.seed, uint64(stream)<<32|uint64(i)))
}

// summarize prints the headline numbers for a person.
func summarize(w io.Writer, r *evalReport) {
	fmt.Fprintf(w, "eval %s: %.2fM parameters, %s, %s kernels, threads %d\n", r.Model, float64(r.Params)/1e6, r.DType, r.KernelPath, r.Threads)
	if h := r.Heldout; h != nil && h.NLL != nil {
		fmt.Fprintf(w, "  held-out negative log-likelihood %.4f ± %.4f nats/token (perplexity %.1f) over %d windows of %d tokens, each after its first; next token right %.1f%%\n",
			h.NLL.Mean, h.NLL.Stderr, h.NLL.Perplexity, h.Windows, h.WindowTokens, 100*h.NextTokenAccuracy)
	} else if h != nil {
		fmt.Fprintf(w, "  held-out negative ELBO %.4f ± %.4f nats/token (perplexity <= %.1f) over %d windows of %d tokens, %d MC samples each\n",
			h.NELBO, h.NELBOStderr, h.PerplexityBound, h.Windows, h.WindowTokens, h.MC)
		fmt.Fprint(w, "  masked-token accuracy:")
		for _, a := range h.Accuracy {
			fmt.Fprintf(w, " t=%.2f %.1f%%", a.T, 100*a.Accuracy)
		}
		fmt.Fprintln(w)
		if g := h.GivenFirst; g != nil {
			fmt.Fprintf(w, "  given each window's first token: negative ELBO %.4f ± %.4f nats/token\n", g.Mean, g.Stderr)
		}
	}
	if g := r.Generation; g != nil {
		schedule := fmt.Sprintf("%d steps", g.Steps)
		if g.Steps == 0 {
			schedule = "left to right"
		}
		fmt.Fprintf(w, "  %d samples (%s, %d tokens): dictionary words %s, distinct-2 %.3f, %.1f words/sample, EOS in %.0f%%\n",
			g.Prompts, schedule, g.GenLength, percent(g.DictionaryShare), g.Distinct2, g.WordsPerSample, 100*g.EndsWithEOS)
	}
	if s := r.SFT; s != nil {
		fmt.Fprintf(w, "  sft: response negative ELBO %.4f ± %.4f nats/token over %d pairs; %d answers, EOS in %.0f%%\n",
			s.NELBO, s.NELBOStderr, s.Examples, s.Prompts, 100*s.EndsWithEOS)
		for _, task := range slices.Sorted(maps.Keys(s.Tasks)) {
			t := s.Tasks[task]
			fmt.Fprintf(w, "    %-9s n=%d EOS %.0f%% word-F1 %.2f", task, t.N, 100*t.EndsWithEOS, t.WordF1)
			if t.ExactMatch != nil {
				fmt.Fprintf(w, " exact %.0f%%", 100**t.ExactMatch)
			}
			if t.GivenWordsUsed != nil {
				fmt.Fprintf(w, " given words used %.0f%%, all in order %.0f%%", 100**t.GivenWordsUsed, 100**t.GivenWordsInOrder)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "  %.1f s\n", r.Seconds["total"])
}

// percent formats a share, or n/a for the -1 of a share without words.
func percent(share float64) string {
	if share < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*share)
}

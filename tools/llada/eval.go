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
	"sync"
	"sync/atomic"
	"time"

	"unmask/engine"
	"unmask/engine/bpe"
	"unmask/quant"
	"unmask/tools/internal/textstats"
)

func init() {
	commands["eval"] = command{"held-out negative ELBO, masked-token accuracy and sample statistics as JSON", runEval}
}

// accuracyRatios are the mask ratios t of the masked-token accuracy.
var accuracyRatios = []float64{0.15, 0.5, 0.9}

// Paragraphs shorter than promptMinParagraph words give no generation
// prompt: a prompt is the first promptWords..promptWords+promptExtraWords
// words of a paragraph that has more to say.
const (
	promptWords        = 8
	promptExtraWords   = 4
	promptMinParagraph = 20
)

// exactTasks are the SFT tasks with one right answer, where exact match
// means something; the others (continue a passage, define a word, use
// given words) are open.
var exactTasks = map[string]bool{"repeat": true, "fill": true, "previous": true, "source": true}

// Streams of the seeded random numbers, one per use, so that each
// measurement draws the same numbers whatever else runs.
const (
	streamELBO = iota + 1
	streamAccuracy
	streamPrompts = streamAccuracy + 16
	streamSFTELBO = streamPrompts + 1
	streamSFTPick = streamSFTELBO + 1
)

type evalConfig struct {
	windows, seq, mc, mcBatch int
	prompts, show             int
	opts                      engine.Options
	sft                       bool
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

type sftPair struct {
	Task     string `json:"task"`
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
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

// heldoutReport: the LLaDA bound on the negative log-likelihood of
// held-out windows, and how often the model's argmax restores a masked
// token.
type heldoutReport struct {
	Windows      int `json:"windows"`
	WindowTokens int `json:"window_tokens"`
	MC           int `json:"mc"`
	MCBatch      int `json:"mc_batch"`
	// NELBO is the Monte Carlo negative ELBO in nats per token, averaged
	// over the windows; NELBOStderr its standard error across windows.
	NELBO           float64          `json:"nelbo_per_token"`
	NELBOStderr     float64          `json:"nelbo_stderr"`
	PerplexityBound float64          `json:"perplexity_bound"`
	Accuracy        []maskedAccuracy `json:"masked_accuracy"`
}

type maskedAccuracy struct {
	T        float64 `json:"t"`
	Masked   int     `json:"masked"`   // tokens masked over all windows
	Accuracy float64 `json:"accuracy"` // share of them the argmax restores
	NLL      float64 `json:"nll"`      // their mean cross-entropy, nats
}

type generationReport struct {
	Prompts     int     `json:"prompts"`
	Steps       int     `json:"steps"`
	GenLength   int     `json:"gen_length"`
	BlockLength int     `json:"block_length"`
	Remasking   string  `json:"remasking"`
	Temperature float64 `json:"temperature"`
	Dictionary  string  `json:"dictionary"`
	// Statistics of the generated texts, each cut at its first EOS.
	textstats.Stats
	EndsWithEOS float64     `json:"ends_with_eos"` // share of samples with an EOS among their generated tokens
	Samples     []genSample `json:"samples"`
}

type genSample struct {
	Prompt string `json:"prompt"`
	Text   string `json:"text"` // the generated tokens up to the first EOS, decoded
	EOS    bool   `json:"eos"`
}

// sftReport: the instruction pairs of held-out documents.
type sftReport struct {
	Examples       int     `json:"examples"`
	ResponseTokens int     `json:"response_tokens"`
	NELBO          float64 `json:"nelbo_per_token"` // of the EOS-padded response given the prompt, nats per response token
	NELBOStderr    float64 `json:"nelbo_stderr"`
	Prompts        int     `json:"prompts"`
	EndsWithEOS    float64 `json:"ends_with_eos"`
	// Answers are the statistics of the answers as texts.
	Answers textstats.Stats        `json:"answers"`
	Tasks   map[string]*taskReport `json:"tasks"`
	Samples []sftSample            `json:"samples"`
}

type taskReport struct {
	N           int     `json:"n"`
	EndsWithEOS float64 `json:"ends_with_eos"`
	// ExactMatch: the answer has the reference's words in its order (only
	// for tasks with one right answer).
	ExactMatch *float64 `json:"exact_match,omitempty"`
	// WordF1: bag-of-words F1 against the reference, averaged.
	WordF1         float64 `json:"word_f1"`
	WordsPerAnswer float64 `json:"words_per_answer"`
	// GivenWordsUsed: for "use these words" prompts, the share of the
	// given words the answer contains.
	GivenWordsUsed *float64 `json:"given_words_used,omitempty"`
	// GivenWordsInOrder: the share of those answers that contain all the
	// given words in the order given.
	GivenWordsInOrder *float64 `json:"given_words_in_order,omitempty"`
}

type sftSample struct {
	Task      string `json:"task"`
	Prompt    string `json:"prompt"`
	Answer    string `json:"answer"`
	Reference string `json:"reference"`
	EOS       bool   `json:"eos"`
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
		rep.Heldout = &heldoutReport{Windows: len(windows), WindowTokens: ev.cfg.seq, MC: ev.cfg.mc, MCBatch: ev.cfg.mcBatch}
		if err = phase("elbo", func() error { return ev.heldoutELBO(ctx, windows, rep.Heldout) }); err != nil {
			return nil, err
		}
		if err = phase("accuracy", func() error { return ev.maskedAccuracy(ctx, windows, rep.Heldout) }); err != nil {
			return nil, err
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

// windows cuts the held-out stream into consecutive windows of seq tokens
// and takes n of them evenly spaced, so they span every held-out document.
func (ev *evaluator) windows() ([][]int, error) {
	seq, tokens := ev.cfg.seq, ev.data.tokens
	total := len(tokens) / seq
	if total == 0 {
		return nil, fmt.Errorf("the held-out split has %d tokens, fewer than one window of %d", len(tokens), seq)
	}
	n := min(ev.cfg.windows, total)
	out := make([][]int, n)
	for i := range out {
		w := i * total / n
		out[i] = tokens[w*seq : (w+1)*seq]
	}
	return out, nil
}

func (ev *evaluator) rng(stream, i int) *rand.Rand {
	return rand.New(rand.NewPCG(ev.cfg.seed, uint64(stream)<<32|uint64(i)))
}

func (ev *evaluator) heldoutELBO(ctx context.Context, windows [][]int, rep *heldoutReport) error {
	perToken := make([]float64, len(windows))
	err := ev.pool.run(ctx, len(windows), func(st *engine.State, i int) error {
		v, err := negativeELBO(st, windows[i], 0, ev.cfg.mc, ev.cfg.mcBatch, ev.rng(streamELBO, i))
		perToken[i] = v / float64(len(windows[i]))
		return err
	})
	if err != nil {
		return err
	}
	rep.NELBO, rep.NELBOStderr = meanStderr(perToken)
	rep.PerplexityBound = math.Exp(rep.NELBO)
	return nil
}

// maskedAccuracy masks each token of every window with probability t and
// scores the argmax at the masked positions.
func (ev *evaluator) maskedAccuracy(ctx context.Context, windows [][]int, rep *heldoutReport) error {
	type counts struct {
		masked, correct int
		ce              float64
	}
	res := make([]counts, len(windows)*len(accuracyRatios))
	err := ev.pool.run(ctx, len(res), func(st *engine.State, job int) error {
		i, r := job/len(accuracyRatios), job%len(accuracyRatios)
		rng := ev.rng(streamAccuracy+r, i)
		var positions []int
		for p := range windows[i] {
			if rng.Float64() < accuracyRatios[r] {
				positions = append(positions, p)
			}
		}
		if len(positions) == 0 {
			return nil
		}
		ce, correct, err := scoreMasked(st, windows[i], positions)
		res[job] = counts{len(positions), correct, ce}
		return err
	})
	if err != nil {
		return err
	}
	for r, t := range accuracyRatios {
		var sum counts
		for i := range windows {
			c := res[i*len(accuracyRatios)+r]
			sum.masked += c.masked
			sum.correct += c.correct
			sum.ce += c.ce
		}
		a := maskedAccuracy{T: t, Masked: sum.masked}
		if sum.masked > 0 {
			a.Accuracy = float64(sum.correct) / float64(sum.masked)
			a.NLL = sum.ce / float64(sum.masked)
		}
		rep.Accuracy = append(rep.Accuracy, a)
	}
	return nil
}

// stratifiedCounts is how many of l target tokens each of b samples masks
// in the reference forward_process: one k ~ U{1..l} for the batch, then
// round(linspace(k, k + (b-1)·l/b, b)) (half to even, as torch.round)
// wrapped into 1..l, so the batch's mask ratios spread evenly over (0, 1].
func stratifiedCounts(k, l, b int) []int {
	out := make([]int, b)
	for j := range out {
		x := int(math.RoundToEven(float64(k) + float64(j)*float64(l)/float64(b)))
		out[j] = (x-1)%l + 1
	}
	return out
}

// negativeELBO is the reference get_log_likelihood, negated: the Monte
// Carlo estimate, in nats summed over the target, of LLaDA's bound on
// -log p(seq[promptLen:] | seq[:promptLen]). The mc samples come in
// batches of batch; each batch draws its mask counts with
// stratifiedCounts, each sample masks that many target positions chosen
// uniformly (the prompt never), and its cross-entropy on the masked
// tokens is weighted by l/k, the inverse of its mask ratio.
func negativeELBO(st *engine.State, seq []int, promptLen, mc, batch int, rng *rand.Rand) (float64, error) {
	l := len(seq) - promptLen
	if l < 1 {
		return 0, fmt.Errorf("nothing to score: %d tokens, prompt %d", len(seq), promptLen)
	}
	batches := mc / batch
	var total float64
	for range batches {
		var sum float64
		for _, k := range stratifiedCounts(1+rng.IntN(l), l, batch) {
			positions := rng.Perm(l)[:k]
			for i := range positions {
				positions[i] += promptLen
			}
			ce, _, err := scoreMasked(st, seq, positions)
			if err != nil {
				return 0, err
			}
			sum += ce * float64(l) / float64(k)
		}
		total += sum / float64(batch)
	}
	return total / float64(batches), nil
}

// scoreMasked masks seq at positions, runs the model once and returns the
// summed cross-entropy (nats) of the original tokens there and how many of
// them the argmax restores (never predicting the mask token, as the
// sampler). The softmax is the sampler's: quant.ScanLogits' sum of
// expf(l - max) in float64.
func scoreMasked(st *engine.State, seq, positions []int) (float64, int, error) {
	c := &st.Model.Config
	noisy := slices.Clone(seq)
	for _, p := range positions {
		noisy[p] = c.MaskTokenID
	}
	logits, err := st.ForwardAt(noisy, positions)
	if err != nil {
		return 0, 0, err
	}
	V := c.EmbeddingSize
	var ce float64
	correct := 0
	for i, p := range positions {
		row := logits[i*V : (i+1)*V]
		s := quant.ScanLogits(nil, row, 0)
		if s.Best < 0 || math.IsNaN(s.Sum) {
			return 0, 0, fmt.Errorf("the model's logits at position %d are not numbers", p)
		}
		// -log p = log Σ exp(l - m) - (l[target] - m)
		ce += math.Log(s.Sum) - float64(row[seq[p]]-row[s.Best])
		best := s.Best
		if best == c.MaskTokenID {
			best = quant.ScanLogits(nil, row, quant.LogitSecond).Second
		}
		if best == seq[p] {
			correct++
		}
	}
	return ce, correct, nil
}

func meanStderr(v []float64) (float64, float64) {
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

// prompts picks held-out paragraphs of at least promptMinParagraph words
// (seeded) and cuts each to its first 8-12 words.
func (ev *evaluator) prompts() []string {
	rng := ev.rng(streamPrompts, 0)
	var out []string
	for _, i := range rng.Perm(len(ev.data.paragraphs)) {
		words := strings.Fields(ev.data.paragraphs[i])
		if len(words) < promptMinParagraph {
			continue
		}
		out = append(out, strings.Join(words[:promptWords+rng.IntN(promptExtraWords+1)], " "))
		if len(out) == ev.cfg.prompts {
			break
		}
	}
	return out
}

// generated runs the sampler from each prompt and returns the generated
// tokens up to the first EOS and whether there was one.
func (ev *evaluator) generated(ctx context.Context, prompts [][]int, opts engine.Options) ([][]int, []bool, error) {
	out := make([][]int, len(prompts))
	eos := make([]bool, len(prompts))
	err := ev.pool.run(ctx, len(prompts), func(st *engine.State, i int) error {
		o := opts
		o.Seed = ev.cfg.seed + uint64(i)
		canvas, err := st.Generate(ctx, prompts[i], o, nil)
		if err != nil {
			return err
		}
		gen := canvas[len(prompts[i]):]
		end := slices.Index(gen, ev.m.Config.EOSTokenID)
		eos[i] = end >= 0
		if end < 0 {
			end = len(gen)
		}
		out[i] = gen[:end]
		return nil
	})
	return out, eos, err
}

func (ev *evaluator) generation(ctx context.Context) (*generationReport, error) {
	o := ev.cfg.opts
	texts := ev.prompts()
	if len(texts) == 0 {
		return nil, fmt.Errorf("no held-out paragraph has %d words to make a prompt from", promptMinParagraph)
	}
	ids := make([][]int, len(texts))
	for i, t := range texts {
		ids[i] = ev.data.tok.Encode(t)
		if n := len(ids[i]) + o.GenLength; n > ev.m.Config.MaxSequenceLen {
			return nil, fmt.Errorf("%w: prompt %q of %d tokens + %d", engine.ErrTooLong, t, len(ids[i]), o.GenLength)
		}
	}
	gen, eos, err := ev.generated(ctx, ids, o)
	if err != nil {
		return nil, err
	}
	rep := &generationReport{
		Prompts: len(texts), Steps: o.Steps, GenLength: o.GenLength, BlockLength: o.BlockLength,
		Remasking: string(o.Remasking), Temperature: o.Temperature, Dictionary: ev.cfg.dict,
		Samples: []genSample{},
	}
	outs := make([]string, len(gen))
	ended := 0
	for i, g := range gen {
		outs[i] = ev.data.tok.Decode(g)
		if eos[i] {
			ended++
		}
		if i < ev.cfg.show {
			rep.Samples = append(rep.Samples, genSample{Prompt: texts[i], Text: outs[i], EOS: eos[i]})
		}
	}
	rep.Stats = textstats.Measure(outs, ev.dict)
	rep.EndsWithEOS = float64(ended) / float64(len(gen))
	return rep, nil
}

// sftEval scores the held-out instruction pairs: the conditional ELBO of
// the EOS-padded response (as the SFT objective pads it), and answers
// generated from the prompts.
func (ev *evaluator) sftEval(ctx context.Context) (*sftReport, error) {
	tok, eosID, R := ev.data.tok, ev.m.Config.EOSTokenID, ev.cfg.respLen
	encode := func(p sftPair) ([]int, []int, error) {
		prompt, err := engine.ChatIDs(tok, tok.Encode(p.Prompt))
		if err != nil {
			return nil, nil, err
		}
		resp := tok.Encode(p.Response)
		if len(resp) >= R {
			return nil, nil, fmt.Errorf("a held-out response of %d tokens does not fit --resp-len %d with its EOS", len(resp), R)
		}
		for len(resp) < R {
			resp = append(resp, eosID)
		}
		if n := len(prompt) + R; n > ev.m.Config.MaxSequenceLen {
			return nil, nil, fmt.Errorf("%w: a held-out prompt of %d tokens + response %d", engine.ErrTooLong, len(prompt), R)
		}
		return prompt, resp, nil
	}
	rep := &sftReport{ResponseTokens: R, Tasks: map[string]*taskReport{}, Samples: []sftSample{}}

	// Conditional ELBO over a seeded choice of pairs.
	pairs := ev.data.sft
	if n := ev.cfg.sftExamples; n > 0 {
		order := ev.rng(streamSFTPick, 0).Perm(len(pairs))[:min(n, len(pairs))]
		seqs := make([][]int, len(order))
		promptLens := make([]int, len(order))
		for i, j := range order {
			prompt, resp, err := encode(pairs[j])
			if err != nil {
				return nil, err
			}
			seqs[i], promptLens[i] = append(prompt, resp...), len(prompt)
		}
		perToken := make([]float64, len(seqs))
		err := ev.pool.run(ctx, len(seqs), func(st *engine.State, i int) error {
			v, err := negativeELBO(st, seqs[i], promptLens[i], ev.cfg.mc, ev.cfg.mcBatch, ev.rng(streamSFTELBO, i))
			perToken[i] = v / float64(R)
			return err
		})
		if err != nil {
			return nil, err
		}
		rep.Examples = len(seqs)
		rep.NELBO, rep.NELBOStderr = meanStderr(perToken)
	}

	// Answers, the tasks taking turns.
	chosen := ev.sftPicks()
	if len(chosen) == 0 {
		return rep, nil
	}
	prompts := make([][]int, len(chosen))
	for i, p := range chosen {
		prompt, _, err := encode(p)
		if err != nil {
			return nil, err
		}
		prompts[i] = prompt
	}
	gen, eos, err := ev.generated(ctx, prompts, ev.cfg.sftOptions())
	if err != nil {
		return nil, err
	}
	rep.Prompts = len(chosen)
	answers := make([]string, len(gen))
	type taskSums struct{ eos, exact, f1, words, given, givenN, inOrder, asked float64 }
	sums := map[string]*taskSums{}
	ended := 0
	for i, p := range chosen {
		answers[i] = tok.Decode(gen[i])
		s := sums[p.Task]
		if s == nil {
			s = &taskSums{}
			sums[p.Task] = s
			rep.Tasks[p.Task] = &taskReport{}
		}
		rep.Tasks[p.Task].N++
		if eos[i] {
			ended++
			s.eos++
		}
		if textstats.SameWords(answers[i], p.Response) {
			s.exact++
		}
		s.f1 += textstats.WordF1(answers[i], p.Response)
		s.words += float64(len(textstats.Words(answers[i])))
		if given := givenWords(p); len(given) > 0 {
			said := textstats.Words(answers[i])
			used := map[string]bool{}
			for _, w := range said {
				used[w] = true
			}
			s.asked++
			if inOrder(said, given) {
				s.inOrder++
			}
			for _, w := range given {
				if used[w] {
					s.given++
				}
			}
			s.givenN += float64(len(given))
		}
		if i < ev.cfg.show {
			rep.Samples = append(rep.Samples, sftSample{Task: p.Task, Prompt: p.Prompt, Answer: answers[i], Reference: p.Response, EOS: eos[i]})
		}
	}
	for task, tr := range rep.Tasks {
		s, n := sums[task], float64(tr.N)
		tr.EndsWithEOS, tr.WordF1, tr.WordsPerAnswer = s.eos/n, s.f1/n, s.words/n
		if exactTasks[task] {
			v := s.exact / n
			tr.ExactMatch = &v
		}
		if s.givenN > 0 {
			used, ordered := s.given/s.givenN, s.inOrder/s.asked
			tr.GivenWordsUsed, tr.GivenWordsInOrder = &used, &ordered
		}
	}
	rep.EndsWithEOS = float64(ended) / float64(len(chosen))
	rep.Answers = textstats.Measure(answers, ev.dict)
	return rep, nil
}

// sftPicks chooses sftPrompts held-out pairs, the tasks (in order of
// first appearance) taking turns, each task's pairs in a seeded order.
func (ev *evaluator) sftPicks() []sftPair {
	var tasks []string
	byTask := map[string][]sftPair{}
	for _, p := range ev.data.sft {
		if byTask[p.Task] == nil {
			tasks = append(tasks, p.Task)
		}
		byTask[p.Task] = append(byTask[p.Task], p)
	}
	rng := ev.rng(streamSFTPick, 1)
	for _, t := range tasks {
		ps := byTask[t]
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	}
	var out []sftPair
	for round := 0; len(out) < ev.cfg.sftPrompts; round++ {
		added := false
		for _, t := range tasks {
			if round < len(byTask[t]) && len(out) < ev.cfg.sftPrompts {
				out = append(out, byTask[t][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}

// givenWords are the words a "words" task asks the answer to use: the
// list after the prompt's colon ("Use these words in one sentence: a, b.").
func givenWords(p sftPair) []string {
	_, list, ok := strings.Cut(p.Prompt, ":")
	if p.Task != "words" || !ok {
		return nil
	}
	return textstats.Words(list)
}

// inOrder reports whether given occurs in words as a subsequence.
func inOrder(words, given []string) bool {
	for _, w := range words {
		if len(given) > 0 && w == given[0] {
			given = given[1:]
		}
	}
	return len(given) == 0
}

// pool evaluates many sequences at once: each worker owns a State running
// one thread, so separate sequences keep the cores busy without
// synchronising inside a forward pass. Results are stored by index and
// every job draws its own random numbers, so they do not depend on the
// number of workers.
type pool struct{ states []*engine.State }

func newPool(m *engine.Model, workers int) *pool {
	p := &pool{}
	for range workers {
		st := engine.NewState(m, 0)
		st.Threads = 1
		p.states = append(p.states, st)
	}
	return p
}

// run calls job(state, i) for i in [0, n), stopping at the first error.
func (p *pool) run(ctx context.Context, n int, job func(st *engine.State, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, st := range p.states {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := job(st, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// summarize prints the headline numbers for a person.
func summarize(w io.Writer, r *evalReport) {
	fmt.Fprintf(w, "eval %s: %.2fM parameters, %s, %s kernels, threads %d\n", r.Model, float64(r.Params)/1e6, r.DType, r.KernelPath, r.Threads)
	if h := r.Heldout; h != nil {
		fmt.Fprintf(w, "  held-out negative ELBO %.4f ± %.4f nats/token (perplexity <= %.1f) over %d windows of %d tokens, %d MC samples each\n",
			h.NELBO, h.NELBOStderr, h.PerplexityBound, h.Windows, h.WindowTokens, h.MC)
		fmt.Fprint(w, "  masked-token accuracy:")
		for _, a := range h.Accuracy {
			fmt.Fprintf(w, " t=%.2f %.1f%%", a.T, 100*a.Accuracy)
		}
		fmt.Fprintln(w)
	}
	if g := r.Generation; g != nil {
		fmt.Fprintf(w, "  %d samples (%d steps, %d tokens): dictionary words %s, distinct-2 %.3f, %.1f words/sample, EOS in %.0f%%\n",
			g.Prompts, g.Steps, g.GenLength, percent(g.DictionaryShare), g.Distinct2, g.WordsPerSample, 100*g.EndsWithEOS)
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

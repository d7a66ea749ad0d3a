package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"unmask/engine"
	"unmask/quant"
	"unmask/tools/train/linalg"
	"unmask/tools/train/trainer"
)

// record is a run's settings and history, kept in its checkpoint.
type record struct {
	Settings settings `json:"settings"`
	Train    []point  `json:"train"`   // mean training loss between log points
	Heldout  []point  `json:"heldout"` // held-out evaluations
	Samples  []string `json:"samples"` // the last samples printed
	Tokens   int64    `json:"tokens"`  // training tokens seen
	Seconds  float64  `json:"seconds"` // wall time spent in training steps
}

type point struct {
	Step      int     `json:"step"`
	Tokens    int64   `json:"tokens"`
	Objective string  `json:"objective"`
	Loss      float64 `json:"loss"`
}

// trainerRun is one training run: data, network, optimiser, random state
// and history.
type trainerRun struct {
	s              settings
	o              options
	stdout, stderr io.Writer
	data           *corpus
	params         *trainer.Params
	net            *trainer.Net
	sampler        *trainer.Net // for samples, sized to their canvas
	opt            *trainer.AdamW
	pool           *linalg.Pool
	pcg            *rand.PCG
	rng            *rand.Rand
	step           int
	rec            record
	batch          *trainer.Batch
	buf            []int32 // (batch, seq+1) raw windows
	sftPick        []trainer.Example
	evalSets       map[string][]*trainer.Batch
	statePath      string
	tty            bool
}

func newTrainerRun(s settings, o options, mf modelFlags, explicit map[string]bool, stdout, stderr io.Writer) (*trainerRun, error) {
	t := &trainerRun{o: o, stdout: stdout, stderr: stderr, evalSets: map[string][]*trainer.Batch{}}
	t.statePath = filepath.Join(o.ckptDir, "state.bin")
	var state *trainer.State
	if o.resume {
		var err error
		if state, err = trainer.ReadState(t.statePath); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		if err := json.Unmarshal(state.Run, &t.rec); err != nil {
			return nil, fmt.Errorf("resume: run record: %w", err)
		}
		steps := s.Steps
		s = t.rec.Settings
		if explicit["steps"] {
			s.Steps = steps // a resumed run may be lengthened
		}
	} else if _, err := os.Stat(t.statePath); err == nil {
		return nil, fmt.Errorf("%s already holds a run: pass --resume, or another --ckpt-dir", t.statePath)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if o.outDType != "f32" && o.outDType != "q8" {
		return nil, fmt.Errorf("--out-dtype %q: want f32 or q8", o.outDType)
	}
	data, err := loadCorpus(o.data, s.pairs(), s.pairs(), s.RespLen, s.Tasks)
	if err != nil {
		return nil, err
	}
	t.data = data
	if s.pairs() {
		need := data.maxPrompt() + max(s.RespLen, 1)
		if !explicit["seq"] && state == nil {
			s.Seq = need
		}
		if s.Seq < need {
			return nil, fmt.Errorf("--seq %d: the longest prompt (%d) + --resp-len %d needs %d", s.Seq, need-s.RespLen, s.RespLen, need)
		}
	}

	switch {
	case state != nil:
		t.params, err = trainer.NewParams(state.Config)
		if err == nil {
			err = t.params.CopyFrom(&trainer.Params{Data: state.Params})
		}
	case s.Init != "":
		var m *engine.Model
		if m, err = engine.LoadFile(s.Init); err == nil {
			t.params, err = trainer.FromModel(m)
		}
	default:
		t.params, err = trainer.NewParams(newConfig(mf, data))
		if err == nil {
			t.params.Init(s.Seed, s.InitStd)
		}
	}
	if err != nil {
		return nil, err
	}
	c := &t.params.Config
	if err := checkVocab(c, data); err != nil {
		return nil, err
	}
	if s.Seq > c.MaxSequenceLen {
		return nil, fmt.Errorf("--seq %d exceeds the model's max_sequence_length %d", s.Seq, c.MaxSequenceLen)
	}
	t.s = s
	t.rec.Settings = s
	t.pool = linalg.NewPool(o.threads)
	if t.net, err = trainer.NewNet(t.params, s.Batch, s.Seq, t.pool); err != nil {
		return nil, err
	}
	t.opt = trainer.NewAdamW(len(t.params.Data), s.Beta1, s.Beta2, s.WeightDecay)
	t.pcg = rand.NewPCG(s.Seed, 0x747261696e)
	if state != nil {
		copy(t.opt.M, state.M)
		copy(t.opt.V, state.V)
		t.opt.Steps = state.AdamSteps
		t.step = state.Step
		if err := t.pcg.UnmarshalBinary(state.RNG); err != nil {
			return nil, fmt.Errorf("resume: random state: %w", err)
		}
	}
	t.rng = rand.New(t.pcg)
	t.batch = trainer.NewBatch(s.Batch, s.Seq)
	t.buf = make([]int32, s.Batch*(s.Seq+1))
	t.sftPick = make([]trainer.Example, s.Batch)
	if fi, err := os.Stderr.Stat(); err == nil && stderr == os.Stderr {
		t.tty = fi.Mode()&os.ModeCharDevice != 0
	}
	return t, nil
}

// newConfig is the architecture of a fresh model from the flags and the
// corpus's tokenizer.
func newConfig(mf modelFlags, data *corpus) engine.Config {
	kv := mf.kvHeads
	if kv == 0 {
		kv = mf.heads
	}
	mask, _ := data.tok.Special("mask")
	eos, _ := data.tok.Special("eos")
	v := data.tok.VocabSize()
	return engine.Config{DModel: mf.dModel, NHeads: mf.heads, NKVHeads: kv, NLayers: mf.layers,
		MLPHiddenSize: mf.hidden, VocabSize: v, EmbeddingSize: v, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: mf.maxSeq, MaskTokenID: mask, EOSTokenID: eos, PadTokenID: eos}
}

// checkVocab makes sure the model and the corpus's tokenizer agree.
func checkVocab(c *engine.Config, data *corpus) error {
	if data.tok.VocabSize() > c.EmbeddingSize {
		return fmt.Errorf("the tokenizer has %d ids, the model's embedding %d", data.tok.VocabSize(), c.EmbeddingSize)
	}
	for _, sp := range []struct {
		name string
		id   int
	}{{"mask", c.MaskTokenID}, {"eos", c.EOSTokenID}} {
		if id, ok := data.tok.Special(sp.name); !ok || id != sp.id {
			return fmt.Errorf("the tokenizer's %s token is %d, the model's %d", sp.name, id, sp.id)
		}
	}
	return nil
}

// phase is the objective, learning-rate schedule and step within it of
// step: with --ar-steps, AR until then, then LLaDA with a fresh schedule.
func (t *trainerRun) phase(step int) (string, trainer.Schedule, int) {
	s := &t.s
	sched := trainer.Schedule{Peak: s.LR, Warmup: s.Warmup, MinFrac: s.MinLR, Total: s.Steps}
	switch {
	case s.ARSteps > 0 && step < s.ARSteps:
		sched.Total = s.ARSteps
		return trainer.AR, sched, step
	case s.ARSteps > 0:
		sched.Total = s.Steps - s.ARSteps
		return trainer.LLaDA, sched, step - s.ARSteps
	}
	return s.Objective, sched, step
}

// fill builds a batch for objective from the stream or pairs, drawing from rng.
func (t *trainerRun) fill(b *trainer.Batch, objective string, stream []int32, pairs []trainer.Example, rng *rand.Rand, nextPair func() trainer.Example) error {
	c := &t.params.Config
	B, T := b.B, b.T
	switch objective {
	case trainer.AR:
		windows(t.buf, stream, B, T+1, rng)
		trainer.FillAR(b, t.buf)
	case trainer.LLaDA:
		windows(t.buf, stream, B, T, rng)
		trainer.FillPretrain(b, t.buf[:B*T], int32(c.MaskTokenID), t.s.RandomLength, rng)
	case trainer.SFT, trainer.ARSFT:
		for i := range t.sftPick {
			t.sftPick[i] = nextPair()
		}
		if objective == trainer.ARSFT {
			return trainer.FillARPairs(b, t.sftPick, int32(c.EOSTokenID))
		}
		return trainer.FillSFT(b, t.sftPick, t.s.RespLen, int32(c.MaskTokenID), int32(c.EOSTokenID), rng)
	}
	return nil
}

func (t *trainerRun) trainStep() (float64, error) {
	objective, sched, rel := t.phase(t.step)
	if t.s.ARSteps > 0 && t.step == t.s.ARSteps {
		// AR -> LLaDA: the objective changes, so the moments start over.
		clear(t.opt.M)
		clear(t.opt.V)
		t.opt.Steps = 0
	}
	pairs := t.data.sftTrain
	err := t.fill(t.batch, objective, t.data.train, pairs, t.rng, func() trainer.Example { return pairs[t.rng.IntN(len(pairs))] })
	if err != nil {
		return 0, err
	}
	clear(t.net.G.Data)
	loss, err := t.net.LossAndGrad(t.batch)
	if err != nil {
		return 0, err
	}
	trainer.ClipGradNorm(t.net.G.Data, t.s.Clip)
	t.opt.Update(t.pool, t.params, t.net.G.Data, sched.LR(rel))
	return loss, nil
}

// evaluate is the mean loss over fixed held-out batches (the same windows
// and masks every time, so evaluations compare).
func (t *trainerRun) evaluate(objective string) (float64, error) {
	sets, ok := t.evalSets[objective]
	if !ok {
		rng := rand.New(rand.NewPCG(t.s.Seed, 0x6576616c))
		next := 0
		dev := t.data.sftDev
		for range t.o.evalBatches {
			b := trainer.NewBatch(t.s.Batch, t.s.Seq)
			err := t.fill(b, objective, t.data.heldout, dev, rng, func() trainer.Example {
				e := dev[next%len(dev)]
				next++
				return e
			})
			if err != nil {
				return 0, err
			}
			sets = append(sets, b)
		}
		t.evalSets[objective] = sets
	}
	var sum float64
	for _, b := range sets {
		l, err := t.net.Loss(b)
		if err != nil {
			return 0, err
		}
		sum += l
	}
	return sum / float64(len(sets)), nil
}

func (t *trainerRun) loop() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := &t.s
	c := &t.params.Config
	fmt.Fprintf(t.stdout, "model: d_model %d, %d layers, %d heads (%d kv), mlp %d, vocab %d, %.2fM parameters; kernels %s, %d threads\n",
		c.DModel, c.NLayers, c.NHeads, c.NKVHeads, c.MLPHiddenSize, c.EmbeddingSize, float64(len(t.params.Data))/1e6, linalg.Path(), t.pool.Threads)
	fmt.Fprintf(t.stdout, "run: %s, %d steps (ar %d) of %d×%d tokens, lr %g, warmup %d; from step %d\n",
		s.Objective, s.Steps, s.ARSteps, s.Batch, s.Seq, s.LR, s.Warmup, t.step)
	start := time.Now()
	lastCkpt := start
	var lossSum float64
	var lossN int
	stepTime := 0.0 // seconds in steps during this process
	flopsStart := t.pool.Flops()
	stepsStart := t.step
	held := 0.0
	if n := len(t.rec.Heldout); n > 0 {
		held = t.rec.Heldout[n-1].Loss
	}
	for t.step < s.Steps {
		objective, sched, rel := t.phase(t.step)
		t0 := time.Now()
		loss, err := t.trainStep()
		if err != nil {
			return err
		}
		dt := time.Since(t0).Seconds()
		stepTime += dt
		t.rec.Seconds += dt
		t.rec.Tokens += int64(s.Batch * s.Seq)
		t.step++
		lossSum += loss
		lossN++
		if t.step%t.o.logEvery == 0 || t.step == s.Steps {
			t.rec.Train = append(t.rec.Train, point{Step: t.step, Tokens: t.rec.Tokens, Objective: objective, Loss: lossSum / float64(lossN)})
		}
		if t.step%t.o.evalEvery == 0 || t.step == s.Steps || t.step == s.ARSteps {
			if held, err = t.evaluate(objective); err != nil {
				return err
			}
			t.rec.Heldout = append(t.rec.Heldout, point{Step: t.step, Tokens: t.rec.Tokens, Objective: objective, Loss: held})
			fmt.Fprintf(t.stdout, "eval step %d tokens %d %s: train %.4f held-out %.4f lr %.3g\n",
				t.step, t.rec.Tokens, objective, lossSum/float64(lossN), held, sched.LR(rel))
			if t.o.snapshots != "" {
				if err := t.writeModel(filepath.Join(t.o.snapshots, fmt.Sprintf("step-%d.unmask", t.step))); err != nil {
					return err
				}
			}
		}
		if t.o.sampleEvery > 0 && t.step%t.o.sampleEvery == 0 && !trainer.Causal(objective) {
			if err := t.printSamples(); err != nil {
				return err
			}
		}
		// Progress: step, losses, throughput, ETA.
		done := t.step - stepsStart
		perStep := time.Since(start).Seconds() / float64(done)
		eta := time.Duration(perStep*float64(s.Steps-t.step)) * time.Second
		heldText := "-"
		if len(t.rec.Heldout) > 0 {
			heldText = fmt.Sprintf("%.4f", held)
		}
		line := fmt.Sprintf("step %d/%d %s | loss %.4f | held-out %s | %.0f tok/s | %.1f GFLOPS | lr %.2e | ETA %s",
			t.step, s.Steps, objective, lossSum/float64(lossN), heldText,
			float64(done*s.Batch*s.Seq)/stepTime, float64(t.pool.Flops()-flopsStart)/stepTime/1e9, sched.LR(rel),
			eta.Round(time.Second))
		if t.tty {
			fmt.Fprintf(t.stderr, "\r%s\033[K", line)
		} else if t.step%t.o.logEvery == 0 {
			fmt.Fprintln(t.stderr, line)
		}
		if t.step%t.o.logEvery == 0 {
			lossSum, lossN = 0, 0
		}
		interrupted := ctx.Err() != nil
		overTime := t.o.timeLimit > 0 && time.Since(start) > t.o.timeLimit
		if time.Since(lastCkpt) > t.o.ckptEvery || interrupted || overTime {
			if err := t.checkpoint(); err != nil {
				return err
			}
			lastCkpt = time.Now()
		}
		if interrupted || overTime {
			fmt.Fprintf(t.stderr, "\nstopped at step %d (%s); resume with --resume --ckpt-dir %s\n", t.step,
				map[bool]string{true: "signal", false: "time limit"}[interrupted], t.o.ckptDir)
			return nil
		}
	}
	if t.tty {
		fmt.Fprintln(t.stderr)
	}
	if objective, _, _ := t.phase(s.Steps - 1); !trainer.Causal(objective) {
		if err := t.printSamples(); err != nil {
			return err
		}
	}
	if err := t.checkpoint(); err != nil {
		return err
	}
	fmt.Fprintf(t.stdout, "done: %d steps, %d tokens, %.1f minutes of training\n", t.step, t.rec.Tokens, t.rec.Seconds/60)
	return nil
}

// checkpoint writes the training state, the model file and the plot.
func (t *trainerRun) checkpoint() error {
	run, err := json.Marshal(t.rec)
	if err != nil {
		return err
	}
	rngState, err := t.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	st := &trainer.State{Config: t.params.Config, Step: t.step, AdamSteps: t.opt.Steps, RNG: rngState, Run: run,
		Params: t.params.Data, M: t.opt.M, V: t.opt.V}
	if err := trainer.WriteState(t.statePath, st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if t.o.out != "" {
		if err := t.writeModel(t.o.out); err != nil {
			return err
		}
	}
	return writePlot(t.o.plot, &t.rec)
}

// writeModel encodes the current weights (with the tokenizer) atomically.
func (t *trainerRun) writeModel(path string) error {
	m := t.params.Model(t.data.tok)
	objective, _, _ := t.phase(max(0, t.step-1))
	m.Config.Causal = trainer.Causal(objective) // next-token logits: decoded left to right
	if t.o.outDType == quant.Q8.String() {
		m = m.Quantize(t.o.group)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := m.Encode(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("model file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printSamples generates greedily (64 steps for 64 tokens, blocks of 32)
// from held-out prompts and prints them with their word statistics.
func (t *trainerRun) printSamples() error {
	objective, _, _ := t.phase(max(0, t.step-1))
	var prompts [][]int32
	var shown []string
	k := min(t.o.samples, t.s.Batch)
	if objective == trainer.SFT {
		for i := range k {
			ex := t.data.sftDev[i*len(t.data.sftDev)/k]
			prompts = append(prompts, ex.Prompt)
			shown = append(shown, t.data.sftDevText[i*len(t.data.sftDev)/k])
		}
	} else {
		const promptLen = 8
		for i := range k {
			start := t.data.paragraphs[(2*i+1)*len(t.data.paragraphs)/(2*k)]
			p := t.data.heldout[start:min(len(t.data.heldout), start+promptLen)]
			prompts = append(prompts, p)
			shown = append(shown, t.data.tok.Decode(ints(p)))
		}
	}
	longest := 0
	for _, p := range prompts {
		longest = max(longest, len(p))
	}
	// 64 tokens in blocks of 32; an answer that fills the rest of a canvas
	// shorter than that (--resp-len 0) in one block, a token per step.
	genLen, blockLen, steps := 64, 32, 64
	if limit := t.params.Config.MaxSequenceLen - longest; limit < genLen {
		genLen, blockLen, steps = limit, limit, limit
	}
	if genLen < 1 {
		return nil // no room to generate after the prompts
	}
	if t.sampler == nil {
		var err error
		if t.sampler, err = trainer.NewNet(t.params, len(prompts), longest+genLen, t.pool); err != nil {
			return err
		}
	}
	gen, err := t.sampler.Generate(prompts, genLen, blockLen, steps)
	if err != nil {
		return err
	}
	eos := int32(t.params.Config.EOSTokenID)
	var texts []string
	t.rec.Samples = t.rec.Samples[:0]
	for i, g := range gen {
		end := len(g)
		for j, id := range g {
			if id == eos {
				end = j
				break
			}
		}
		text := t.data.tok.Decode(ints(g[:end]))
		texts = append(texts, text)
		line := fmt.Sprintf("%s ⟦%s⟧", oneLine(shown[i]), oneLine(text))
		t.rec.Samples = append(t.rec.Samples, line)
		fmt.Fprintf(t.stdout, "sample step %d: %s\n", t.step, line)
	}
	st := sampleStats(texts)
	fmt.Fprintf(t.stdout, "samples step %d: %.1f words/sample, distinct-2 %.2f, dictionary words %s\n",
		t.step, st.wordsPerSample, st.distinct2, st.dictShare())
	return nil
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ⏎ ") }

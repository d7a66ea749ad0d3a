// Command train trains Unmask's LLaDA models on this machine's CPUs.
//
//	train --data DIR --out FILE [--objective llada|sft|ar|ar-sft] [--ar-steps N]
//	      [--steps N --batch B --seq T --lr LR --warmup N]
//	      [--d-model D --layers L --heads H --kv-heads K --hidden F]
//	      [--init FILE] [--ckpt-dir DIR] [--resume]
//
// Pre-training (llada) masks each sequence at its own ratio and minimises
// the LLaDA bound; --ar-steps first trains the same network as a causal
// next-token model, which at this budget gives a far better starting point
// (then the moments are reset and the schedule restarts). sft fine-tunes a
// model given with --init on instruction pairs; ar-sft trains a causal
// next-token model on the same pairs (the model file is marked causal, as
// after ar). With --scratch the pair objectives start from fresh weights
// (the synthetic fact sets). Progress goes to stderr;
// held-out evaluations and samples to stdout. Checkpoints (weights,
// optimiser state, step, random state) are written to --ckpt-dir every
// --ckpt-every and on SIGINT/SIGTERM; --resume continues from there.
//
// Build with GOEXPERIMENT=simd on amd64 for the AVX2 kernels (without it
// the plain Go kernels run, about ten times slower).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"unmask/tools/train/trainer"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "train: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(2)
	}
}

// settings are what a run is: stored in its checkpoint so --resume goes
// on with the same run.
type settings struct {
	Objective    string  `json:"objective"`
	ARSteps      int     `json:"ar_steps"`
	Steps        int     `json:"steps"`
	Batch        int     `json:"batch"`
	Seq          int     `json:"seq"`
	LR           float64 `json:"lr"`
	MinLR        float64 `json:"min_lr_frac"`
	Warmup       int     `json:"warmup"`
	WeightDecay  float64 `json:"weight_decay"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Clip         float64 `json:"clip"`
	Seed         uint64  `json:"seed"`
	RandomLength float64 `json:"random_length"`
	RespLen      int     `json:"resp_len"`
	InitStd      float64 `json:"init_std"`
	Init         string  `json:"init,omitempty"`
	// Scratch lets the pair objectives start from fresh weights.
	Scratch bool `json:"scratch,omitempty"`
	// Tasks limits SFT to the pairs of these tasks (empty: all of them).
	Tasks []string `json:"tasks,omitempty"`
}

// options are the flags that may change between a run and its resumption.
type options struct {
	data, out, outDType, ckptDir, plot string
	snapshots                          string // folder for a model file at every held-out evaluation
	group                              int
	ckptEvery, timeLimit               time.Duration
	evalEvery, evalBatches             int
	sampleEvery, samples, logEvery     int
	threads                            int
	resume                             bool
}

type modelFlags struct {
	dModel, layers, heads, kvHeads, hidden, maxSeq int
}

func defaultDir(sub ...string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(append([]string{dir, "unmask"}, sub...)...)
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	var o options
	var mf modelFlags
	fs.StringVar(&o.data, "data", defaultDir(), "corpus directory (train.bin, heldout.bin, tokenizer.json, sft-*.jsonl)")
	fs.StringVar(&o.out, "out", "", "model file to write at each checkpoint and at the end")
	fs.StringVar(&o.outDType, "out-dtype", "f32", "dtype of --out: f32 or q8")
	fs.StringVar(&o.snapshots, "snapshots", "", "folder for a model file (--out-dtype) at every held-out evaluation, step-N.unmask: for learning curves")
	fs.IntVar(&o.group, "group", 0, "q8 scale group length (0: one scale per row)")
	fs.StringVar(&o.ckptDir, "ckpt-dir", defaultDir("train"), "directory for the training state")
	fs.StringVar(&o.plot, "plot", "", "loss curve PNG (default CKPT-DIR/loss.png)")
	fs.DurationVar(&o.ckptEvery, "ckpt-every", 3*time.Minute, "checkpoint interval")
	fs.DurationVar(&o.timeLimit, "time-limit", 0, "stop (with a checkpoint) after this long; 0: none")
	fs.IntVar(&o.evalEvery, "eval-every", 100, "held-out evaluation every N steps")
	fs.IntVar(&o.evalBatches, "eval-batches", 4, "held-out batches per evaluation")
	fs.IntVar(&o.sampleEvery, "sample-every", 0, "print greedy samples every N steps (0: at the end only)")
	fs.IntVar(&o.samples, "samples", 4, "samples per print")
	fs.IntVar(&o.logEvery, "log-every", 10, "progress line every N steps when stderr is not a terminal")
	fs.IntVar(&o.threads, "threads", runtime.NumCPU(), "worker goroutines")
	fs.BoolVar(&o.resume, "resume", false, "continue the run saved in --ckpt-dir")

	fs.StringVar(&s.Objective, "objective", trainer.LLaDA, "llada (pre-training), sft, ar or ar-sft (next-token on the SFT pairs)")
	fs.BoolVar(&s.Scratch, "scratch", false, "sft and ar-sft: start from fresh weights instead of --init")
	fs.IntVar(&s.ARSteps, "ar-steps", 0, "llada only: first train this many steps autoregressively")
	fs.IntVar(&s.Steps, "steps", 1000, "total optimiser steps")
	fs.IntVar(&s.Batch, "batch", 16, "sequences per step")
	fs.IntVar(&s.Seq, "seq", 128, "tokens per sequence (sft: canvas, at least the longest prompt + --resp-len)")
	fs.Float64Var(&s.LR, "lr", 2e-3, "peak learning rate")
	fs.Float64Var(&s.MinLR, "min-lr", 0.1, "final learning rate as a fraction of --lr")
	fs.IntVar(&s.Warmup, "warmup", 100, "linear warm-up steps (each phase)")
	fs.Float64Var(&s.WeightDecay, "wd", 0.1, "AdamW weight decay (not on norm weights)")
	fs.Float64Var(&s.Beta1, "beta1", 0.9, "AdamW beta1")
	fs.Float64Var(&s.Beta2, "beta2", 0.95, "AdamW beta2")
	fs.Float64Var(&s.Clip, "clip", 1, "global gradient norm clip (0: none)")
	fs.Uint64Var(&s.Seed, "seed", 1, "seed of initialisation, data order and masks")
	fs.Float64Var(&s.RandomLength, "random-length", 0.01, "share of pre-training sequences cut to a random length")
	fs.IntVar(&s.RespLen, "resp-len", 64, "sft: response length after EOS padding (0: to the end of the canvas)")
	fs.Float64Var(&s.InitStd, "init-std", 0.02, "standard deviation of the initial weights")
	fs.StringVar(&s.Init, "init", "", "model file to start from (sft from a base model, or any warm start)")

	fs.Func("tasks", "sft: train only on the pairs of these comma-separated tasks (default all)", func(v string) error {
		s.Tasks = nil
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				s.Tasks = append(s.Tasks, t)
			}
		}
		if len(s.Tasks) == 0 {
			return errors.New("no task named")
		}
		return nil
	})

	fs.IntVar(&mf.dModel, "d-model", 256, "model width")
	fs.IntVar(&mf.layers, "layers", 6, "Transformer blocks")
	fs.IntVar(&mf.heads, "heads", 8, "attention heads")
	fs.IntVar(&mf.kvHeads, "kv-heads", 0, "key/value heads (0: --heads)")
	fs.IntVar(&mf.hidden, "hidden", 704, "SiLU MLP hidden size")
	fs.IntVar(&mf.maxSeq, "max-seq", 256, "max_sequence_length stored in the model (>= --seq)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.plot == "" {
		o.plot = filepath.Join(o.ckptDir, "loss.png")
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	t, err := newTrainerRun(s, o, mf, explicit, stdout, stderr)
	if err != nil {
		return err
	}
	return t.loop()
}

func (s *settings) validate() error {
	switch {
	case s.Objective != trainer.LLaDA && s.Objective != trainer.SFT && s.Objective != trainer.AR && s.Objective != trainer.ARSFT:
		return fmt.Errorf("--objective %q: want llada, sft, ar or ar-sft", s.Objective)
	case s.ARSteps < 0 || s.ARSteps > 0 && s.Objective != trainer.LLaDA:
		return errors.New("--ar-steps needs --objective llada and a value >= 0")
	case s.Steps <= 0 || s.ARSteps >= s.Steps && s.ARSteps > 0:
		return fmt.Errorf("--steps %d must be positive and exceed --ar-steps %d", s.Steps, s.ARSteps)
	case s.Batch <= 0 || s.Seq <= 1:
		return fmt.Errorf("--batch %d and --seq %d must be positive (seq > 1)", s.Batch, s.Seq)
	case !(s.LR > 0) || s.MinLR < 0 || s.MinLR > 1 || s.Warmup < 0:
		return errors.New("--lr must be > 0, --min-lr in [0, 1], --warmup >= 0")
	case s.pairs() && (s.Init == "") == !s.Scratch:
		return fmt.Errorf("--objective %s needs exactly one of --init (the base model) and --scratch", s.Objective)
	case !s.pairs() && s.Scratch:
		return errors.New("--scratch needs --objective sft or ar-sft")
	case len(s.Tasks) > 0 && !s.pairs():
		return errors.New("--tasks needs --objective sft or ar-sft")
	case s.RespLen < 0:
		return fmt.Errorf("--resp-len %d, want >= 0", s.RespLen)
	case s.RandomLength < 0 || s.RandomLength > 1:
		return fmt.Errorf("--random-length %v outside [0, 1]", s.RandomLength)
	}
	return nil
}

// pairs reports an objective that trains on the SFT pairs.
func (s *settings) pairs() bool { return s.Objective == trainer.SFT || s.Objective == trainer.ARSFT }

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"unmask/engine"
)

func init() {
	commands["generate"] = command{"run the reverse process from a prompt", runGenerate}
}

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate")
	modelPath := fs.String("model", "", "model file")
	prompt := fs.String("prompt", "", "prompt text (needs a model with a tokenizer); ___ marks a blank to infill")
	promptFile := fs.String("prompt-file", "", "read the prompt text from this file (- for standard input), for prompts too long for one argument")
	idList := fs.String("ids", "", "prompt as comma-separated token ids")
	chat := fs.Bool("chat", false, "wrap the prompt in the model's chat template (___ then stays text: the instruct model's fill-in task)")
	blank := fs.Int("blank", 4, "masks per ___ blank in --prompt (without --chat)")
	opts := engine.DefaultOptions()
	fs.IntVar(&opts.Steps, "steps", opts.Steps, "denoising steps")
	fs.IntVar(&opts.GenLength, "gen-length", opts.GenLength, "tokens to generate")
	fs.IntVar(&opts.BlockLength, "block-length", opts.BlockLength, "semi-autoregressive block length")
	fs.Float64Var(&opts.Temperature, "temperature", 0, "Gumbel-max temperature (0: argmax)")
	fs.Float64Var(&opts.CFGScale, "cfg", 0, "classifier-free guidance scale")
	remasking := fs.String("remasking", string(engine.LowConfidence), "low_confidence, random, margin or entropy")
	fs.Float64Var(&opts.Threshold, "threshold", 0, "Fast-dLLM parallel decoding: commit the most confident and every prediction at or above it (0: off; --steps then unused)")
	opts.Cache = engine.NoCache
	fs.Var(&opts.Cache, "cache", "Fast-dLLM key/value cache within a block: none, prefix or dual")
	fs.BoolVar(&opts.SuppressEOS, "suppress-eos", false, "never predict EOS")
	fs.Uint64Var(&opts.Seed, "seed", 0, "random seed")
	asJSON := fs.Bool("json", false, "print {output, trace, text} as JSON")
	visual := fs.Bool("visual", false, "animate the canvas in the terminal")
	delay := fs.Duration("delay", 60*time.Millisecond, "pause between frames with --visual")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := engine.ParseRemasking(*remasking)
	if err != nil {
		return usageError{err}
	}
	opts.Remasking = r
	if given := countSet(*prompt, *promptFile, *idList); given != 1 {
		return usageError{fmt.Errorf("give exactly one of --prompt, --prompt-file and --ids")}
	}
	if *promptFile != "" {
		if *prompt, err = readPromptFile(*promptFile); err != nil {
			return err
		}
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	if m.Config.Causal {
		if err := refuseDiffusionFlags(fs); err != nil {
			return err
		}
	} else if err := opts.Validate(); err != nil {
		return usageError{err}
	}
	ids, err := promptIDs(m, *prompt, *idList, *chat, *blank)
	if err != nil {
		return err
	}
	if n := len(ids) + opts.GenLength; n > m.Config.MaxSequenceLen {
		return fmt.Errorf("%w: prompt %d + gen-length %d = %d tokens, limit %d",
			engine.ErrTooLong, len(ids), opts.GenLength, n, m.Config.MaxSequenceLen)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var trace [][]int
	var anim *animation
	if *visual {
		anim = newAnimation(stderr, m, len(ids), *delay)
	}
	observe := func(s engine.Step) {
		trace = append(trace, s.Canvas)
		if anim != nil {
			anim.frame(s)
		}
	}
	out, err := engine.NewState(m, len(ids)+opts.GenLength).Generate(ctx, ids, opts, observe)
	if err != nil {
		return err
	}
	trace = append(trace, out)
	if anim != nil {
		anim.final(out)
	}

	text := ""
	if m.Tokenizer != nil {
		text = m.Tokenizer.Decode(engine.Answer(ids, out, m.Config.EOSTokenID, m.Config.MaskTokenID))
	}
	if *asJSON {
		res := map[string]any{"output": out, "trace": trace}
		if m.Tokenizer != nil {
			res["text"] = text
		}
		return json.NewEncoder(stdout).Encode(res)
	}
	if m.Tokenizer == nil {
		_, err = fmt.Fprintln(stdout, jsonInts(out))
		return err
	}
	_, err = fmt.Fprintln(stdout, text)
	return err
}

// diffusionFlags only mean something for a diffusion model's reverse
// process; a causal model decodes one token per step, left to right.
var diffusionFlags = []string{"steps", "block-length", "cfg", "remasking", "threshold", "cache", "blank"}

// refuseDiffusionFlags names the first diffusion-only flag given for a
// causal model.
func refuseDiffusionFlags(fs *flag.FlagSet) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(diffusionFlags, f.Name) {
			given = append(given, "--"+f.Name)
		}
	})
	if len(given) > 0 {
		return usageError{fmt.Errorf("%w: %s (the model is causal: it decodes left to right, one token per step)", engine.ErrCausalOptions, strings.Join(given, ", "))}
	}
	return nil
}

// promptIDs parses the ids or encodes the prompt text (engine.PromptIDs).
func promptIDs(m *engine.Model, text, idList string, chat bool, blank int) ([]int, error) {
	if idList != "" {
		ids, err := parseIDs(idList)
		if err != nil {
			return nil, usageError{err}
		}
		for _, id := range ids {
			if id >= m.Config.EmbeddingSize {
				return nil, fmt.Errorf("%w: %d (vocabulary %d)", engine.ErrToken, id, m.Config.EmbeddingSize)
			}
		}
		return ids, nil
	}
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("the model has no tokenizer: use --ids")
	}
	if blank < 1 {
		return nil, usageError{fmt.Errorf("--blank %d, want >= 1", blank)}
	}
	return engine.PromptIDs(m.Tokenizer, text, chat, blank, m.Config.MaskTokenID)
}

func jsonInts(ids []int) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

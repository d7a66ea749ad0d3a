// Command corpus builds the training data of Unmask's own LLaDA models from
// public-domain text that Debian packages carry: Jane Austen's novels, the
// King James Bible and WordNet's example sentences. It fetches the packages
// (apt-get download, dpkg -x) into a cache folder, cleans the text into
// one paragraph per line, splits train / held-out by document, trains the
// byte-level BPE tokenizer on the training part, writes both parts as
// token arrays, and derives the supervised fine-tuning (SFT) set.
//
// Files written to --out (by default the cache folder --dir):
//
//	train.txt, heldout.txt      one paragraph per line
//	manifest.json               sources, licences, split, sizes, formats
//	tokenizer.json              the BPE tokenizer (package engine/bpe)
//	train.bin, heldout.bin      token ids, uint16 little-endian: each
//	                            document's paragraphs joined by "\n" (id 10),
//	                            then <|eos|>
//	train.idx, heldout.idx      uint32 little-endian: the offset in the .bin
//	                            of every paragraph's first token
//	sft-train.jsonl, sft-heldout.jsonl
//	                            {"task","prompt","response","source"} per line
//
// With --reversal it writes the synthetic reversal-curse fact set to --out
// instead (see reversal.go); nothing is downloaded.
//
// Usage: corpus [--dir DIR] [--out DIR] [--vocab N] [--heldout-every N] ...
//
//	corpus --reversal --out DIR [--facts N] [--train-qa N] [--seed S]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// options are the command's flags.
type options struct {
	Dir          string // package cache
	Out          string // written files
	Vocab        int
	HeldoutEvery int
	WordnetBytes int
	SFTSeed      uint64
	SFTPerPara   float64
	SFTMaxTokens int
	SFTMaxPrompt int
	// DefineMinCount: define pairs ask about words the prose uses this often.
	DefineMinCount int
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	var o options
	fs := flag.NewFlagSet("corpus", flag.ContinueOnError)
	fs.StringVar(&o.Dir, "dir", filepath.Join(cache, "unmask"), "folder for the downloaded packages, and for the output unless --out is given")
	fs.StringVar(&o.Out, "out", "", "output folder (default: --dir)")
	fs.IntVar(&o.Vocab, "vocab", 4096, "tokenizer vocabulary size, special tokens included (at most 65536)")
	fs.IntVar(&o.HeldoutEvery, "heldout-every", 20, "hold out one document in this many")
	fs.IntVar(&o.WordnetBytes, "wordnet-bytes", 1_000_000, "bytes of WordNet entries to keep (0: all)")
	fs.Uint64Var(&o.SFTSeed, "seed", 1, "seed of the SFT set (with --reversal: of the names and facts)")
	fs.Float64Var(&o.SFTPerPara, "sft-per-paragraph", 1, "SFT pairs made per paragraph, on average")
	fs.IntVar(&o.SFTMaxTokens, "sft-max-response", 56, "longest SFT response in tokens")
	fs.IntVar(&o.SFTMaxPrompt, "sft-max-prompt", 60, "longest SFT prompt in tokens, chat template not counted")
	fs.IntVar(&o.DefineMinCount, "define-min-count", 10, "define pairs ask only about words the training prose uses at least this often (0: any word)")
	reversal := fs.Bool("reversal", false, "write the synthetic reversal fact set to --out instead")
	rev := reversalOptions{MinPerSide: 100}
	fs.IntVar(&rev.Facts, "facts", 400, "with --reversal: pairs of invented people, one fact each")
	fs.IntVar(&rev.TrainQA, "train-qa", 200, "with --reversal: facts also asked about (both ways) in training; the rest are evaluated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reversal {
		if o.Out == "" {
			return fmt.Errorf("--reversal needs --out")
		}
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return err
		}
		rev.Seed = o.SFTSeed
		return writeReversal(o.Out, rev)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Vocab < 300 || o.Vocab > 1<<16 {
		return fmt.Errorf("--vocab %d: want 300 to 65536 (ids are stored as uint16)", o.Vocab)
	}
	if o.HeldoutEvery < 2 {
		return fmt.Errorf("--heldout-every %d: want at least 2", o.HeldoutEvery)
	}
	if o.DefineMinCount < 0 {
		return fmt.Errorf("--define-min-count %d: want 0 or more", o.DefineMinCount)
	}
	if o.Out == "" {
		o.Out = o.Dir
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	return build(o)
}

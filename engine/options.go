package engine

import (
	"errors"
	"fmt"
	"math"
)

// Remasking is the rule that decides which predictions a step keeps.
type Remasking string

const (
	LowConfidence Remasking = "low_confidence" // keep the most probable predictions (LLaDA)
	Random        Remasking = "random"         // keep random predictions (LLaDA)
	Margin        Remasking = "margin"         // keep the largest top1 - top2 probability gaps (Dream)
	Entropy       Remasking = "entropy"        // keep the lowest-entropy predictions (Dream)
)

// Remaskings lists every rule, in the order a UI offers them.
var Remaskings = []Remasking{LowConfidence, Random, Margin, Entropy}

// ParseRemasking accepts the rule names above.
func ParseRemasking(s string) (Remasking, error) {
	for _, r := range Remaskings {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: unknown remasking %q (want low_confidence, random, margin or entropy)", ErrOptions, s)
}

// Cache is how a block's steps reuse keys and values (Fast-dLLM).
type Cache string

const (
	// NoCache runs every step over the whole canvas (the reference generate()).
	NoCache Cache = "none"
	// PrefixCache keeps the keys and values before the block from the
	// block's first step; later steps run the block and everything after it.
	PrefixCache Cache = "prefix"
	// DualCache keeps the keys and values before and after the block from
	// the block's first step; later steps run only the block.
	DualCache Cache = "dual"
)

// Caches lists every cache mode, in the order a UI offers them.
var Caches = []Cache{NoCache, PrefixCache, DualCache}

// ParseCache accepts the mode names above ("" is none).
func ParseCache(s string) (Cache, error) {
	if s == "" {
		return NoCache, nil
	}
	for _, c := range Caches {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: unknown cache %q (want none, prefix or dual)", ErrOptions, s)
}

// String and Set make a *Cache a flag.Value: --cache none|prefix|dual.
func (c *Cache) String() string { return string(*c) }

// Set parses a mode name (ParseCache).
func (c *Cache) Set(s string) error {
	v, err := ParseCache(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ErrOptions reports sampler options that do not make sense.
var ErrOptions = errors.New("invalid generation options")

// Options are the parameters of the reverse process, named as in the
// reference generate().
type Options struct {
	Steps       int       // denoising steps over the whole generation
	GenLength   int       // masked positions appended to the prompt
	BlockLength int       // semi-autoregressive block size; divides GenLength
	Temperature float64   // 0: argmax; > 0: Gumbel-max sampling with float64 noise
	CFGScale    float64   // classifier-free guidance; 0 disables the unconditional pass
	Remasking   Remasking // which predictions each step keeps
	// Threshold > 0 turns on Fast-dLLM parallel decoding: each step commits
	// the block's most confident masked token and every other one whose
	// confidence reaches the threshold, and a block runs until it is
	// filled; Steps and the linear schedule are then not used.
	Threshold float64
	// Cache reuses keys and values within a block (Fast-dLLM); "" is none.
	Cache       Cache
	SuppressEOS bool   // set the EOS logit to -inf (the reference's logits_eos_inf)
	Seed        uint64 // seeds the Gumbel noise and random remasking
	TopK        int    // candidates per masked position in the trace (0: 5)
}

// DefaultOptions are the settings of the LLaDA README's example, scaled to
// a small canvas.
func DefaultOptions() Options {
	return Options{Steps: 64, GenLength: 64, BlockLength: 32, Remasking: LowConfidence, TopK: 5, Cache: NoCache}
}

// Validate checks the options as the reference does: gen_length must be a
// multiple of block_length and steps (unless a threshold replaces them) a
// multiple of the number of blocks. Steps may not exceed the masked
// positions (the reference documents steps <= gen_length); Generate checks
// that against the prompt's masks.
// GenLength 0 is allowed only for infilling, when the prompt itself holds
// masks; Generate checks that.
func (o *Options) Validate() error {
	switch {
	case o.GenLength < 0:
		return fmt.Errorf("%w: gen_length %d, want >= 0", ErrOptions, o.GenLength)
	case o.GenLength > 0 && (o.BlockLength <= 0 || o.GenLength%o.BlockLength != 0):
		return fmt.Errorf("%w: gen_length %d is not a multiple of block_length %d", ErrOptions, o.GenLength, o.BlockLength)
	case o.Threshold == 0 && (o.Steps <= 0 || o.Steps%o.Blocks() != 0): // a threshold does not use Steps
		return fmt.Errorf("%w: steps %d is not a positive multiple of the %d blocks", ErrOptions, o.Steps, o.Blocks())
	case o.Steps > MaxSequenceLimit:
		// Generate bounds steps by the canvas's masks; this bound holds for
		// any canvas, before one is known.
		return fmt.Errorf("%w: steps %d exceeds the limit of %d", ErrOptions, o.Steps, MaxSequenceLimit)
	case o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("%w: temperature %v, want a finite value >= 0", ErrOptions, o.Temperature)
	case o.CFGScale < 0 || math.IsNaN(o.CFGScale) || math.IsInf(o.CFGScale, 0):
		return fmt.Errorf("%w: cfg scale %v, want a finite value >= 0", ErrOptions, o.CFGScale)
	case !(o.Threshold >= 0 && o.Threshold <= 1):
		return fmt.Errorf("%w: threshold %v, want in [0, 1]", ErrOptions, o.Threshold)
	case o.TopK < 0 || o.TopK > 64:
		return fmt.Errorf("%w: top-k %d, want 0..64", ErrOptions, o.TopK)
	}
	if _, err := ParseRemasking(string(o.Remasking)); err != nil {
		return err
	}
	if _, err := ParseCache(string(o.Cache)); err != nil {
		return err
	}
	return nil
}

// Blocks is the number of semi-autoregressive blocks (1 when only
// infilling a prompt's own masks).
func (o *Options) Blocks() int {
	if o.GenLength == 0 || o.BlockLength <= 0 {
		return 1
	}
	return o.GenLength / o.BlockLength
}

// Commit is one position filled by a step.
type Commit struct {
	Pos        int     `json:"pos"`
	Token      int     `json:"token"`
	Confidence float64 `json:"confidence"` // the remasking rule's score
	Prob       float64 `json:"prob"`       // the model's probability of the token
}

// Candidate is one of the likeliest tokens at a masked position.
type Candidate struct {
	Token int     `json:"token"`
	Prob  float64 `json:"prob"`
}

// Step is what one denoising step did; the sampler hands one to the
// observer after every forward pass.
type Step struct {
	Index      int      `json:"index"`       // 0-based over the whole generation
	Block      int      `json:"block"`       // 0-based block number
	BlockStart int      `json:"block_start"` // canvas position where the block begins
	BlockEnd   int      `json:"block_end"`   // one past its last position
	Canvas     []int    `json:"canvas"`      // the canvas before this step commits
	Committed  []Commit `json:"committed"`   // positions filled by this step, by position
	// Passes is the forward passes this step ran: 0 when it had nothing to
	// commit, 2 with classifier-free guidance.
	Passes int `json:"passes"`
	// Each pass ran the canvas positions [ComputedFrom, ComputedTo)
	// through the Transformer; the other positions' keys and values came
	// from the cache.
	ComputedFrom int `json:"computed_from"`
	ComputedTo   int `json:"computed_to"`
	// Candidates holds, for every position still masked before this step
	// (up to the block's end), its top-k tokens by probability.
	Candidates map[int][]Candidate `json:"candidates"`
}

// Observer receives every step as it happens. The sampler computes the
// candidates only when an observer is set.
type Observer func(Step)

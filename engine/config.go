// Package engine runs LLaDA, a masked diffusion language model: the mask
// predictor (a bidirectional LLaMA-style Transformer), the reverse-process
// sampler with its step trace, the tokenizer and the model file.
//
// It is pure Go with no syscall/js, so the same code runs natively, in the
// CLI and inside the browser's Web Worker.
package engine

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Config is the architecture of a LLaDA model. Field names follow the keys
// of the LLaDA checkpoint's config.json.
type Config struct {
	DModel         int     `json:"d_model"`
	NHeads         int     `json:"n_heads"`
	NKVHeads       int     `json:"n_kv_heads"`
	NLayers        int     `json:"n_layers"`
	MLPHiddenSize  int     `json:"mlp_hidden_size"`
	VocabSize      int     `json:"vocab_size"`
	EmbeddingSize  int     `json:"embedding_size"`
	RopeTheta      float64 `json:"rope_theta"`
	RMSNormEps     float64 `json:"rms_norm_eps"`
	MaxSequenceLen int     `json:"max_sequence_length"`
	MaskTokenID    int     `json:"mask_token_id"`
	EOSTokenID     int     `json:"eos_token_id"`
	PadTokenID     int     `json:"pad_token_id"`
	// Causal marks an autoregressive model: causal attention, the logits
	// at a position predict the next token, decoded left to right.
	Causal bool `json:"causal,omitempty"`
}

// ErrConfig reports a configuration the engine cannot run faithfully.
var ErrConfig = errors.New("unsupported model config")

// MaxSequenceLimit bounds max_sequence_length: far above any canvas the
// engine is meant for (LLaDA's own models use 4096), low enough that a
// corrupt value is refused rather than trusted.
const MaxSequenceLimit = 1 << 17

// Ranges accepted for the floating-point settings: generous around what
// LLaMA-family models use (rope_theta 1e4 to 1e7, rms_norm_eps 1e-6 to 1e-5).
const (
	minRopeTheta  = 2
	maxRopeTheta  = 1e9
	maxRMSNormEps = 0.1
)

// HeadDim is the width of one attention head.
func (c *Config) HeadDim() int { return c.DModel / c.NHeads }

// KVDim is the width of the key and value projections.
func (c *Config) KVDim() int { return c.NKVHeads * c.HeadDim() }

// Validate checks that the numbers describe a model the engine can run.
func (c *Config) Validate() error {
	positive := []struct {
		key string
		v   int
	}{
		{"d_model", c.DModel}, {"n_heads", c.NHeads}, {"n_kv_heads", c.NKVHeads},
		{"n_layers", c.NLayers}, {"mlp_hidden_size", c.MLPHiddenSize},
		{"vocab_size", c.VocabSize}, {"embedding_size", c.EmbeddingSize},
		{"max_sequence_length", c.MaxSequenceLen},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("%w: %s = %d, want > 0", ErrConfig, p.key, p.v)
		}
	}
	if c.DModel%c.NHeads != 0 {
		return fmt.Errorf("%w: d_model %d is not a multiple of n_heads %d", ErrConfig, c.DModel, c.NHeads)
	}
	if c.HeadDim()%2 != 0 {
		return fmt.Errorf("%w: head dim %d is odd, RoPE needs it even", ErrConfig, c.HeadDim())
	}
	if c.NHeads%c.NKVHeads != 0 {
		return fmt.Errorf("%w: n_heads %d is not a multiple of n_kv_heads %d", ErrConfig, c.NHeads, c.NKVHeads)
	}
	if c.EmbeddingSize < c.VocabSize {
		return fmt.Errorf("%w: embedding_size %d < vocab_size %d", ErrConfig, c.EmbeddingSize, c.VocabSize)
	}
	if c.MaxSequenceLen > MaxSequenceLimit {
		return fmt.Errorf("%w: max_sequence_length = %d exceeds the limit of %d", ErrConfig, c.MaxSequenceLen, MaxSequenceLimit)
	}
	for _, id := range []struct {
		key string
		v   int
	}{{"mask_token_id", c.MaskTokenID}, {"eos_token_id", c.EOSTokenID}, {"pad_token_id", c.PadTokenID}} {
		if id.v < 0 || id.v >= c.EmbeddingSize {
			return fmt.Errorf("%w: %s = %d outside the vocabulary of %d", ErrConfig, id.key, id.v, c.EmbeddingSize)
		}
	}
	// Written as !(in range) so that NaN fails too.
	if !(c.RopeTheta >= minRopeTheta && c.RopeTheta <= maxRopeTheta) {
		return fmt.Errorf("%w: rope_theta = %v, want %v to %v", ErrConfig, c.RopeTheta, float64(minRopeTheta), maxRopeTheta)
	}
	if !(c.RMSNormEps > 0 && c.RMSNormEps <= maxRMSNormEps) {
		return fmt.Errorf("%w: rms_norm_eps = %v, want > 0 and <= %v", ErrConfig, c.RMSNormEps, maxRMSNormEps)
	}
	return nil
}

// ParseLLaDAConfig reads a LLaDA checkpoint's config.json. Options the
// engine does not implement are refused with an error naming the key, so a
// model is never run with arithmetic different from its training.
func ParseLLaDAConfig(data []byte) (Config, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	// What a faithful run requires of each option; absent keys take the
	// LLaDA defaults, which are these values.
	want := []struct {
		key  string
		want any
	}{
		{"block_type", "llama"},
		{"layer_norm_type", "rms"},
		{"activation_type", "silu"},
		{"rope", true},
		{"alibi", false},
		{"include_bias", false},
		{"include_qkv_bias", false},
		{"bias_for_layer_norm", false},
		{"weight_tying", false},
		{"scale_logits", false},
		{"multi_query_attention", false},
		{"clip_qkv", nil},
		{"attention_layer_norm", false},
		{"input_emb_norm", false},
	}
	for _, w := range want {
		v, ok := raw[w.key]
		if !ok || v == nil { // absent or null: the default, which is supported
			continue
		}
		if v != w.want {
			return Config{}, fmt.Errorf("%w: %s = %v is not implemented (want %v)", ErrConfig, w.key, v, orNull(w.want))
		}
	}
	c := Config{RopeTheta: 10000, RMSNormEps: 1e-5, MaskTokenID: 126336}
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	if c.NKVHeads == 0 {
		c.NKVHeads = c.NHeads
	}
	if c.EmbeddingSize == 0 {
		c.EmbeddingSize = c.VocabSize
	}
	if c.MLPHiddenSize == 0 {
		if ratio, ok := raw["mlp_ratio"].(float64); ok {
			c.MLPHiddenSize = int(ratio) * c.DModel
		}
	}
	if _, ok := raw["pad_token_id"]; !ok {
		c.PadTokenID = c.EOSTokenID
	}
	return c, c.Validate()
}

func orNull(v any) any {
	if v == nil {
		return "null"
	}
	return v
}

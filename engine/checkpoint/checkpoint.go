// Package checkpoint reads and writes LLaDA checkpoint folders, the layout
// of the public LLaDA checkpoints: config.json with the model's
// architecture, and the weights in safetensors under their
// model.transformer.* names, either in model.safetensors or in shards
// listed by model.safetensors.index.json.
package checkpoint

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"unmask/engine"
	"unmask/quant"
)

// File names inside a checkpoint folder.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
	IndexFile   = "model.safetensors.index.json"
)

// tokenizerKey is the safetensors metadata key under which Write stores the
// model's tokenizer (engine.MarshalTokenizer's JSON), so that a folder
// written from a model file converts back to the same model.
const tokenizerKey = "unmask.tokenizer"

// ErrCheckpoint reports a checkpoint folder whose weights do not match its
// configuration or whose files disagree.
var ErrCheckpoint = errors.New("bad checkpoint")

// Load reads a checkpoint folder into a float32 model. F32, BF16 and F16
// weights are widened to float32 exactly. Missing, unexpected and
// mis-shaped tensors are errors naming the tensor.
func Load(dir string) (*engine.Model, error) {
	cfgData, err := readSmallFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	cfg, err := engine.ParseLLaDAConfig(cfgData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	files, where, err := openWeights(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()

	// Nothing is sized from config.json before it agrees with the tensors
	// present, whose shapes the safetensors headers tie to the files' sizes.
	present := make(map[string][]int, len(where))
	for name, f := range where {
		present[name] = toInts(f.header.Tensors[name].Shape)
	}
	if err := cfg.CheckTensors(present); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, dir, err)
	}
	m := &engine.Model{Config: cfg}
	m.Weights.Layers = make([]engine.Layer, cfg.NLayers)
	for _, t := range m.Weights.Tensors() {
		f := where[t.Name]
		want := present[t.Name]
		data, err := f.readFloat32(t.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: tensor %s: %w", ErrCheckpoint, f.path, t.Name, err)
		}
		if t.Vector != nil {
			*t.Vector = data
		} else {
			*t.Matrix = quant.NewF32(data, want[0], want[1])
		}
	}
	if err := m.CheckFinite(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, dir, err)
	}
	for _, f := range files {
		if raw, ok := f.header.Metadata[tokenizerKey]; ok {
			if m.Tokenizer, err = engine.UnmarshalTokenizer(json.RawMessage(raw)); err != nil {
				return nil, fmt.Errorf("%s: %w", f.path, err)
			}
		}
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, dir, err)
	}
	return m, nil
}

// openWeights opens model.safetensors, or the shards the index lists, and
// says which file holds each tensor.
func openWeights(dir string) (files []*stFile, where map[string]*stFile, err error) {
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	where = map[string]*stFile{}
	indexData, err := readSmallFile(filepath.Join(dir, IndexFile))
	if errors.Is(err, os.ErrNotExist) {
		f, err := openSafetensors(filepath.Join(dir, WeightsFile))
		if err != nil {
			return nil, nil, err
		}
		for name := range f.header.Tensors {
			where[name] = f
		}
		return []*stFile{f}, where, nil
	}
	if err != nil {
		return nil, nil, err
	}
	indexPath := filepath.Join(dir, IndexFile)
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(indexData, &index); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, nil, fmt.Errorf("%w: %s has no weight_map", ErrCheckpoint, indexPath)
	}
	shards := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, s := range index.WeightMap {
			if !seen[s] {
				seen[s] = true
				if !yield(s) {
					return
				}
			}
		}
	})
	for _, shard := range shards {
		if shard == "" || shard != filepath.Base(shard) || shard == "." || shard == ".." || strings.ContainsRune(shard, '\\') {
			return nil, nil, fmt.Errorf("%w: %s names shard %q outside the folder", ErrCheckpoint, indexPath, shard)
		}
		f, err := openSafetensors(filepath.Join(dir, shard))
		if err != nil {
			return files, nil, err
		}
		files = append(files, f)
		for name := range f.header.Tensors {
			if other, dup := where[name]; dup {
				return files, nil, fmt.Errorf("%w: tensor %s is in both %s and %s", ErrCheckpoint, name, other.path, f.path)
			}
			if index.WeightMap[name] != shard {
				return files, nil, fmt.Errorf("%w: %s holds tensor %s, which %s does not assign to it", ErrCheckpoint, f.path, name, indexPath)
			}
			where[name] = f
		}
	}
	for name, shard := range index.WeightMap {
		if _, ok := where[name]; !ok {
			return files, nil, fmt.Errorf("%w: %s puts tensor %s in %s, which lacks it", ErrCheckpoint, indexPath, name, shard)
		}
	}
	return files, where, nil
}

// maxJSONFile bounds config.json and the shard index: LLaDA-8B's are 1.2 KB
// and 30 KB.
const maxJSONFile = 16 << 20

// readSmallFile reads a JSON file of the folder, refusing one over
// maxJSONFile without reading it (a symlink to /dev/zero, say).
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJSONFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJSONFile {
		return nil, fmt.Errorf("%w: %s is over the %d byte limit", ErrCheckpoint, path, maxJSONFile)
	}
	return data, nil
}

// Write stores m as a checkpoint folder that LLaDA tooling loads:
// config.json with every LLaDA key, and model.safetensors in F32 (int8
// matrices dequantised) under the model.transformer.* names. The folder is
// created if needed; existing files of the same names are replaced. A
// tokenizer, if any, goes into the safetensors metadata.
func Write(dir string, m *engine.Model) error {
	if err := m.Validate(); err != nil {
		return err
	}
	metadata := map[string]string{"format": "pt"}
	if m.Tokenizer != nil {
		raw, err := engine.MarshalTokenizer(m.Tokenizer)
		if err != nil {
			return err
		}
		metadata[tokenizerKey] = string(raw)
	}
	var tensors []stTensor
	for _, t := range m.Weights.Tensors() {
		switch {
		case t.Vector != nil:
			tensors = append(tensors, stTensor{t.Name, t.Shape, *t.Vector})
		case t.Matrix.DType == quant.F32:
			tensors = append(tensors, stTensor{t.Name, t.Shape, t.Matrix.F32})
		default:
			tensors = append(tensors, stTensor{t.Name, t.Shape, t.Matrix.Dequantize()})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, err := json.MarshalIndent(LLaDAConfig(&m.Config), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o644); err != nil {
		return err
	}
	// A stale index would make readers look for shards instead.
	if err := os.Remove(filepath.Join(dir, IndexFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.Create(filepath.Join(dir, WeightsFile))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = writeSafetensors(bw, tensors, metadata)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LLaDAConfig is the config.json of a LLaDA checkpoint for c: the sizes and
// token ids from c and the architecture flags the engine implements, with
// the values LLaDA's own checkpoints use. The auto_map entries name the
// LLaDA modelling code, which tooling loads with trust_remote_code.
func LLaDAConfig(c *engine.Config) map[string]any {
	return map[string]any{
		"architectures": []string{"LLaDAModelLM"},
		"auto_map": map[string]string{
			"AutoConfig":           "configuration_llada.LLaDAConfig",
			"AutoModel":            "modeling_llada.LLaDAModelLM",
			"AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
		},
		"model_type":          "llada",
		"d_model":             c.DModel,
		"n_heads":             c.NHeads,
		"n_kv_heads":          c.NKVHeads,
		"n_layers":            c.NLayers,
		"mlp_hidden_size":     c.MLPHiddenSize,
		"mlp_ratio":           max(1, c.MLPHiddenSize/c.DModel),
		"vocab_size":          c.VocabSize,
		"embedding_size":      c.EmbeddingSize,
		"max_sequence_length": c.MaxSequenceLen,
		"rope_theta":          c.RopeTheta,
		"rms_norm_eps":        c.RMSNormEps,
		"mask_token_id":       c.MaskTokenID,
		"eos_token_id":        c.EOSTokenID,
		"pad_token_id":        c.PadTokenID,

		"block_type":                       "llama",
		"block_group_size":                 1,
		"layer_norm_type":                  "rms",
		"layer_norm_with_affine":           true,
		"activation_type":                  "silu",
		"rope":                             true,
		"rope_full_precision":              true,
		"alibi":                            false,
		"alibi_bias_max":                   8.0,
		"include_bias":                     false,
		"include_qkv_bias":                 false,
		"bias_for_layer_norm":              false,
		"attention_layer_norm":             false,
		"attention_layer_norm_with_affine": true,
		"input_emb_norm":                   false,
		"multi_query_attention":            false,
		"clip_qkv":                         nil,
		"weight_tying":                     false,
		"scale_logits":                     false,
		"flash_attention":                  false,
		"attention_dropout":                0.0,
		"residual_dropout":                 0.0,
		"embedding_dropout":                0.0,
		"init_device":                      "cpu",
		"init_fn":                          "normal",
		"init_std":                         0.02,
		"precision":                        "fp32",
		"torch_dtype":                      "float32",
		"use_cache":                        false,
	}
}

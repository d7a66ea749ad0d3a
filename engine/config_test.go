package engine

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLLaDAConfig(t *testing.T) {
	data, err := os.ReadFile("../testdata/llada-tiny-bf16-gqa/config.json")
	require.NoError(t, err)
	c, err := ParseLLaDAConfig(data)
	require.NoError(t, err)
	assert.Equal(t, Config{DModel: 96, NHeads: 6, NKVHeads: 2, NLayers: 3, MLPHiddenSize: 256,
		VocabSize: 500, EmbeddingSize: 500, RopeTheta: 10000, RMSNormEps: 1e-6, MaxSequenceLen: 128,
		MaskTokenID: 499, EOSTokenID: 497, PadTokenID: 497}, c)
	assert.Equal(t, 16, c.HeadDim())
	assert.Equal(t, 32, c.KVDim())
}

func TestParseLLaDAConfigRefuses(t *testing.T) {
	base := `"d_model": 64, "n_heads": 4, "n_layers": 2, "mlp_hidden_size": 128, "vocab_size": 100, "max_sequence_length": 64, "mask_token_id": 99, "eos_token_id": 98`
	tests := []struct {
		name, extra, wantKey string
	}{
		{"plain", ``, ""},
		{"null options take the default", `, "multi_query_attention": null, "clip_qkv": null`, ""},
		{"mlp ratio", `, "mlp_hidden_size": 0, "mlp_ratio": 2`, ""},
		{"biases", `, "include_bias": true`, "include_bias"},
		{"qkv bias", `, "include_qkv_bias": true`, "include_qkv_bias"},
		{"alibi", `, "alibi": true`, "alibi"},
		{"layer norm", `, "layer_norm_type": "default"`, "layer_norm_type"},
		{"sequential block", `, "block_type": "sequential"`, "block_type"},
		{"weight tying", `, "weight_tying": true`, "weight_tying"},
		{"scaled logits", `, "scale_logits": true`, "scale_logits"},
		{"gelu", `, "activation_type": "gelu"`, "activation_type"},
		{"no rope", `, "rope": false`, "rope"},
		{"clipped qkv", `, "clip_qkv": 8`, "clip_qkv"},
		{"heads do not divide", `, "n_heads": 5`, "n_heads"},
		{"kv heads do not divide", `, "n_kv_heads": 3`, "n_kv_heads"},
		{"mask outside vocabulary", `, "mask_token_id": 100`, "mask_token_id"},
		{"negative eps", `, "rms_norm_eps": -1`, "rms_norm_eps"},
		{"no layers", `, "n_layers": 0`, "n_layers"},
		{"pad outside vocabulary", `, "pad_token_id": 100`, "pad_token_id"},
		{"negative pad", `, "pad_token_id": -1`, "pad_token_id"},
		{"rope_theta 0", `, "rope_theta": 0`, "rope_theta"},
		{"rope_theta 1e12", `, "rope_theta": 1e12`, "rope_theta"},
		{"rms_norm_eps 1", `, "rms_norm_eps": 1`, "rms_norm_eps"},
		{"max_sequence_length 1e9", `, "max_sequence_length": 1000000000`, "max_sequence_length"},
		{"largest max_sequence_length", `, "max_sequence_length": 131072`, ""},
	}
	for _, tt := range tests {
		c, err := ParseLLaDAConfig([]byte("{" + base + tt.extra + "}"))
		if tt.wantKey == "" {
			require.NoError(t, err, tt.name)
			assert.Equal(t, 128, c.MLPHiddenSize, tt.name)
			assert.Equal(t, 4, c.NKVHeads, tt.name)
			assert.Equal(t, 98, c.PadTokenID, tt.name)
			continue
		}
		require.ErrorIs(t, err, ErrConfig, tt.name)
		assert.Contains(t, err.Error(), tt.wantKey, tt.name)
	}
	_, err := ParseLLaDAConfig([]byte("{not json"))
	assert.Error(t, err)
}

// FuzzParseLLaDAConfig: any bytes give a valid config or an error, never a
// panic, and an accepted config passes Validate.
func FuzzParseLLaDAConfig(f *testing.F) {
	for _, name := range []string{"llada-tiny-f32", "llada-tiny-bf16-gqa"} {
		data, err := os.ReadFile("../testdata/" + name + "/config.json")
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(`{"d_model": 8, "n_heads": 2, "n_layers": 1, "mlp_ratio": 1e300, "vocab_size": 4, "max_sequence_length": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseLLaDAConfig(data)
		if err == nil {
			require.NoError(t, c.Validate())
		}
	})
}

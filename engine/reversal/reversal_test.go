package reversal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"not JSON", "{", "reversal questions"},
		{"uneven", `{"forward":[{"question":"a","answer":"b"}],"backward":[],"canvas":8}`, "1 forward and 0 backward"},
		{"no canvas", `{"forward":[{"question":"a","answer":"b"}],"backward":[{"question":"b","answer":"a"}]}`, "canvas 0"},
	} {
		_, err := Parse([]byte(tt.data))
		require.ErrorIs(t, err, ErrQuestions, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "web", "models", File))
	require.NoError(t, err)
	set, err := Parse(data)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(set.Forward), 100)
	assert.Equal(t, 8, set.Canvas)
}

func TestOptionsAndScore(t *testing.T) {
	o, err := Options(6, 8)
	require.NoError(t, err)
	assert.Equal(t, engine.Options{Steps: 2, GenLength: 2, BlockLength: 2, Remasking: engine.LowConfidence}, o)
	require.NoError(t, o.Validate())
	_, err = Options(8, 8)
	assert.ErrorIs(t, err, ErrQuestions)

	it := Item{Question: "Who is Tana's mentor?", Answer: "Fesan"}
	assert.True(t, Correct(" Fesan", it))
	assert.False(t, Correct("Fesan Fesan", it))
	assert.False(t, Correct("fesan", it))
}

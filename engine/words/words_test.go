package words

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	tok, err := New([]string{"Who", "is", "'s", "mentor", "?", ".", "Zorvak", "Quill", "Whose"}, []string{"mask", "eos"})
	require.NoError(t, err)
	return tok
}

func TestEncodeDecode(t *testing.T) {
	tok := testTokenizer(t)
	eos, _ := tok.Special("eos")
	unk, _ := tok.Special("unk")
	mask, _ := tok.Special("<|mask|>")
	assert.Equal(t, 12, tok.VocabSize())
	assert.Equal(t, []int{9, 10, 11}, []int{eos, unk, mask}, "specials after the words, mask last")
	tests := []struct {
		text string
		ids  []int
		back string // "" : the text itself
	}{
		{"Who is Zorvak's mentor?", []int{0, 1, 6, 2, 3, 4}, ""},
		{"Zorvak's mentor is Quill.", []int{6, 2, 3, 1, 7, 5}, ""},
		{"Whose mentor is Quill?<|eos|>", []int{8, 3, 1, 7, 4, eos}, "Whose mentor is Quill? <|eos|>"},
		{"  Who   is\nQuill ", []int{0, 1, 7}, "Who is Quill"},
		{"Who is Bob?", []int{0, 1, unk, 4}, "Who is <|unk|>?"},
		{"Who <|nope|> is", []int{0, unk, 1}, "Who <|unk|> is"},
		{"Who <| is", []int{0, unk, 1}, "Who <|unk|> is"},
		{"Quill's", []int{7, 2}, ""},
		{"", nil, ""},
	}
	for _, tt := range tests {
		ids := tok.Encode(tt.text)
		assert.Equal(t, tt.ids, ids, tt.text)
		want := tt.back
		if want == "" {
			want = tt.text
		}
		assert.Equal(t, want, tok.Decode(ids), tt.text)
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name            string
		vocab, specials []string
	}{
		{"two words in one", []string{"a b"}, nil},
		{"punctuation with a word", []string{"a?"}, nil},
		{"duplicate", []string{"a", "a"}, nil},
		{"bad special", []string{"a"}, []string{"<|x|>"}},
		{"duplicate special", []string{"a"}, []string{"eos", "eos"}},
	}
	for _, tt := range tests {
		_, err := New(tt.vocab, tt.specials)
		assert.ErrorIs(t, err, ErrFormat, tt.name)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	tok := testTokenizer(t)
	data, err := json.Marshal(tok)
	require.NoError(t, err)
	var back Tokenizer
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, tok.Encode("Whose mentor is Zorvak?<|mask|>"), back.Encode("Whose mentor is Zorvak?<|mask|>"))
	assert.Equal(t, tok.VocabSize(), back.VocabSize())
	for _, bad := range []string{
		`{"type":"byte-bpe","version":1,"words":["a"],"specials":[]}`,
		`{"type":"words","version":1,"words":["a","a"],"specials":["unk"]}`,
		`{"type":"words","version":1,"words":["a"],"specials":["mask","unk"]}`,
		`[1]`,
	} {
		assert.ErrorIs(t, json.Unmarshal([]byte(bad), &back), ErrFormat, bad)
	}
}

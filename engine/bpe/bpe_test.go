package bpe

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWords(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"Hello  world", []string{"Hello", " ", " world"}},
		{"don't you'll", []string{"don", "'t", " you", "'ll"}},
		{"\"Yes,\" said he.", []string{"\"", "Yes", ",\"", " said", " he", "."}},
		{"line\nnext", []string{"line", "\n", "next"}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"end  ", []string{"end", "  "}},
		{"year 1811!", []string{"year", " 1811", "!"}},
		{"café ünd", []string{"café", " ünd"}},
		{"x \xff\xfe y", []string{"x", " \xff\xfe", " y"}},
		{" \t x", []string{" \t", " x"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Words(tt.text), "Words(%q)", tt.text)
	}
}

// tinyCorpus is small enough to work its merges out by hand:
// words "aaab", " aaab", " aab"; pair counts aa 5, ab 3, " a" 2.
//  1. (a,a) -> 256; then (" ",256), (a,b), (256,a) tie at 2 and the
//     smallest pair wins:
//  2. (" ",256) -> 257
//  3. (a,b) -> 258; every pair left occurs once, so training stops.
var tinyCorpus = []string{"aaab aaab aab"}

func TestTrainKnownMerges(t *testing.T) {
	tok, err := Train(slices.Values(tinyCorpus), 1000, DefaultSpecials)
	require.NoError(t, err)
	assert.Equal(t, []Pair{{'a', 'a'}, {' ', 256}, {'a', 'b'}}, tok.Merges())
	assert.Equal(t, 256+3+4, tok.VocabSize())
	assert.Equal(t, []int{256, 258, 257, 'b'}, tok.Encode("aaab aab"))
	assert.Equal(t, "aa", tok.Token(256))
	assert.Equal(t, " aa", tok.Token(257))
}

func TestTrainVocabSizeLimit(t *testing.T) {
	tok, err := Train(slices.Values(tinyCorpus), 256+1+4, DefaultSpecials)
	require.NoError(t, err)
	assert.Equal(t, []Pair{{'a', 'a'}}, tok.Merges())
	assert.Equal(t, 261, tok.VocabSize())

	_, err = Train(slices.Values(tinyCorpus), 258, DefaultSpecials)
	assert.Error(t, err)
}

func TestSpecials(t *testing.T) {
	tok, err := Train(slices.Values(tinyCorpus), 300, []string{Mask, EOS, User, Assistant})
	require.NoError(t, err)
	n := tok.VocabSize()
	mask, ok := tok.Special(Mask)
	require.True(t, ok)
	assert.Equal(t, n-1, mask, "mask takes the last id whatever the order given")
	eos, ok := tok.Special("<|eos|>")
	require.True(t, ok)
	assert.Equal(t, n-4, eos)
	assert.Equal(t, "<|mask|>", tok.Token(mask))
	assert.Equal(t, "<|user|>", tok.Token(n-3))
	_, ok = tok.Special("pad")
	assert.False(t, ok)
	assert.True(t, tok.IsSpecial(mask))
	assert.False(t, tok.IsSpecial(0))
	assert.Equal(t, "aa<|eos|>\uFFFD", tok.Decode([]int{256, eos, n}))

	for _, text := range []string{"<|mask|>", "<|eos|> <|user|>assistant", "mask"} {
		for _, id := range tok.Encode(text) {
			assert.False(t, tok.IsSpecial(id), "Encode(%q) produced special id %d", text, id)
		}
	}
}

func TestTokenDisplaysPartialUTF8(t *testing.T) {
	tok, err := New([]Pair{{0xC3, 0xA9}, {'a', 0xC3}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "é", tok.Token(256))
	assert.Equal(t, `a\xC3`, tok.Token(257))
	assert.Equal(t, `\xFF`, tok.Token(0xFF))
	assert.Equal(t, "<|invalid 258|>", tok.Token(258))
}

func TestNewRejectsBadMerges(t *testing.T) {
	for _, merges := range [][]Pair{
		{{256, 'a'}},
		{{'a', -1}},
		{{'a', 'b'}, {'a', 'b'}},
	} {
		_, err := New(merges, nil)
		assert.ErrorIs(t, err, ErrFormat, "merges %v", merges)
	}
	_, err := New(nil, []string{"eos", "eos"})
	assert.ErrorIs(t, err, ErrFormat)
	_, err = New(nil, []string{"<|eos|>"})
	assert.ErrorIs(t, err, ErrFormat)
}

// referenceTrain is BPE training written the slow, obvious way: recount
// every pair of every word after each merge.
func referenceTrain(texts []string, nMerges int) []Pair {
	counts := map[string]int{}
	for _, text := range texts {
		for _, w := range Words(text) {
			counts[w]++
		}
	}
	var words [][]int
	var freqs []int
	for w, c := range counts {
		syms := make([]int, len(w))
		for i := range len(w) {
			syms[i] = int(w[i])
		}
		words = append(words, syms)
		freqs = append(freqs, c)
	}
	var merges []Pair
	for len(merges) < nMerges {
		pairs := map[Pair]int{}
		for i, syms := range words {
			for j := 0; j+1 < len(syms); j++ {
				pairs[Pair{syms[j], syms[j+1]}] += freqs[i]
			}
		}
		best, bestN := Pair{}, 1
		for p, n := range pairs {
			if n > bestN || (n == bestN && n > 1 && (p.Left < best.Left || (p.Left == best.Left && p.Right < best.Right))) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		id := 256 + len(merges)
		merges = append(merges, best)
		for i, syms := range words {
			var out []int
			for j := 0; j < len(syms); j++ {
				if j+1 < len(syms) && syms[j] == best.Left && syms[j+1] == best.Right {
					out = append(out, id)
					j++
					continue
				}
				out = append(out, syms[j])
			}
			words[i] = out
		}
	}
	return merges
}

func randomText(r *rand.Rand, n int) string {
	const alphabet = "aab  bcd\n'e.é"
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func TestTrainMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		texts := []string{randomText(r, 200+r.IntN(400)), randomText(r, 50)}
		want := referenceTrain(texts, 60)
		tok, err := Train(slices.Values(texts), 256+60, nil)
		require.NoError(t, err)
		require.Equal(t, want, tok.Merges(), "trial %d", trial)
		// Encoding a training text gives the segmentation training made.
		for _, text := range texts {
			assert.Equal(t, text, tok.Decode(tok.Encode(text)))
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	tok := trainedTokenizer(t)
	data, err := json.Marshal(tok)
	require.NoError(t, err)
	var back Tokenizer
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, tok.Merges(), back.Merges())
	assert.Equal(t, tok.Specials(), back.Specials())
	assert.Equal(t, tok.VocabSize(), back.VocabSize())
	text := "It is a truth universally acknowledged, that a single man..."
	assert.Equal(t, tok.Encode(text), back.Encode(text))
	for id := range tok.VocabSize() {
		require.Equal(t, tok.Token(id), back.Token(id))
	}
}

func TestUnmarshalRejects(t *testing.T) {
	tests := map[string]string{
		"not an object": `[1, 2]`,
		"wrong type":    `{"type":"wordpiece","version":1,"pretokenizer":"gpt2","vocab_size":256,"merges":[],"specials":[]}`,
		"wrong version": `{"type":"byte-bpe","version":2,"pretokenizer":"gpt2","vocab_size":256,"merges":[],"specials":[]}`,
		"pretokenizer":  `{"type":"byte-bpe","version":1,"pretokenizer":"bert","vocab_size":256,"merges":[],"specials":[]}`,
		"odd merges":    `{"type":"byte-bpe","version":1,"pretokenizer":"gpt2","vocab_size":257,"merges":[97],"specials":[]}`,
		"forward ref":   `{"type":"byte-bpe","version":1,"pretokenizer":"gpt2","vocab_size":257,"merges":[97,300],"specials":[]}`,
		"vocab size":    `{"type":"byte-bpe","version":1,"pretokenizer":"gpt2","vocab_size":300,"merges":[97,98],"specials":[]}`,
		"mask not last": `{"type":"byte-bpe","version":1,"pretokenizer":"gpt2","vocab_size":258,"merges":[],"specials":["mask","eos"]}`,
	}
	for name, data := range tests {
		var tok Tokenizer
		assert.ErrorIs(t, json.Unmarshal([]byte(data), &tok), ErrFormat, name)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := trainedTokenizer(t)
	text := strings.Repeat("She was the youngest of the two daughters. ", 20)
	want := tok.Encode(text)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				assert.Equal(t, want, tok.Encode(text))
			}
		})
	}
	wg.Wait()
}

// sampleText is a few paragraphs of ordinary English to train on.
const sampleText = `Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some of the best blessings of existence; and had lived nearly twenty-one years in the world with very little to distress or vex her.
She was the youngest of the two daughters of a most affectionate, indulgent father; and had, in consequence of her sister's marriage, been mistress of his house from a very early period.
In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.
"My dear Mr. Bennet," said his lady to him one day, "have you heard that Netherfield Park is let at last?"`

func trainedTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Train(slices.Values(strings.Split(sampleText, "\n")), 320, DefaultSpecials)
	require.NoError(t, err)
	require.Equal(t, 320, tok.VocabSize())
	return tok
}

func FuzzRoundTrip(f *testing.F) {
	tok := trainedTokenizer(f)
	f.Add("")
	f.Add(sampleText)
	f.Add("<|mask|><|eos|>")
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() || tok.IsSpecial(id) {
				t.Fatalf("Encode(%q) produced id %d", text, id)
			}
		}
		if got := tok.Decode(ids); got != text {
			t.Fatalf("Decode(Encode(%q)) = %q", text, got)
		}
		if got := strings.Join(Words(text), ""); got != text {
			t.Fatalf("Words(%q) joins to %q", text, got)
		}
	})
}

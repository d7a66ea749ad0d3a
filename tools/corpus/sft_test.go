package main

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine/bpe"
)

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"One sentence without an end", []string{"One sentence without an end"}},
		{"First. Second! Third? Fourth.", []string{"First.", "Second!", "Third?", "Fourth."}},
		{`"Is it?" said he. "Yes." She left.`, []string{`"Is it?" said he.`, `"Yes."`, "She left."}},
		{"Mr. Knightley came. Mrs. Weston stayed.", []string{"Mr. Knightley came.", "Mrs. Weston stayed."}},
		{"It was so (she thought.) Then rain.", []string{"It was so (she thought.)", "Then rain."}},
		{"no capital. after it", []string{"no capital. after it"}},
		{"Sing, O heavens; and be joyful, O earth. For the LORD hath comforted.", []string{"Sing, O heavens; and be joyful, O earth.", "For the LORD hath comforted."}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, splitSentences(tt.in), "splitSentences(%q)", tt.in)
	}
}

// wordLimits counts words instead of tokens, so the tests need no tokenizer.
var wordLimits = sftLimits{MaxPrompt: 64, MaxResponse: 56, Count: wordCount}

var testNovel = Document{Source: "austen", Work: "Emma", Title: "Emma, Chapter 1", Paragraphs: []string{
	"Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some of the best blessings of existence. She was the youngest of the two daughters of a most affectionate, indulgent father. Her mother had died too long ago for her to have more than an indistinct remembrance of her caresses.",
	"Sixteen years had Miss Taylor been in Mr. Woodhouse's family, less as a governess than a friend. Between them it was more the intimacy of sisters.",
}}

var testDictionary = Document{Source: "wordnet", Work: "WordNet verbs", Title: "WordNet verbs, part 1", Paragraphs: []string{
	`stimulate, arouse, brace (verb): cause to be alert and energetic; "Coffee and tea stimulate me"; "This herbal infusion doesn't stimulate"`,
	`run, flow (verb): move along, of liquids; "Water flowed into the cave"`,
}}

// generate runs task many times over every paragraph of d.
func generate(t *testing.T, make func(*rand.Rand, *Document, int, sftLimits) (sftPair, bool), d Document) []sftPair {
	t.Helper()
	return generateWith(t, make, d, wordLimits)
}

// generateWith is generate under other limits.
func generateWith(t *testing.T, make func(*rand.Rand, *Document, int, sftLimits) (sftPair, bool), d Document, l sftLimits) []sftPair {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	var out []sftPair
	for i := range d.Paragraphs {
		for range 30 {
			if p, ok := make(r, &d, i, l); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// body is the prompt less its instruction line.
func body(prompt string) string {
	_, after, ok := strings.Cut(prompt, "\n")
	if !ok {
		return prompt
	}
	return after
}

func TestMakeContinue(t *testing.T) {
	pairs := generate(t, makeContinue, testNovel)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		text := strings.Join(testNovel.Paragraphs, " ")
		assert.Contains(t, text, body(p.Prompt)+" "+p.Response, "the response continues the prompt's passage")
	}
	assert.Empty(t, generate(t, makeContinue, testDictionary))
}

func TestMakePrevious(t *testing.T) {
	pairs := generate(t, makePrevious, testNovel)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		text := strings.Join(testNovel.Paragraphs, " ")
		assert.Contains(t, text, p.Response+" "+body(p.Prompt), "the response is the sentence right before")
	}
}

func TestMakeRepeat(t *testing.T) {
	pairs := generate(t, makeRepeat, testNovel)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		assert.Equal(t, body(p.Prompt), p.Response, "the answer is the prompt's sentence")
		n := wordCount(p.Response)
		assert.True(t, n >= 6 && n <= 40, "a sentence of 6 to 40 words: %q", p.Response)
	}
	assert.Empty(t, generate(t, makeRepeat, testDictionary))
}

func TestMakeFill(t *testing.T) {
	pairs := generate(t, makeFill, testNovel)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		blanked := body(p.Prompt)
		n := strings.Count(blanked, "___")
		assert.True(t, n >= 1 && n <= 3, "1 to 3 blanks: %q", blanked)
		pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(blanked), "___", "[A-Za-z]{4,}") + "$"
		assert.Regexp(t, pattern, p.Response, "the response is the sentence with the blanks filled")
		assert.NotEqual(t, blanked, p.Response)
	}
}

func TestMakeWords(t *testing.T) {
	pairs := generate(t, makeWords, testNovel)
	require.NotEmpty(t, pairs)
	list := regexp.MustCompile(`: ([^:]+)\.$`)
	for _, p := range pairs {
		assert.LessOrEqual(t, wordCount(p.Response), 24, "a short sentence: %q", p.Response)
		m := list.FindStringSubmatch(p.Prompt)
		require.NotNil(t, m, p.Prompt)
		words := strings.Split(m[1], ", ")
		assert.True(t, len(words) >= 2 && len(words) <= 5, p.Prompt)
		rest := strings.ToLower(p.Response)
		for _, w := range words {
			assert.False(t, stopWords[w], "stop word %q given", w)
			at := strings.Index(rest, strings.ToLower(w))
			require.GreaterOrEqual(t, at, 0, "%q given in the order of %q", words, p.Response)
			rest = rest[at+len(w):]
		}
	}
}

func TestMakeSource(t *testing.T) {
	pairs := generate(t, makeSource, testNovel)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		assert.Equal(t, "Emma, a novel by Jane Austen.", p.Response)
		assert.LessOrEqual(t, wordCount(p.Prompt), wordLimits.MaxPrompt)
	}
	bible := Document{Source: "kjv", Work: "Genesis", Title: "Genesis 1", Paragraphs: []string{"In the beginning God created the heaven and the earth."}}
	p, ok := makeSource(rand.New(rand.NewPCG(1, 1)), &bible, 0, wordLimits)
	require.True(t, ok)
	assert.Equal(t, "The book of Genesis, in the King James Bible.", p.Response)
	assert.Empty(t, generate(t, makeSource, testDictionary))
}

func TestMakeDefine(t *testing.T) {
	pairs := generate(t, makeDefine, testDictionary)
	require.NotEmpty(t, pairs)
	seen := map[string]bool{}
	for _, p := range pairs {
		seen[p.Response] = true
		assert.NotContains(t, p.Prompt, "arouse", "only the first word is asked about")
	}
	assert.True(t, seen["Cause to be alert and energetic."])
	assert.True(t, seen["Coffee and tea stimulate me."])
	assert.True(t, seen["Move along, of liquids."])
	assert.False(t, seen["Water flowed into the cave."], "an example that does not use the word is not an example of it")
	assert.Empty(t, generate(t, makeDefine, testNovel))
	familiar := wordLimits
	familiar.Familiar = func(w string) bool { return w == "run" }
	for _, p := range generateWith(t, makeDefine, testDictionary, familiar) {
		assert.Contains(t, p.Prompt, `"run"`, "only familiar words are asked about")
	}
}

func TestFamiliarWords(t *testing.T) {
	got := familiarWords([]Document{testNovel, testDictionary}, 2)
	assert.True(t, got["her"], `"Her" and "her" are one word`)
	assert.True(t, got["woodhouse"], "names count, lower-cased")
	assert.False(t, got["father"], "used once")
	assert.False(t, got["stimulate"], "dictionary entries are not prose")
}

func TestMakeSFTBoundsAndDeterminism(t *testing.T) {
	docs := []Document{testNovel, testDictionary}
	tight := sftLimits{MaxPrompt: 30, MaxResponse: 12, Count: wordCount}
	a := makeSFT(rand.New(rand.NewPCG(3, 0)), docs, 1, tight)
	b := makeSFT(rand.New(rand.NewPCG(3, 0)), docs, 1, tight)
	assert.Equal(t, a, b, "same seed, same set")
	for _, p := range a {
		assert.LessOrEqual(t, wordCount(p.Prompt), 30)
		assert.LessOrEqual(t, wordCount(p.Response), 12)
		assert.NotEmpty(t, p.Task)
		assert.Contains(t, []string{testNovel.Title, testDictionary.Title}, p.Source)
	}
	assert.Empty(t, makeSFT(rand.New(rand.NewPCG(3, 0)), docs, 0, tight))
}

func TestBuildSFTKeepsHeldoutApart(t *testing.T) {
	var text []string
	for _, d := range []Document{testNovel, testDictionary} {
		text = append(text, d.Paragraphs...)
	}
	tok, err := bpe.Train(slices.Values(text), 400, bpe.DefaultSpecials)
	require.NoError(t, err)
	dir := t.TempDir()
	o := options{Out: dir, SFTSeed: 1, SFTPerPara: 1, SFTMaxTokens: 56, SFTMaxPrompt: 60}
	counts, err := buildSFT(o, map[string][]Document{"train": {testNovel}, "heldout": {testDictionary}}, tok)
	require.NoError(t, err)
	for _, part := range splits {
		f, err := os.Open(filepath.Join(dir, "sft-"+part+".jsonl"))
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			var p sftPair
			require.NoError(t, json.Unmarshal(sc.Bytes(), &p))
			want := map[string]string{"train": testNovel.Title, "heldout": testDictionary.Title}[part]
			assert.Equal(t, want, p.Source)
			assert.LessOrEqual(t, len(tok.Encode(p.Response)), 56)
			assert.LessOrEqual(t, len(tok.Encode(p.Prompt)), 60)
			n++
		}
		f.Close()
		assert.Equal(t, counts[part], n)
		assert.Positive(t, n, part)
	}
}

func TestBuildSFTAsksOnlyFamiliarWords(t *testing.T) {
	tok, err := bpe.Train(slices.Values(append(slices.Clone(testNovel.Paragraphs), testDictionary.Paragraphs...)), 400, bpe.DefaultSpecials)
	require.NoError(t, err)
	o := options{Out: t.TempDir(), SFTSeed: 1, SFTPerPara: 1, SFTMaxTokens: 56, SFTMaxPrompt: 60, DefineMinCount: 1}
	counts, err := buildSFT(o, map[string][]Document{"train": {testNovel}, "heldout": {testDictionary}}, tok)
	require.NoError(t, err)
	assert.Zero(t, counts["heldout.define"], "the novel never uses stimulate or run")
	assert.Positive(t, counts["train"])
}

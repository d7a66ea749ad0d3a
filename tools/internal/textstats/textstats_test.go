package textstats

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{"It is a truth, universally acknowledged.", []string{"it", "is", "a", "truth", "universally", "acknowledged"}},
		{"\"Don't,\" said Elinor; 'tis the boys' house.", []string{"don't", "said", "elinor", "tis", "the", "boys", "house"}},
		{"won’t 12:34 -- ' ''", []string{"won't"}},
		{"line\nbreak\tand  spaces", []string{"line", "break", "and", "spaces"}},
	} {
		got := Words(tc.text)
		if len(tc.want) == 0 {
			assert.Empty(t, got, tc.text)
			continue
		}
		assert.Equal(t, tc.want, got, tc.text)
	}
}

func TestMeasure(t *testing.T) {
	dict := Dictionary{"the": true, "cat": true, "sat": true, "on": true, "mat": true}
	for _, tc := range []struct {
		name  string
		texts []string
		dict  Dictionary
		want  Stats
	}{
		{"none", nil, dict, Stats{DictionaryShare: -1}},
		{"no words", []string{",,,", ""}, dict, Stats{Samples: 2, DictionaryShare: -1}},
		// "the cat sat on the mat" has 5 bigrams, all different; the
		// second sample repeats "the cat" and adds "cat zzz": 7 bigrams,
		// 6 distinct. 9 of the 10 words are known.
		{"two samples", []string{"The cat sat on the mat.", "the cat zzz"}, dict, Stats{
			Samples: 2, Words: 9, WordsPerSample: 4.5, Bigrams: 7, DistinctBigrams: 6, Distinct2: 6.0 / 7,
			KnownWords: 8, DictionaryShare: 8.0 / 9}},
		{"no dictionary", []string{"the the the"}, nil, Stats{
			Samples: 1, Words: 3, WordsPerSample: 3, Bigrams: 2, DistinctBigrams: 1, Distinct2: 0.5, DictionaryShare: -1}},
		{"bigrams do not cross samples", []string{"cat", "sat"}, dict, Stats{
			Samples: 2, Words: 2, WordsPerSample: 1, KnownWords: 2, DictionaryShare: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Measure(tc.texts, tc.dict))
		})
	}
}

func TestWordF1(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		f1        float64
	}{
		{"The cat sat.", "the cat sat", 1},
		{"sat the cat", "the cat sat", 1},
		{"", "the cat", 0},
		{"dog", "the cat", 0},
		// 2 common of 3 got and 4 want: P 2/3, R 1/2, F1 4/7.
		{"the cat ran", "the cat sat down", 4.0 / 7},
		// repeated words count once per occurrence in the reference.
		{"the the the", "the cat", 2 * (1.0 / 3) * 0.5 / (1.0/3 + 0.5)},
	} {
		assert.InDelta(t, tc.f1, WordF1(tc.got, tc.want), 1e-12, "%q vs %q", tc.got, tc.want)
	}
	assert.True(t, SameWords("\"No,\" replied Elinor.", "no replied elinor"))
	assert.False(t, SameWords("no replied", "no replied elinor"))
	assert.False(t, SameWords("replied no", "no replied"))
}

func TestLoadDictionary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "words")
	require.NoError(t, os.WriteFile(path, []byte("Apple\nbanana\n\n  cherry \n"), 0o644))
	d, err := LoadDictionary(path)
	require.NoError(t, err)
	assert.Equal(t, Dictionary{"apple": true, "banana": true, "cherry": true}, d)

	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = LoadDictionary(empty)
	assert.ErrorContains(t, err, "no words")
	_, err = LoadDictionary(filepath.Join(t.TempDir(), "absent"))
	assert.ErrorContains(t, err, "absent")
}

// TestDebianWordList: the list the bars refer to is installed (make test
// installs wamerican) and knows ordinary English words, with their
// possessives, in lower case.
func TestDebianWordList(t *testing.T) {
	d, err := LoadDictionary(DebianWordList)
	require.NoError(t, err, "run make wamerican")
	assert.Greater(t, len(d), 90000)
	for _, w := range []string{"the", "house", "daughter", "acknowledged", "heaven", "don't", "elizabeth", "house's"} {
		assert.True(t, d[w], w)
	}
	s := Measure([]string{"It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife."}, d)
	assert.Equal(t, 1.0, s.DictionaryShare)
}

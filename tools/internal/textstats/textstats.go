// Package textstats measures generated text the way Unmask's model bars
// are stated: how many words a sample has, how varied the samples are
// (distinct-2) and what share of their words an English word list knows.
// The trainer prints these while it trains and llada eval reports them.
package textstats

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"
)

// DebianWordList is the word list of Debian's wamerican package, the
// dictionary the bars refer to.
const DebianWordList = "/usr/share/dict/american-english"

// Dictionary is a set of lower-case words.
type Dictionary map[string]bool

// LoadDictionary reads a word list with one word per line (case is
// ignored).
func LoadDictionary(path string) (Dictionary, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && path == DebianWordList {
			return nil, fmt.Errorf("word list %s missing: install Debian's wamerican (apt-get install wamerican)", path)
		}
		return nil, fmt.Errorf("word list: %w", err)
	}
	defer f.Close()
	d := Dictionary{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.ToLower(strings.TrimSpace(sc.Text())); w != "" {
			d[w] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("word list %s: %w", path, err)
	}
	if len(d) == 0 {
		return nil, fmt.Errorf("word list %s has no words", path)
	}
	return d, nil
}

// Words splits text into lower-case words: runs of letters with the
// apostrophes inside them ("don't", "boys'" becomes "boys"). Quotes around
// a word are not part of it, and a run without letters is no word.
func Words(text string) []string {
	fields := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !isApostrophe(r)
	})
	out := fields[:0]
	for _, f := range fields {
		if w := strings.TrimFunc(f, isApostrophe); w != "" {
			out = append(out, strings.ReplaceAll(w, "’", "'"))
		}
	}
	return out
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' }

// Stats describe a set of samples.
type Stats struct {
	Samples        int     `json:"texts"`
	Words          int     `json:"words"`
	WordsPerSample float64 `json:"words_per_sample"`
	// Bigrams counts the pairs of consecutive words inside each sample
	// (a sample of n words has n-1); DistinctBigrams counts the different
	// pairs over all samples together, and Distinct2 is their ratio (0
	// without bigrams). A sample that repeats itself, or samples that
	// repeat each other, lower it.
	Bigrams         int     `json:"bigrams"`
	DistinctBigrams int     `json:"distinct_bigrams"`
	Distinct2       float64 `json:"distinct_2"`
	// KnownWords counts the words found in the dictionary;
	// DictionaryShare is KnownWords/Words, or -1 without a dictionary or
	// without words.
	KnownWords      int     `json:"known_words"`
	DictionaryShare float64 `json:"dictionary_share"`
}

// Measure computes the statistics of texts; dict may be nil.
func Measure(texts []string, dict Dictionary) Stats {
	s := Stats{Samples: len(texts), DictionaryShare: -1}
	seen := map[[2]string]bool{}
	for _, text := range texts {
		ws := Words(text)
		s.Words += len(ws)
		for i, w := range ws {
			if dict[w] {
				s.KnownWords++
			}
			if i > 0 {
				seen[[2]string{ws[i-1], w}] = true
				s.Bigrams++
			}
		}
	}
	s.DistinctBigrams = len(seen)
	if s.Samples > 0 {
		s.WordsPerSample = float64(s.Words) / float64(s.Samples)
	}
	if s.Bigrams > 0 {
		s.Distinct2 = float64(s.DistinctBigrams) / float64(s.Bigrams)
	}
	if dict != nil && s.Words > 0 {
		s.DictionaryShare = float64(s.KnownWords) / float64(s.Words)
	}
	return s
}

// WordF1 is the F1 score of the words of got against those of want, as
// bags of words (each word counts as often as it occurs): 1 when both
// have the same words in any order, 0 when they share none or one of them
// has no words.
func WordF1(got, want string) float64 {
	g, w := Words(got), Words(want)
	if len(g) == 0 || len(w) == 0 {
		return 0
	}
	left := map[string]int{}
	for _, x := range w {
		left[x]++
	}
	common := 0
	for _, x := range g {
		if left[x] > 0 {
			left[x]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	precision := float64(common) / float64(len(g))
	recall := float64(common) / float64(len(w))
	return 2 * precision * recall / (precision + recall)
}

// SameWords reports whether two texts have the same words in the same
// order (case, spacing and punctuation aside).
func SameWords(a, b string) bool {
	return slices.Equal(Words(a), Words(b))
}

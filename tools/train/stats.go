package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode"
)

// dictPath is Debian's wamerican word list, used to score samples.
const dictPath = "/usr/share/dict/american-english"

var dictionary = sync.OnceValue(func() map[string]bool {
	f, err := os.Open(dictPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	words := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		words[strings.ToLower(sc.Text())] = true
	}
	return words
})

// stats describe a set of generated texts: how many words, how varied
// (distinct word bigrams / bigrams), and the share found in the dictionary
// (-1 when the word list is not installed).
type stats struct {
	wordsPerSample float64
	distinct2      float64
	dictionary     float64
}

func (s stats) dictShare() string {
	if dictionary() == nil {
		return "n/a (" + dictPath + " missing)"
	}
	if s.dictionary < 0 {
		return "n/a (no words)"
	}
	return fmt.Sprintf("%.0f%%", 100*s.dictionary)
}

// words splits text into lower-case words of letters (and inner
// apostrophes).
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
}

func sampleStats(texts []string) stats {
	dict := dictionary()
	var s stats
	total, known := 0, 0
	bigrams := map[[2]string]bool{}
	nBigrams := 0
	for _, text := range texts {
		ws := words(text)
		total += len(ws)
		for i, w := range ws {
			if dict[strings.Trim(w, "'")] {
				known++
			}
			if i > 0 {
				bigrams[[2]string{ws[i-1], w}] = true
				nBigrams++
			}
		}
	}
	if len(texts) > 0 {
		s.wordsPerSample = float64(total) / float64(len(texts))
	}
	if nBigrams > 0 {
		s.distinct2 = float64(len(bigrams)) / float64(nBigrams)
	}
	s.dictionary = -1
	if dict != nil && total > 0 {
		s.dictionary = float64(known) / float64(total)
	}
	return s
}

package main

import (
	"fmt"
	"sync"

	"unmask/tools/internal/textstats"
)

// dictionary is Debian's wamerican word list, used to score samples (nil
// when it is not installed: training goes on without that number).
var dictionary = sync.OnceValue(func() textstats.Dictionary {
	d, _ := textstats.LoadDictionary(textstats.DebianWordList)
	return d
})

// stats describe a set of generated texts: how many words, how varied
// (distinct word bigrams / bigrams) and the share found in the dictionary
// (-1 when the word list is not installed); see package textstats.
type stats struct {
	wordsPerSample float64
	distinct2      float64
	dictionary     float64
}

func (s stats) dictShare() string {
	if dictionary() == nil {
		return "n/a (" + textstats.DebianWordList + " missing)"
	}
	if s.dictionary < 0 {
		return "n/a (no words)"
	}
	return fmt.Sprintf("%.0f%%", 100*s.dictionary)
}

func sampleStats(texts []string) stats {
	s := textstats.Measure(texts, dictionary())
	return stats{wordsPerSample: s.WordsPerSample, distinct2: s.Distinct2, dictionary: s.DictionaryShare}
}

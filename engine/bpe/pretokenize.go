package bpe

import (
	"unicode"
	"unicode/utf8"
)

// Words splits text into the pieces that BPE merges never cross, in the
// manner of GPT-2's pre-tokeniser:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// A word keeps its leading space (" house"), so a word and its spelling at
// the start of a line are different tokens, and a run of spaces gives its
// last space to the word that follows it. Concatenating the pieces gives
// back text exactly, byte for byte, including invalid UTF-8 (an invalid
// byte counts as a symbol).
func Words(text string) []string {
	var words []string
	forEachWord(text, func(w string) { words = append(words, w) })
	return words
}

// forEachWord calls yield with each pre-tokeniser piece of text in order.
func forEachWord(text string, yield func(string)) {
	i := 0
	for i < len(text) {
		n := nextWord(text[i:])
		yield(text[i : i+n])
		i += n
	}
}

// class is the pre-tokeniser's character class of one rune.
type class uint8

const (
	classLetter class = iota
	classNumber
	classSpace
	classOther
)

func classOf(r rune) class {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	default:
		return classOther // includes utf8.RuneError for invalid bytes
	}
}

// contractions are GPT-2's English suffixes that split off after '.
var contractions = []string{"s", "t", "re", "ve", "m", "ll", "d"}

// nextWord returns the byte length of the first piece of s (len(s) > 0).
func nextWord(s string) int {
	if s[0] == '\'' {
		for _, c := range contractions {
			if len(s) > len(c) && s[1:1+len(c)] == c {
				return 1 + len(c)
			}
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	c := classOf(r)
	start := 0
	if r == ' ' && len(s) > size {
		// A single space joins the non-space word after it.
		next, _ := utf8.DecodeRuneInString(s[size:])
		if nc := classOf(next); nc != classSpace {
			c, start = nc, size
		}
	}
	if c == classSpace {
		return spaceRun(s)
	}
	// Run of one class after the optional leading space.
	j := start
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if classOf(r) != c {
			break
		}
		j += size
	}
	return j
}

// spaceRun measures a run of white space at the start of s: the whole run
// if it ends the text, otherwise all but its last character (\s+(?!\S)),
// unless that leaves nothing, in which case the single character (\s+).
// The last space then joins the next word.
func spaceRun(s string) int {
	j, last := 0, 0
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if classOf(r) != classSpace {
			break
		}
		last = j
		j += size
	}
	if j == len(s) || last == 0 {
		return j
	}
	return last
}

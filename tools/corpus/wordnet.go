package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// wordnetEntry is one WordNet synset that has usage examples.
type wordnetEntry struct {
	Words      []string // lemmas, spaces for underscores, at most three
	POS        string   // "noun", "verb", "adjective", "adverb"
	Definition string
	Examples   []string
}

// Paragraph renders the entry as one corpus paragraph:
//
//	able (adjective): having the necessary means or skill to do something; "able to swim"
func (e wordnetEntry) Paragraph() string {
	var b strings.Builder
	b.WriteString(strings.Join(e.Words, ", "))
	fmt.Fprintf(&b, " (%s): %s", e.POS, e.Definition)
	for _, x := range e.Examples {
		fmt.Fprintf(&b, `; "%s"`, x)
	}
	return b.String()
}

var (
	wordnetPOS = map[string]string{"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
	// adjectiveMarker is the syntactic marker WordNet appends to some
	// adjectives: "(a)", "(p)", "(ip)".
	adjectiveMarker = regexp.MustCompile(`\((a|p|ip)\)$`)
	quotedRe        = regexp.MustCompile(`"([^"]*)"`)
)

// maxWordnetWords is how many lemmas of a synset an entry names.
const maxWordnetWords = 3

// readWordnetData reads the synsets of one WordNet data file (data.noun,
// data.verb, ...) that have at least one example sentence. Each line is
//
//	offset lex_filenum ss_type w_cnt (word lex_id)... p_cnt (ptr)... [frames] | gloss
//
// with w_cnt in hexadecimal; the gloss is the definition followed by
// quoted examples, separated by "; ". Lines starting with two spaces are
// the licence header.
func readWordnetData(r io.Reader) ([]wordnetEntry, error) {
	var entries []wordnetEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(text, "  ") || strings.TrimSpace(text) == "" {
			continue
		}
		fieldsPart, gloss, ok := strings.Cut(text, " | ")
		if !ok {
			continue // synsets without a gloss
		}
		f := strings.Fields(fieldsPart)
		if len(f) < 6 {
			return nil, fmt.Errorf("wordnet line %d: %d fields before the gloss", line, len(f))
		}
		pos, ok := wordnetPOS[f[2]]
		if !ok {
			return nil, fmt.Errorf("wordnet line %d: synset type %q", line, f[2])
		}
		n, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil || n == 0 || 4+2*int(n) > len(f) {
			return nil, fmt.Errorf("wordnet line %d: word count %q", line, f[3])
		}
		def, examples := splitGloss(gloss)
		if len(examples) == 0 || def == "" {
			continue
		}
		e := wordnetEntry{POS: pos, Definition: def, Examples: examples}
		for i := range min(int(n), maxWordnetWords) {
			w := adjectiveMarker.ReplaceAllString(f[4+2*i], "")
			e.Words = append(e.Words, strings.ReplaceAll(w, "_", " "))
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

// splitGloss separates a WordNet gloss into its definition and its quoted
// examples: `feeling gratitude; "a grateful heart"; "grateful for help"`.
func splitGloss(gloss string) (def string, examples []string) {
	gloss = strings.TrimSpace(gloss)
	i := strings.Index(gloss, `"`)
	if i < 0 {
		return normalizeText(gloss), nil
	}
	def = normalizeText(strings.TrimRight(strings.TrimSpace(gloss[:i]), ";"))
	for _, m := range quotedRe.FindAllStringSubmatch(gloss[i:], -1) {
		if x := normalizeText(m[1]); x != "" {
			examples = append(examples, x)
		}
	}
	return def, examples
}

// wordnetEntriesPerDocument is how many consecutive entries make one
// document of the split.
const wordnetEntriesPerDocument = 50

// wordnetDocuments keeps about maxBytes of entries (every k-th entry, in
// file order, so every part of the dictionary is represented) and groups
// them into documents of wordnetEntriesPerDocument entries per part of
// speech.
func wordnetDocuments(entries []wordnetEntry, maxBytes int) []Document {
	total := 0
	for _, e := range entries {
		total += len(e.Paragraph()) + 1
	}
	step := 1
	if maxBytes > 0 && total > maxBytes {
		step = (total + maxBytes - 1) / maxBytes
	}
	var docs []Document
	count := map[string]int{}
	kept := 0
	for i, e := range entries {
		if i%step != 0 {
			continue
		}
		if maxBytes > 0 && kept >= maxBytes {
			break
		}
		kept += len(e.Paragraph()) + 1
		work := "WordNet " + e.POS + "s"
		if len(docs) == 0 || docs[len(docs)-1].Work != work || len(docs[len(docs)-1].Paragraphs) == wordnetEntriesPerDocument {
			count[work]++
			docs = append(docs, Document{Source: "wordnet", Work: work, Title: fmt.Sprintf("%s, part %d", work, count[work])})
		}
		d := &docs[len(docs)-1]
		d.Paragraphs = append(d.Paragraphs, e.Paragraph())
	}
	return docs
}

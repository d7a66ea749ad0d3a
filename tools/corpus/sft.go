package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"unmask/engine/bpe"
)

// sftPair is one supervised fine-tuning example. Prompt and Response are
// plain text; the trainer wraps the prompt in the chat template and pads
// the response with EOS.
type sftPair struct {
	Task     string `json:"task"`
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
	Source   string `json:"source"` // document title
}

// sftLimits bound the pairs: their size in tokens, and the words a
// define pair may ask about.
type sftLimits struct {
	MaxPrompt   int
	MaxResponse int
	Count       func(string) int
	// Familiar reports whether the prose uses a word often enough for a
	// small model to have met it; define pairs ask only about such words.
	// Nil accepts every word.
	Familiar func(word string) bool
}

func (l sftLimits) fits(p sftPair) bool {
	return p.Prompt != "" && p.Response != "" &&
		l.Count(p.Prompt) <= l.MaxPrompt && l.Count(p.Response) <= l.MaxResponse
}

// sftTask makes one pair from a paragraph of a document (its index in
// Paragraphs), or reports false when the paragraph does not suit it.
type sftTask struct {
	Name string
	Make func(r *rand.Rand, d *Document, i int, l sftLimits) (sftPair, bool)
}

var sftTasks = []sftTask{
	{"repeat", makeRepeat},
	{"continue", makeContinue},
	{"previous", makePrevious},
	{"fill", makeFill},
	{"words", makeWords},
	{"source", makeSource},
	{"define", makeDefine},
}

// buildSFT writes sft-train.jsonl and sft-heldout.jsonl, each from its own
// part of the split, and returns the pair counts.
func buildSFT(o options, parts map[string][]Document, tok *bpe.Tokenizer) (map[string]int, error) {
	limits := sftLimits{MaxPrompt: o.SFTMaxPrompt, MaxResponse: o.SFTMaxTokens, Count: func(s string) int { return len(tok.Encode(s)) }}
	if o.DefineMinCount > 0 {
		// Familiarity is counted on the training prose for both parts: it
		// is a property of the vocabulary, not of the held-out answers.
		familiar := familiarWords(parts["train"], o.DefineMinCount)
		limits.Familiar = func(w string) bool { return familiar[strings.ToLower(w)] }
	}
	counts := map[string]int{}
	for k, part := range splits {
		r := rand.New(rand.NewPCG(o.SFTSeed, uint64(k)))
		pairs := makeSFT(r, parts[part], o.SFTPerPara, limits)
		err := writeFile(filepath.Join(o.Out, "sft-"+part+".jsonl"), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for _, p := range pairs {
				if err := enc.Encode(p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		counts[part] = len(pairs)
		for _, p := range pairs {
			counts[part+"."+p.Task]++
		}
	}
	return counts, nil
}

// makeSFT draws about perParagraph pairs per paragraph of docs: for each
// chosen paragraph a random task, retried with other tasks when it does
// not suit the paragraph or its pair would be too long.
func makeSFT(r *rand.Rand, docs []Document, perParagraph float64, l sftLimits) []sftPair {
	var pairs []sftPair
	for di := range docs {
		d := &docs[di]
		for i := range d.Paragraphs {
			if r.Float64() >= perParagraph {
				continue
			}
			for _, t := range r.Perm(len(sftTasks)) {
				if p, ok := sftTasks[t].Make(r, d, i, l); ok && l.fits(p) {
					p.Task, p.Source = sftTasks[t].Name, d.Title
					pairs = append(pairs, p)
					break
				}
			}
		}
	}
	return pairs
}

// pick returns a random element of choices.
func pick(r *rand.Rand, choices []string) string { return choices[r.IntN(len(choices))] }

// sentenceEnd finds the end of a sentence: terminal punctuation, closing
// quotes or brackets, then a space and the start of the next sentence.
var sentenceEnd = regexp.MustCompile(`[.!?]["')]*\s+["'(]?[A-Z]`)

// abbreviations never end a sentence.
var abbreviations = []string{"Mr.", "Mrs.", "Dr.", "St.", "Messrs.", "Col.", "Capt.", "Esq.", "Rev."}

// splitSentences splits a paragraph into sentences. It is a heuristic for
// English prose: a sentence ends at ., ! or ? (with any closing quotes)
// before a capital letter, except after common titles.
func splitSentences(p string) []string {
	var out []string
	start := 0
	for _, m := range sentenceEnd.FindAllStringIndex(p, -1) {
		// m covers "punct quotes space [quote] Capital"; cut after the spaces.
		end := m[0] + strings.IndexFunc(p[m[0]:m[1]], unicode.IsSpace)
		cand := p[start:end]
		if slices.ContainsFunc(abbreviations, func(a string) bool { return strings.HasSuffix(cand, a) }) {
			continue
		}
		if s := strings.TrimSpace(cand); s != "" {
			out = append(out, s)
		}
		start = end
	}
	if s := strings.TrimSpace(p[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// wordCount is the number of space-separated words of s.
func wordCount(s string) int { return len(strings.Fields(s)) }

func makeContinue(r *rand.Rand, d *Document, i int, l sftLimits) (sftPair, bool) {
	if d.Source == "wordnet" {
		return sftPair{}, false
	}
	s := splitSentences(d.Paragraphs[i])
	if len(s) < 2 {
		return sftPair{}, false
	}
	cut := 1 + r.IntN(len(s)-1)
	// The response is the next sentence or two, as long as they fit.
	resp := s[cut]
	if cut+1 < len(s) && l.Count(resp+" "+s[cut+1]) <= l.MaxResponse && r.IntN(2) == 0 {
		resp += " " + s[cut+1]
	}
	// The prompt keeps the last sentences before the cut that fit.
	ctx := s[cut-1]
	for j := cut - 2; j >= 0 && l.Count(s[j]+" "+ctx) <= l.MaxPrompt-12; j-- {
		ctx = s[j] + " " + ctx
	}
	prompt := pick(r, []string{
		"Continue this passage:\n%s",
		"Write what comes next:\n%s",
		"Continue the text.\n%s",
		"What follows this passage?\n%s",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, ctx), Response: resp}, true
}

func makePrevious(r *rand.Rand, d *Document, i int, _ sftLimits) (sftPair, bool) {
	if d.Source == "wordnet" {
		return sftPair{}, false
	}
	s := splitSentences(d.Paragraphs[i])
	if len(s) < 2 {
		return sftPair{}, false
	}
	k := 1 + r.IntN(len(s)-1)
	prompt := pick(r, []string{
		"What is the sentence just before this one?\n%s",
		"Give the sentence that comes before:\n%s",
		"Which sentence precedes this one?\n%s",
		"Write the sentence that comes right before this one.\n%s",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, s[k]), Response: s[k-1]}, true
}

// wordRe finds the words a blank or a word list may use: letters only,
// four or more, so that blanks are guessable content words.
var wordRe = regexp.MustCompile(`\b[A-Za-z]{4,}\b`)

// stopWords are frequent words that make poor blanks and poor prompts.
var stopWords = map[string]bool{
	"that": true, "this": true, "with": true, "have": true, "from": true, "they": true, "were": true,
	"been": true, "which": true, "would": true, "there": true, "their": true, "what": true, "when": true,
	"will": true, "your": true, "them": true, "then": true, "than": true, "said": true, "could": true,
	"unto": true, "shall": true, "upon": true, "into": true, "very": true, "must": true, "should": true,
}

// contentWords returns the byte ranges of candidate words in s.
func contentWords(s string) [][]int {
	var out [][]int
	for _, m := range wordRe.FindAllStringIndex(s, -1) {
		if !stopWords[strings.ToLower(s[m[0]:m[1]])] {
			out = append(out, m)
		}
	}
	return out
}

// sentenceOfParagraph picks a sentence of 6 to maxWords words from
// paragraph i of a prose document (dictionary entries are not prose).
func sentenceOfParagraph(r *rand.Rand, d *Document, i, maxWords int) (string, bool) {
	if d.Source == "wordnet" {
		return "", false
	}
	var ok []string
	for _, s := range splitSentences(d.Paragraphs[i]) {
		if n := wordCount(s); n >= 6 && n <= maxWords {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return "", false
	}
	return ok[r.IntN(len(ok))], true
}

// makeRepeat asks for a sentence back as it is. It is the simplest task
// that needs the answer to be read from the prompt, and a small model
// learns to copy from it before it can fill blanks or use given words.
func makeRepeat(r *rand.Rand, d *Document, i int, _ sftLimits) (sftPair, bool) {
	s, ok := sentenceOfParagraph(r, d, i, 40)
	if !ok {
		return sftPair{}, false
	}
	prompt := pick(r, []string{
		"Repeat this sentence:\n%s",
		"Say this again:\n%s",
		"Copy this text:\n%s",
		"Write this sentence out again.\n%s",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, s), Response: s}, true
}

func makeFill(r *rand.Rand, d *Document, i int, _ sftLimits) (sftPair, bool) {
	s, ok := sentenceOfParagraph(r, d, i, 40)
	if !ok {
		return sftPair{}, false
	}
	words := contentWords(s)
	if len(words) < 2 {
		return sftPair{}, false
	}
	n := min(1+r.IntN(3), len(words)/2)
	chosen := r.Perm(len(words))[:n]
	slices.Sort(chosen)
	var b strings.Builder
	prev := 0
	for _, c := range chosen {
		b.WriteString(s[prev:words[c][0]])
		b.WriteString("___")
		prev = words[c][1]
	}
	b.WriteString(s[prev:])
	prompt := pick(r, []string{
		"Fill in the blanks:\n%s",
		"Complete the sentence by filling in each ___:\n%s",
		"Replace each ___ with the missing word and write the whole sentence.\n%s",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, b.String()), Response: s}, true
}

// makeWords gives some of a short sentence's content words, in the order
// the sentence uses them, and asks for a sentence around them. With the
// order given and at most 24 words to write, the answer is pinned down
// enough for a small model to learn placing the words: fine-tuned on
// shuffled lists from sentences of up to 40 words, it used a fifth of the
// given words; on these, half.
func makeWords(r *rand.Rand, d *Document, i int, _ sftLimits) (sftPair, bool) {
	s, ok := sentenceOfParagraph(r, d, i, 24)
	if !ok {
		return sftPair{}, false
	}
	var words []string
	seen := map[string]bool{}
	for _, m := range contentWords(s) {
		// Names keep their capital; the sentence's first word loses it.
		w := s[m[0]:m[1]]
		if m[0] == 0 {
			w = strings.ToLower(w)
		}
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	if len(words) < 2 {
		return sftPair{}, false
	}
	keep := r.Perm(len(words))[:min(2+r.IntN(4), len(words))]
	slices.Sort(keep)
	given := make([]string, len(keep))
	for k, w := range keep {
		given[k] = words[w]
	}
	prompt := pick(r, []string{
		"Write a sentence using these words in this order: %s.",
		"Use these words, in this order, in one sentence: %s.",
		"Make a sentence with these words, in order: %s.",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, strings.Join(given, ", ")), Response: s}, true
}

// workAnswer names the work a passage comes from, as a sentence.
func workAnswer(d *Document) string {
	switch d.Source {
	case "austen":
		return d.Work + ", a novel by Jane Austen."
	case "kjv":
		return "The book of " + d.Work + ", in the King James Bible."
	}
	return ""
}

func makeSource(r *rand.Rand, d *Document, i int, l sftLimits) (sftPair, bool) {
	answer := workAnswer(d)
	if answer == "" {
		return sftPair{}, false
	}
	var passage string
	for _, s := range splitSentences(d.Paragraphs[i]) {
		next := strings.TrimSpace(passage + " " + s)
		if passage != "" && l.Count(next) > l.MaxPrompt-12 {
			break
		}
		passage = next
	}
	prompt := pick(r, []string{
		"Which book is this passage from?\n%s",
		"Where does this text come from?\n%s",
		"Name the book this is from:\n%s",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, passage), Response: answer}, true
}

// makeDefine asks for the meaning of a WordNet entry's first word, or for
// the entry's example sentence, when the prose makes the word familiar.
// Most entries are words the novels and the Bible never use, and pairs
// about them made definitions the largest task while teaching only a
// gloss's shape. (Familiar words alone did not make the small model's
// definitions right; the model card has the numbers.)
func makeDefine(r *rand.Rand, d *Document, i int, l sftLimits) (sftPair, bool) {
	if d.Source != "wordnet" {
		return sftPair{}, false
	}
	p := d.Paragraphs[i]
	head, rest, ok := strings.Cut(p, "): ")
	if !ok {
		return sftPair{}, false
	}
	word, pos, ok := strings.Cut(head, " (")
	if !ok {
		return sftPair{}, false
	}
	word, _, _ = strings.Cut(word, ", ")
	if l.Familiar != nil && !l.Familiar(word) {
		return sftPair{}, false
	}
	def, examples, _ := strings.Cut(rest, `; "`)
	ex, _, _ := strings.Cut(examples, `"`)
	if r.IntN(2) == 0 && usesWord(ex, word) {
		prompt := pick(r, []string{
			"Use the %s \"%s\" in a sentence.",
			"Give an example of the %s \"%s\" in use.",
		})
		return sftPair{Prompt: fmt.Sprintf(prompt, pos, word), Response: upperFirst(ex) + "."}, true
	}
	prompt := pick(r, []string{
		"What does the %s \"%s\" mean?",
		"Define the %s \"%s\".",
		"What is the meaning of the %s \"%s\"?",
	})
	return sftPair{Prompt: fmt.Sprintf(prompt, pos, word), Response: upperFirst(def) + "."}, true
}

// usesWord reports whether sentence contains word or an inflection of it
// (same stem: the word less a final e or y), so that an example given for
// "run" is not one that only uses its synonym "flow".
func usesWord(sentence, word string) bool {
	stem := strings.ToLower(word)
	if len(stem) > 3 {
		stem = strings.TrimRight(stem, "ey")
	}
	return stem != "" && strings.Contains(strings.ToLower(sentence), stem)
}

func upperFirst(s string) string {
	for i, c := range s {
		return s[:i] + string(unicode.ToUpper(c)) + s[i+len(string(c)):]
	}
	return s
}

// familiarWords are the words (lower-cased) that the prose documents use
// at least minCount times.
func familiarWords(docs []Document, minCount int) map[string]bool {
	counts := map[string]int{}
	for _, d := range docs {
		if d.Source == "wordnet" {
			continue
		}
		for _, p := range d.Paragraphs {
			for _, w := range proseWord.FindAllString(p, -1) {
				counts[strings.ToLower(w)]++
			}
		}
	}
	familiar := map[string]bool{}
	for w, n := range counts {
		if n >= minCount {
			familiar[w] = true
		}
	}
	return familiar
}

// proseWord is a run of letters, as familiarWords counts them.
var proseWord = regexp.MustCompile(`[A-Za-z]+`)

package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Document is one unit of the train / held-out split: a chapter of a novel
// or of the Bible, or a run of dictionary entries. Paragraphs are clean
// single lines.
type Document struct {
	Source     string   // "austen", "kjv", "wordnet"
	Work       string   // "Emma", "Genesis", "WordNet nouns"
	Title      string   // "Emma, Volume I, Chapter I"
	Paragraphs []string // one paragraph each, no newlines
}

// textReplacer maps typographic characters to the plain ones the corpus
// uses, so the tokenizer does not spend tokens on variants.
var textReplacer = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201A", "'", "\u201B", "'", "`", "'",
	"\u201C", `"`, "\u201D", `"`, "\u201E", `"`, "\u201F", `"`,
	"\u00A0", " ", "\t", " ", "\r", " ",
	"_", "", // Project Gutenberg's _italics_
)

// normalizeText cleans one paragraph: plain quotes, no italics markers,
// single spaces, no space at either end.
func normalizeText(s string) string {
	return strings.Join(strings.FieldsFunc(textReplacer.Replace(s), unicode.IsSpace), " ")
}

// joinParagraphs turns hard-wrapped lines into paragraphs: blank lines
// separate paragraphs, the lines of one paragraph are joined with spaces.
func joinParagraphs(lines []string) []string {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			if p := normalizeText(strings.Join(cur, " ")); p != "" {
				paras = append(paras, p)
			}
			cur = cur[:0]
		}
	}
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return paras
}

// hasLetter reports whether s contains a letter; lines of asterisks and
// similar separators do not.
func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// isEditorialNote reports a paragraph wholly in square brackets, the way
// the Gutenberg texts mark editors' notes ("[At this point in the first and
// second editions, Volume 1 ends.]").
func isEditorialNote(p string) bool {
	return strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]")
}

var (
	chapterRe = regexp.MustCompile(`(?i)^chapter\s+([IVXLC]+|\d+)\.?$`)
	volumeRe  = regexp.MustCompile(`(?i)^volume\s+([IVXLC]+|\d+)\.?$`)
	endRe     = regexp.MustCompile(`^(THE END|FINIS)\.?$`)
)

// novelDocuments splits a novel, given as the hard-wrapped lines of its
// Project Gutenberg text, into one document per chapter. Everything before
// the first chapter heading (title, author, prefaces) and after "THE END"
// or "FINIS" is dropped, as are volume and chapter headings themselves and
// paragraphs without letters and editors' bracketed notes.
func novelDocuments(source, work string, lines []string) []Document {
	var docs []Document
	volume := ""
	for _, p := range joinParagraphs(lines) {
		switch {
		case endRe.MatchString(p):
			return docs
		case volumeRe.MatchString(p):
			volume = "Volume " + volumeRe.FindStringSubmatch(p)[1]
			continue
		case chapterRe.MatchString(p):
			title := work
			if volume != "" {
				title += ", " + volume
			}
			title += ", Chapter " + chapterRe.FindStringSubmatch(p)[1]
			docs = append(docs, Document{Source: source, Work: work, Title: title})
			continue
		}
		if len(docs) == 0 || !hasLetter(p) || isEditorialNote(p) {
			continue
		}
		d := &docs[len(docs)-1]
		d.Paragraphs = append(d.Paragraphs, p)
	}
	return docs
}

// kjvBooks maps the Bible Retrieval System's book abbreviations to names.
var kjvBooks = map[string]string{
	"Ge": "Genesis", "Exo": "Exodus", "Lev": "Leviticus", "Num": "Numbers", "Deu": "Deuteronomy",
	"Josh": "Joshua", "Jdgs": "Judges", "Ruth": "Ruth", "1Sm": "1 Samuel", "2Sm": "2 Samuel",
	"1Ki": "1 Kings", "2Ki": "2 Kings", "1Chr": "1 Chronicles", "2Chr": "2 Chronicles",
	"Ezra": "Ezra", "Neh": "Nehemiah", "Est": "Esther", "Job": "Job", "Psa": "Psalms",
	"Prv": "Proverbs", "Eccl": "Ecclesiastes", "SSol": "Song of Solomon", "Isa": "Isaiah",
	"Jer": "Jeremiah", "Lam": "Lamentations", "Eze": "Ezekiel", "Dan": "Daniel", "Hos": "Hosea",
	"Joel": "Joel", "Amos": "Amos", "Obad": "Obadiah", "Jonah": "Jonah", "Mic": "Micah",
	"Nahum": "Nahum", "Hab": "Habakkuk", "Zep": "Zephaniah", "Hag": "Haggai", "Zec": "Zechariah",
	"Mal": "Malachi", "Mat": "Matthew", "Mark": "Mark", "Luke": "Luke", "John": "John",
	"Acts": "Acts", "Rom": "Romans", "1Cor": "1 Corinthians", "2Cor": "2 Corinthians",
	"Gal": "Galatians", "Eph": "Ephesians", "Phi": "Philippians", "Col": "Colossians",
	"1Th": "1 Thessalonians", "2Th": "2 Thessalonians", "1Tim": "1 Timothy", "2Tim": "2 Timothy",
	"Titus": "Titus", "Phmn": "Philemon", "Heb": "Hebrews", "Jas": "James", "1Pet": "1 Peter",
	"2Pet": "2 Peter", "1Jn": "1 John", "2Jn": "2 John", "3Jn": "3 John", "Jude": "Jude",
	"Rev": "Revelation",
}

var verseRe = regexp.MustCompile(`^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$`)

// maxVerseParagraph is the length past which consecutive verses of a
// chapter stop being joined into one paragraph. The text has no paragraph
// marks; a few verses together read like a paragraph of the novels.
const maxVerseParagraph = 400

// bibleDocuments splits the Bible text (one "Ge1:1 text" line per verse)
// into one document per chapter, dropping the verse references and
// joining consecutive verses into paragraphs of about maxVerseParagraph
// bytes. Lines that are not verses (the title line) are dropped; an
// unknown book abbreviation is an error.
func bibleDocuments(text string) ([]Document, error) {
	var docs []Document
	key := ""
	var para strings.Builder
	flush := func() {
		if para.Len() > 0 {
			d := &docs[len(docs)-1]
			d.Paragraphs = append(d.Paragraphs, para.String())
			para.Reset()
		}
	}
	for line := range strings.Lines(text) {
		m := verseRe.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			continue
		}
		book, ok := kjvBooks[m[1]]
		if !ok {
			return nil, fmt.Errorf("bible text: unknown book %q", m[1])
		}
		verse := normalizeText(m[4])
		if verse == "" {
			continue
		}
		if k := m[1] + " " + m[2]; k != key {
			if key != "" {
				flush()
			}
			key = k
			docs = append(docs, Document{Source: "kjv", Work: book, Title: book + " " + m[2]})
		}
		if para.Len() > 0 && para.Len()+1+len(verse) > maxVerseParagraph {
			flush()
		}
		if para.Len() > 0 {
			para.WriteByte(' ')
		}
		para.WriteString(verse)
	}
	if key != "" {
		flush()
	}
	return docs, nil
}

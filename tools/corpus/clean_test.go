package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  plain  text ", "plain text"},
		{"\u201cCurly,\u201d she said, \u2018isn\u2019t it?\u2019", `"Curly," she said, 'isn't it?'`},
		{"an _italic_ word", "an italic word"},
		{"tabs\tand\u00a0no-break\r\nspaces", "tabs and no-break spaces"},
		{"dashes--stay", "dashes--stay"},
		{"`quoted'", "'quoted'"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, normalizeText(tt.in), "normalizeText(%q)", tt.in)
	}
}

func TestJoinParagraphs(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"empty", nil, nil},
		{"blank only", []string{"", "  ", ""}, nil},
		{"hard wraps joined", []string{"It is a truth", "universally acknowledged."}, []string{"It is a truth universally acknowledged."}},
		{"blank lines split", []string{"One.", "", "", "Two", "lines."}, []string{"One.", "Two lines."}},
		{"indented lines", []string{"      CHARADE.", "  My first doth", "  affliction denote"}, []string{"CHARADE. My first doth affliction denote"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, joinParagraphs(tt.lines), tt.name)
	}
}

func TestNovelDocuments(t *testing.T) {
	lines := strings.Split(`EMMA

By Jane Austen

VOLUME I

CHAPTER I

Emma Woodhouse, handsome, clever, and rich,
with a comfortable home.

      *       *       *

She was the _youngest_ of the two daughters.

[At this point in the first and second editions,
Volume 1 ends.]

CHAPTER II

Mr. Weston was a native of Highbury.

VOLUME II

CHAPTER I

Miss Bates came in.

FINIS

Transcriber's note: never part of the novel.`, "\n")
	docs := novelDocuments("austen", "Emma", lines)
	require.Len(t, docs, 3)
	assert.Equal(t, Document{Source: "austen", Work: "Emma", Title: "Emma, Volume I, Chapter I",
		Paragraphs: []string{"Emma Woodhouse, handsome, clever, and rich, with a comfortable home.", "She was the youngest of the two daughters."}}, docs[0])
	assert.Equal(t, "Emma, Volume I, Chapter II", docs[1].Title)
	assert.Equal(t, []string{"Mr. Weston was a native of Highbury."}, docs[1].Paragraphs)
	assert.Equal(t, "Emma, Volume II, Chapter I", docs[2].Title)
	assert.Equal(t, []string{"Miss Bates came in."}, docs[2].Paragraphs)

	// Chapter headings in the other styles of the novels.
	for _, heading := range []string{"Chapter 1", "CHAPTER 12", "CHAPTER XLIV.", "chapter iv"} {
		docs := novelDocuments("austen", "X", []string{heading, "", "Text."})
		require.Len(t, docs, 1, heading)
		assert.Equal(t, []string{"Text."}, docs[0].Paragraphs)
	}
	assert.Empty(t, novelDocuments("austen", "X", []string{"No chapters here.", "", "THE END"}))
}

func TestNovelDocumentsFromLazyLoadDB(t *testing.T) {
	data, err := readLazyLoadDB("testdata/r/Rdata")
	require.NoError(t, err)
	var titles []string
	for _, n := range austenNovels {
		lines, err := novelLines(data[n.Var])
		require.NoError(t, err)
		for _, d := range novelDocuments("austen", n.Title, lines) {
			titles = append(titles, d.Title)
			for _, p := range d.Paragraphs {
				assert.True(t, hasLetter(p), "separator kept in %s: %q", d.Title, p)
				assert.NotContains(t, p, "_")
				assert.NotContains(t, p, rNA)
			}
		}
	}
	assert.Equal(t, []string{
		"Sense and Sensibility, Chapter 1",
		"Pride and Prejudice, Chapter 1", "Pride and Prejudice, Chapter 2",
		"Mansfield Park, Chapter I",
		"Emma, Volume I, Chapter I", "Emma, Volume I, Chapter II",
		"Northanger Abbey, Chapter 1",
		"Persuasion, Chapter 1",
	}, titles)
}

func TestIsHeldout(t *testing.T) {
	var held []int
	for i := range 60 {
		if isHeldout(i, 20) {
			held = append(held, i)
		}
	}
	assert.Equal(t, []int{10, 30, 50}, held)
}

func TestDebVersion(t *testing.T) {
	assert.Equal(t, "1:3.0-37", debVersion("wordnet-base_1%3a3.0-37_all.deb"))
	assert.Equal(t, "4.38", debVersion("bible-kjv-text_4.38_all.deb"))
	assert.Equal(t, "", debVersion("odd.deb"))
}

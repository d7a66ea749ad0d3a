package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fixtures (testdata/):
//   r/package.rds, r/Rd.rds, r/Rdata.rds  written by R itself (metadata of
//       the r-cran-janeaustenr package)
//   r/Rdata.rdx, r/Rdata.rdb  a lazy-load database shaped like the package's
//       (its real index, offsets pointing at six short novels)
//   r/novel.rda  an RDX3 file: novel = c(latin1 "café au lait", "naïve", "plain", NA)
//   lzw/genesis-{10,16}.Z  compress(1) streams of lzw/genesis.txt with 10-bit
//       codes (the table fills and is cleared) and 16-bit codes; gzip -d
//       decompresses both to genesis.txt
//   bible.data  a Bible Retrieval System file with 512-byte windows holding
//       bible.txt
//   wordnet/data.mixed  the licence header and a few synsets of WordNet 3.0

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestReadRSerializedGenuineFiles(t *testing.T) {
	read := func(name string) *rObject {
		raw, err := decompressAny(readFixture(t, name))
		require.NoError(t, err)
		v, err := readRSerialized(raw)
		require.NoError(t, err, name)
		o, ok := v.(*rObject)
		require.True(t, ok, "%s holds %T", name, v)
		return o
	}

	// A named list of one-element character vectors.
	o := read("r/Rdata.rds")
	assert.Equal(t, []string{"emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice", "sensesensibility"}, o.Names())

	// A data frame (list of columns with names, class and row.names).
	o = read("r/Rd.rds")
	cols, ok := o.Data.([]any)
	require.True(t, ok)
	require.NotEmpty(t, cols)
	files, err := characterVector(cols[0])
	require.NoError(t, err)
	assert.Contains(t, files, "emma.Rd")

	// Nested lists with classes: the package description.
	o = read("r/package.rds")
	desc, err := characterVector(o.Data.([]any)[0])
	require.NoError(t, err)
	assert.Equal(t, "janeaustenr", desc[0])
	assert.Contains(t, desc, "MIT + file LICENSE")
}

func TestReadLazyLoadDB(t *testing.T) {
	data, err := readLazyLoadDB("testdata/r/Rdata")
	require.NoError(t, err)
	require.Len(t, data, 6)
	lines, err := characterVector(data["emma"])
	require.NoError(t, err)
	assert.Equal(t, "EMMA", lines[0])
	assert.Equal(t, "FINIS", lines[len(lines)-1])
	lines, err = characterVector(data["sensesensibility"])
	require.NoError(t, err)
	assert.Equal(t, rNA, lines[5], "NA strings read as rNA")
}

func TestReadRData(t *testing.T) {
	data, err := readRData(readFixture(t, "r/novel.rda"))
	require.NoError(t, err)
	lines, err := characterVector(data["novel"])
	require.NoError(t, err)
	assert.Equal(t, []string{"café au lait", "naïve", "plain", rNA}, lines)
}

func TestRReadersRejectBadInput(t *testing.T) {
	good, err := decompressAny(readFixture(t, "r/Rdata.rds"))
	require.NoError(t, err)
	inputs := map[string][]byte{
		"empty":     nil,
		"ascii":     []byte("A\n1\n"),
		"version":   append([]byte("X\n\x00\x00\x00\x09"), good[6:]...),
		"truncated": good[:len(good)/2],
	}
	for name, in := range inputs {
		_, err := readRSerialized(in)
		assert.ErrorIs(t, err, errRData, name)
	}
	_, err = readRData([]byte("RDX9\nX\n"))
	assert.ErrorIs(t, err, errRData)
	_, err = decompressAny([]byte{0xFD, '7', 'z', 'X', 'Z', 0, 1})
	assert.ErrorIs(t, err, errRData)

	idx := readFixture(t, "r/Rdata.rdx")
	db := readFixture(t, "r/Rdata.rdb")
	_, err = parseLazyLoadDB(idx, db[:len(db)-10])
	assert.ErrorIs(t, err, errRData, "offsets past the end of the data")
	corrupt := append([]byte(nil), db...)
	corrupt[8] ^= 0xFF
	_, err = parseLazyLoadDB(idx, corrupt)
	assert.ErrorIs(t, err, errRData, "corrupt zlib data")
}

func TestUnLZW(t *testing.T) {
	want := readFixture(t, "lzw/genesis.txt")
	for _, name := range []string{"lzw/genesis-10.Z", "lzw/genesis-16.Z"} {
		z := readFixture(t, name)
		require.Equal(t, []byte{0x1F, 0x9D}, z[:2], name)
		got, err := unLZW(z[3:], int(z[2]&0x1F), 1<<20)
		require.NoError(t, err, name)
		assert.Equal(t, string(want), string(got), name)
	}
	_, err := unLZW([]byte{0xFF, 0xFF, 0xFF}, 16, 100)
	assert.Error(t, err, "a first code that is not a byte")
}

func TestReadBRS(t *testing.T) {
	text, err := readBRS(readFixture(t, "bible.data"))
	require.NoError(t, err)
	assert.Equal(t, string(readFixture(t, "bible.txt")), string(text))

	data := readFixture(t, "bible.data")
	for name, bad := range map[string][]byte{
		"magic":     append([]byte("XX"), data[2:]...),
		"version":   append([]byte("EC03"), data[4:]...),
		"short":     data[:50],
		"truncated": data[:len(data)-100],
	} {
		_, err := readBRS(bad)
		assert.ErrorIs(t, err, errBRS, name)
	}
}

func TestBibleDocuments(t *testing.T) {
	docs, err := bibleDocuments(string(readFixture(t, "bible.txt")))
	require.NoError(t, err)
	var titles []string
	for _, d := range docs {
		titles = append(titles, d.Title)
		assert.Equal(t, "kjv", d.Source)
		for _, p := range d.Paragraphs {
			assert.LessOrEqual(t, len(p), maxVerseParagraph+300, "paragraph too long")
			assert.NotRegexp(t, `\d+:\d+`, p, "verse references are removed")
		}
	}
	assert.Equal(t, []string{"Genesis 1", "Genesis 2", "Matthew 1", "1 John 1"}, titles)
	assert.True(t, strings.HasPrefix(docs[0].Paragraphs[0], "In the beginning God created the heaven and the earth. And the earth was"))
	assert.Greater(t, len(docs[0].Paragraphs), 1, "verses are grouped into several paragraphs")

	_, err = bibleDocuments("Xyz1:1 Unknown book.\n")
	assert.Error(t, err)
}

func TestReadWordnetData(t *testing.T) {
	f, err := os.Open("testdata/wordnet/data.mixed")
	require.NoError(t, err)
	defer f.Close()
	entries, err := readWordnetData(f)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	byWord := map[string]wordnetEntry{}
	for _, e := range entries {
		require.NotEmpty(t, e.Examples, "only synsets with examples are kept")
		byWord[e.Words[0]] = e
	}
	able, ok := byWord["able"]
	require.True(t, ok)
	assert.Equal(t, "adjective", able.POS)
	assert.Equal(t, "(usually followed by 'to') having the necessary means or skill or know-how or authority to do something", able.Definition)
	assert.Equal(t, "able to swim", able.Examples[0])
	assert.Equal(t, `able (adjective): (usually followed by 'to') having the necessary means or skill or know-how or authority to do something; "able to swim"; "she was able to program her computer"; "we were at last able to buy a car"; "able to get a grant for the project"`, able.Paragraph())
	stim, ok := byWord["stimulate"]
	require.True(t, ok)
	assert.Equal(t, []string{"stimulate", "arouse", "brace"}, stim.Words, "at most three words")
	assert.Equal(t, "verb", stim.POS)

	_, err = readWordnetData(strings.NewReader("00001740 00 q 01 able 0 000 | gloss; \"x\"\n"))
	assert.Error(t, err, "unknown synset type")
	_, err = readWordnetData(strings.NewReader("00001740 00 a zz able 0 000 | gloss; \"x\"\n"))
	assert.Error(t, err, "bad word count")
}

func TestWordnetDocuments(t *testing.T) {
	var entries []wordnetEntry
	for i := range 120 {
		pos := "noun"
		if i >= 100 {
			pos = "verb"
		}
		entries = append(entries, wordnetEntry{Words: []string{"w"}, POS: pos, Definition: "d", Examples: []string{"e"}})
	}
	docs := wordnetDocuments(entries, 0)
	var sizes []int
	var titles []string
	for _, d := range docs {
		sizes = append(sizes, len(d.Paragraphs))
		titles = append(titles, d.Title)
	}
	assert.Equal(t, []int{50, 50, 20}, sizes)
	assert.Equal(t, []string{"WordNet nouns, part 1", "WordNet nouns, part 2", "WordNet verbs, part 1"}, titles)

	per := len(entries[0].Paragraph()) + 1
	docs = wordnetDocuments(entries, 30*per)
	n := 0
	for _, d := range docs {
		n += len(d.Paragraphs)
	}
	assert.InDelta(t, 30, n, 1, "about maxBytes of entries are kept")
	assert.Equal(t, "WordNet verbs", docs[len(docs)-1].Work, "sampling spreads over the whole file")
}

package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// source is one text the corpus can be built from.
type source struct {
	Name    string // short name used in documents and the manifest
	Package string // Debian package holding it
	// Licence summarises the terms of the text itself, from the package's
	// copyright file and the text's history.
	Licence string
	// Check is a phrase the package's copyright file must contain; if a
	// later package version changes its terms, the build stops instead of
	// shipping text under terms nobody read.
	Check string
	// Read turns the unpacked package into documents.
	Read func(p *debianPackage, o options) ([]Document, error)
}

// sources are the texts Unmask's models are trained on, core first.
var sources = []source{
	{
		Name:    "austen",
		Package: "r-cran-janeaustenr",
		Licence: "Public domain: Jane Austen's six novels (1811-1818; she died in 1817), text from Project Gutenberg. The R package that carries them is MIT-licensed (Julia Silge).",
		Check:   "License: MIT",
		Read:    readAusten,
	},
	{
		Name:    "kjv",
		Package: "bible-kjv-text",
		Licence: "Public domain: the King James Version of the Bible (1611); the package's copyright file states the text's copyright has expired. Data file from the Bible Retrieval System (Chip Chapin), free to copy, modify and distribute.",
		Check:   "The copyright for the King James Version text of the Bible is expired",
		Read:    readKJV,
	},
	{
		Name:    "wordnet",
		Package: "wordnet-base",
		Licence: "WordNet 3.0 licence (permissive, BSD-like): use, copy, modify and distribute for any purpose without fee, provided the copyright notice \"WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.\" and the licence appear on all copies. Entries with example sentences, sampled.",
		Check:   "WordNet 3.0 Copyright 2006 by Princeton University",
		Read:    readWordnet,
	},
}

// skippedSources are candidates left out, with the reason, recorded in the
// manifest so the decision is visible.
var skippedSources = []skippedSource{
	{Package: "fortunes", Reason: "the BSD licence covers the fortune program; the quotations come from many authors, some still in copyright, with no clear terms for the texts"},
	{Package: "fortunes-zh", Reason: "Chinese poems: outside the English corpus the models are trained on"},
}

type skippedSource struct {
	Package string `json:"package"`
	Reason  string `json:"reason"`
}

// austenNovels maps the janeaustenr data set names to titles, in
// publication order.
var austenNovels = []struct{ Var, Title string }{
	{"sensesensibility", "Sense and Sensibility"},
	{"prideprejudice", "Pride and Prejudice"},
	{"mansfieldpark", "Mansfield Park"},
	{"emma", "Emma"},
	{"northangerabbey", "Northanger Abbey"},
	{"persuasion", "Persuasion"},
}

func readAusten(p *debianPackage, _ options) ([]Document, error) {
	data, err := readRPackageData(p.Path("/usr/lib/R/site-library/janeaustenr"))
	if err != nil {
		return nil, err
	}
	var docs []Document
	for _, n := range austenNovels {
		v, ok := data[n.Var]
		if !ok {
			return nil, fmt.Errorf("janeaustenr has no data set %q (it has %s)", n.Var, strings.Join(sortedKeys(data), ", "))
		}
		lines, err := novelLines(v)
		if err != nil {
			return nil, fmt.Errorf("janeaustenr %s: %w", n.Var, err)
		}
		d := novelDocuments("austen", n.Title, lines)
		if len(d) == 0 {
			return nil, fmt.Errorf("janeaustenr %s: no chapters found", n.Var)
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// novelLines returns the lines of a novel stored as an R character
// vector, with NA lines read as blank.
func novelLines(v any) ([]string, error) {
	lines, err := characterVector(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if l != rNA {
			out[i] = l
		}
	}
	return out, nil
}

func readKJV(p *debianPackage, _ options) ([]Document, error) {
	data, err := os.ReadFile(p.Path("/usr/lib/bible.data"))
	if err != nil {
		return nil, err
	}
	text, err := readBRS(data)
	if err != nil {
		return nil, err
	}
	return bibleDocuments(string(text))
}

func readWordnet(p *debianPackage, o options) ([]Document, error) {
	var entries []wordnetEntry
	for _, f := range []string{"data.noun", "data.verb", "data.adj", "data.adv"} {
		file, err := os.Open(p.Path("/usr/share/wordnet/" + f))
		if err != nil {
			return nil, err
		}
		e, err := readWordnetData(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		entries = append(entries, e...)
	}
	return wordnetDocuments(entries, o.WordnetBytes), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"unmask/engine/bpe"
)

// manifest describes a built corpus; it is written as manifest.json.
type manifest struct {
	Sources   []sourceInfo      `json:"sources"`
	Skipped   []skippedSource   `json:"skipped"`
	Split     splitInfo         `json:"split"`
	Files     map[string]any    `json:"files"`
	Tokenizer tokenizerInfo     `json:"tokenizer"`
	Tokens    map[string]int    `json:"tokens"`
	SFT       map[string]int    `json:"sft"`
	Formats   map[string]string `json:"formats"`
}

type sourceInfo struct {
	Name       string         `json:"name"`
	Package    string         `json:"package"`
	Version    string         `json:"version"`
	Licence    string         `json:"licence"`
	Copyright  string         `json:"copyright"`
	Documents  map[string]int `json:"documents"`
	Paragraphs map[string]int `json:"paragraphs"`
	Bytes      map[string]int `json:"bytes"`
}

type splitInfo struct {
	Rule             string   `json:"rule"`
	HeldoutDocuments []string `json:"heldout_documents"`
}

type tokenizerInfo struct {
	VocabSize int            `json:"vocab_size"`
	Merges    int            `json:"merges"`
	Specials  map[string]int `json:"specials"`
	TrainTime string         `json:"train_time"`
}

// split names the two parts of the corpus.
var splits = []string{"train", "heldout"}

// isHeldout is the split rule: within each source, the middle document of
// every run of `every` documents is held out (chapters 10, 30, 50, ... for
// every = 20), so held-out text comes from all through each work.
func isHeldout(index, every int) bool { return index%every == every/2 }

func build(o options) error {
	start := time.Now()
	m := manifest{
		Skipped: skippedSources,
		Split: splitInfo{Rule: fmt.Sprintf("by document, per source: document i is held out when i %% %d == %d; documents are chapters (novels, Bible) or runs of %d dictionary entries",
			o.HeldoutEvery, o.HeldoutEvery/2, wordnetEntriesPerDocument)},
		Files:  map[string]any{},
		Tokens: map[string]int{},
		Formats: map[string]string{
			"txt": "UTF-8, one paragraph per line, documents in source order",
			"bin": "token ids as uint16 little-endian; a document's paragraphs are joined by the token of \"\\n\" and followed by <|eos|>",
			"idx": "uint32 little-endian offsets into the .bin of each paragraph's first token",
			"sft": "JSON lines {\"task\", \"prompt\", \"response\", \"source\"}; prompt and response are plain text, to be wrapped in the chat template (engine.ChatPrompt) and the response followed by <|eos|> padding",
		},
	}
	parts := map[string][]Document{}
	for _, s := range sources {
		p, err := fetchPackage(o.Dir, s.Package)
		if err != nil {
			return err
		}
		copyright, err := p.Copyright()
		if err != nil {
			return err
		}
		if !strings.Contains(copyright, s.Check) {
			return fmt.Errorf("%s: copyright file no longer says %q; review its licence before using it", s.Package, s.Check)
		}
		docs, err := s.Read(p, o)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Package, err)
		}
		info := sourceInfo{Name: s.Name, Package: s.Package, Version: p.Version, Licence: s.Licence, Copyright: copyright,
			Documents: map[string]int{}, Paragraphs: map[string]int{}, Bytes: map[string]int{}}
		for i, d := range docs {
			part := "train"
			if isHeldout(i, o.HeldoutEvery) {
				part = "heldout"
				m.Split.HeldoutDocuments = append(m.Split.HeldoutDocuments, d.Title)
			}
			parts[part] = append(parts[part], d)
			info.Documents[part]++
			info.Paragraphs[part] += len(d.Paragraphs)
			for _, para := range d.Paragraphs {
				info.Bytes[part] += len(para) + 1
			}
		}
		m.Sources = append(m.Sources, info)
		fmt.Printf("%-8s %-20s %5d documents %7d paragraphs %9d bytes\n", s.Name, s.Package+" "+p.Version,
			info.Documents["train"]+info.Documents["heldout"], info.Paragraphs["train"]+info.Paragraphs["heldout"], info.Bytes["train"]+info.Bytes["heldout"])
	}
	for _, part := range splits {
		paras, bytes, err := writeText(filepath.Join(o.Out, part+".txt"), parts[part])
		if err != nil {
			return err
		}
		m.Files[part+".txt"] = map[string]int{"documents": len(parts[part]), "paragraphs": paras, "bytes": bytes}
	}

	t0 := time.Now()
	tok, err := bpe.Train(paragraphs(parts["train"]), o.Vocab, bpe.DefaultSpecials)
	if err != nil {
		return err
	}
	m.Tokenizer = tokenizerInfo{VocabSize: tok.VocabSize(), Merges: len(tok.Merges()), Specials: map[string]int{}, TrainTime: time.Since(t0).Round(time.Millisecond).String()}
	for _, name := range tok.Specials() {
		m.Tokenizer.Specials[name], _ = tok.Special(name)
	}
	if err := writeJSON(filepath.Join(o.Out, "tokenizer.json"), tok); err != nil {
		return err
	}
	fmt.Printf("tokenizer: %d ids (%d merges) trained in %s\n", tok.VocabSize(), len(tok.Merges()), m.Tokenizer.TrainTime)

	for _, part := range splits {
		n, err := writeTokens(filepath.Join(o.Out, part), parts[part], tok)
		if err != nil {
			return err
		}
		m.Tokens[part] = n
	}

	sft, err := buildSFT(o, parts, tok)
	if err != nil {
		return err
	}
	m.SFT = sft
	if err := writeJSON(filepath.Join(o.Out, "manifest.json"), m); err != nil {
		return err
	}
	printSummary(o, m, time.Since(start))
	return nil
}

// paragraphs yields every paragraph of docs.
func paragraphs(docs []Document) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, d := range docs {
			for _, p := range d.Paragraphs {
				if !yield(p) {
					return
				}
			}
		}
	}
}

// writeText writes one paragraph per line and returns the paragraph and
// byte counts.
func writeText(path string, docs []Document) (paras, bytes int, err error) {
	err = writeFile(path, func(w io.Writer) error {
		for p := range paragraphs(docs) {
			n, err := fmt.Fprintln(w, p)
			if err != nil {
				return err
			}
			paras++
			bytes += n
		}
		return nil
	})
	return paras, bytes, err
}

// writeTokens writes base.bin and base.idx (see the package comment) and
// returns the number of tokens.
func writeTokens(base string, docs []Document, tok *bpe.Tokenizer) (int, error) {
	eos, _ := tok.Special(bpe.EOS)
	newline := tok.Encode("\n")
	var ids []int
	var starts []uint32
	for _, d := range docs {
		for i, p := range d.Paragraphs {
			if i > 0 {
				ids = append(ids, newline...)
			}
			starts = append(starts, uint32(len(ids)))
			ids = append(ids, tok.Encode(p)...)
		}
		ids = append(ids, eos)
	}
	err := writeFile(base+".bin", func(w io.Writer) error {
		buf := make([]byte, 2*len(ids))
		for i, id := range ids {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(id))
		}
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		return 0, err
	}
	err = writeFile(base+".idx", func(w io.Writer) error {
		return binary.Write(w, binary.LittleEndian, starts)
	})
	return len(ids), err
}

// writeFile writes path through a temporary file, so a failed run never
// leaves a half-written file under the final name.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func writeJSON(path string, v any) error {
	return writeFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func printSummary(o options, m manifest, took time.Duration) {
	fmt.Printf("\n%-8s %9s %10s %11s %10s %11s\n", "split", "documents", "paragraphs", "bytes", "tokens", "bytes/token")
	for _, part := range splits {
		f := m.Files[part+".txt"].(map[string]int)
		fmt.Printf("%-8s %9d %10d %11d %10d %11.2f\n", part, f["documents"], f["paragraphs"], f["bytes"], m.Tokens[part],
			float64(f["bytes"])/float64(max(m.Tokens[part], 1)))
	}
	fmt.Printf("sft      %d train pairs, %d held-out pairs\n", m.SFT["train"], m.SFT["heldout"])
	fmt.Printf("written to %s in %s\n", o.Out, took.Round(time.Millisecond))
}

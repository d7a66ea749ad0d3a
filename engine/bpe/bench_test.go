package bpe

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// zipfText is about n bytes of pseudo-English: words drawn with Zipf
// frequencies from a random lexicon, in sentences and paragraphs, so that
// training and encoding see a realistic spread of word frequencies.
func zipfText(n int) []string {
	r := rand.New(rand.NewPCG(1, 1))
	const letters = "etaoinshrdlucmfwypvbgkjqxz"
	lexicon := make([]string, 20000)
	for i := range lexicon {
		var b strings.Builder
		for range 1 + r.IntN(9) {
			b.WriteByte(letters[min(r.IntN(len(letters)), r.IntN(len(letters)))])
		}
		lexicon[i] = b.String()
	}
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(lexicon)-1))
	var paras []string
	for total := 0; total < n; {
		var b strings.Builder
		for range 40 + r.IntN(80) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(lexicon[zipf.Uint64()])
			if r.IntN(12) == 0 {
				b.WriteString(".")
			}
		}
		paras = append(paras, b.String())
		total += b.Len()
	}
	return paras
}

func BenchmarkTrain(b *testing.B) {
	texts := zipfText(2 << 20)
	b.SetBytes(2 << 20)
	for b.Loop() {
		if _, err := Train(slices.Values(texts), 4096, DefaultSpecials); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	texts := zipfText(1 << 20)
	tok, err := Train(slices.Values(texts), 4096, DefaultSpecials)
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Join(texts, "\n")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

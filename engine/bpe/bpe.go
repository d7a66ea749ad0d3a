// Package bpe is a byte-level byte-pair-encoding tokenizer, the kind GPT-2
// uses: text is split into words by a fixed pre-tokeniser (see Words), each
// word's bytes start as 256 base tokens, and learned merges join adjacent
// tokens in the order they were learned.
//
// Vocabulary layout (ids):
//
//	0 .. 255                 the bytes
//	256 .. 256+merges-1      merged tokens, in merge order
//	last len(specials) ids   special tokens ("eos", "user", "assistant",
//	                         "mask"); "mask" is always the last id
//
// Special tokens are never produced by Encode: ordinary text that spells
// "<|mask|>" encodes as those bytes. A Tokenizer is immutable after Train
// or UnmarshalJSON and safe for concurrent use; it is stored as JSON in the
// model file header.
package bpe

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Special token names. DefaultSpecials lists them in id order.
const (
	EOS       = "eos"
	User      = "user"
	Assistant = "assistant"
	Mask      = "mask"
)

// DefaultSpecials are the special tokens of Unmask's models, in id order;
// mask takes the last id.
var DefaultSpecials = []string{EOS, User, Assistant, Mask}

// ErrFormat reports a tokenizer description that cannot be used.
var ErrFormat = errors.New("bpe: bad tokenizer")

// Pair is one learned merge: tokens Left and Right become one new token.
type Pair struct{ Left, Right int }

// Tokenizer is a trained byte-level BPE vocabulary.
type Tokenizer struct {
	merges   []Pair         // merge i creates token 256+i
	ranks    map[Pair]int   // merge -> its index (lower merges first)
	pieces   []string       // id -> bytes, for ids below the specials
	specials []string       // special names, ids len(pieces)..
	special  map[string]int // name -> id

	mu    sync.RWMutex
	cache map[string][]int // word -> ids
}

// maxCachedWords bounds the per-word cache; past it the cache starts over.
const maxCachedWords = 1 << 16

// New builds a tokenizer from its merge table and special names, checking
// that every merge joins tokens that exist before it.
func New(merges []Pair, specials []string) (*Tokenizer, error) {
	t := &Tokenizer{
		merges:  append([]Pair(nil), merges...),
		ranks:   make(map[Pair]int, len(merges)),
		pieces:  make([]string, 256, 256+len(merges)),
		special: make(map[string]int, len(specials)),
		cache:   make(map[string][]int),
	}
	for b := range 256 {
		t.pieces[b] = string([]byte{byte(b)})
	}
	for i, m := range merges {
		id := 256 + i
		if m.Left < 0 || m.Right < 0 || m.Left >= id || m.Right >= id {
			return nil, fmt.Errorf("%w: merge %d (%d, %d) refers to a token not yet defined", ErrFormat, i, m.Left, m.Right)
		}
		if _, dup := t.ranks[m]; dup {
			return nil, fmt.Errorf("%w: merge %d (%d, %d) repeats an earlier merge", ErrFormat, i, m.Left, m.Right)
		}
		t.ranks[m] = i
		t.pieces = append(t.pieces, t.pieces[m.Left]+t.pieces[m.Right])
	}
	t.specials = orderSpecials(specials)
	for i, name := range t.specials {
		if name == "" || strings.ContainsAny(name, "<|>") {
			return nil, fmt.Errorf("%w: special token name %q", ErrFormat, name)
		}
		if _, dup := t.special[name]; dup {
			return nil, fmt.Errorf("%w: special token %q listed twice", ErrFormat, name)
		}
		t.special[name] = len(t.pieces) + i
	}
	return t, nil
}

// orderSpecials copies names, moving "mask" to the end so that it always
// takes the last id.
func orderSpecials(names []string) []string {
	out := make([]string, 0, len(names))
	hasMask := false
	for _, n := range names {
		if n == Mask {
			hasMask = true
			continue
		}
		out = append(out, n)
	}
	if hasMask {
		out = append(out, Mask)
	}
	return out
}

// VocabSize is the number of ids: bytes, merges and special tokens.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) + len(t.specials) }

// Merges returns a copy of the merge table in merge order.
func (t *Tokenizer) Merges() []Pair { return append([]Pair(nil), t.merges...) }

// Specials returns the special token names in id order.
func (t *Tokenizer) Specials() []string { return append([]string(nil), t.specials...) }

// Special returns the id of a special token, by bare name ("mask") or
// display name ("<|mask|>").
func (t *Tokenizer) Special(name string) (int, bool) {
	name = strings.TrimSuffix(strings.TrimPrefix(name, "<|"), "|>")
	id, ok := t.special[name]
	return id, ok
}

// IsSpecial reports whether id is a special token.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= len(t.pieces) && id < t.VocabSize()
}

// Bytes returns the bytes that an ordinary token stands for (nil for
// special and out-of-range ids).
func (t *Tokenizer) Bytes(id int) []byte {
	if id < 0 || id >= len(t.pieces) {
		return nil
	}
	return []byte(t.pieces[id])
}

// Token is the display text of one id: special tokens as "<|name|>", and
// ordinary tokens as their text, with bytes that are not valid UTF-8 on
// their own (pieces of a multi-byte character) written as \xNN.
func (t *Tokenizer) Token(id int) string {
	switch {
	case id < 0 || id >= t.VocabSize():
		return fmt.Sprintf("<|invalid %d|>", id)
	case id >= len(t.pieces):
		return "<|" + t.specials[id-len(t.pieces)] + "|>"
	}
	p := t.pieces[id]
	if utf8.ValidString(p) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02X`, p[i])
		} else {
			b.WriteString(p[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Decode joins the bytes of ids. Special tokens decode to their display
// names ("<|eos|>"), out-of-range ids to U+FFFD; callers that stop at EOS
// cut the ids first.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id >= 0 && id < len(t.pieces):
			b.WriteString(t.pieces[id])
		case t.IsSpecial(id):
			b.WriteString(t.Token(id))
		default:
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

// Encode turns text into ids. It never produces special ids.
func (t *Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	forEachWord(text, func(w string) { ids = append(ids, t.encodeWord(w)...) })
	return ids
}

// encodeWord returns the ids of one pre-tokeniser word, from the cache
// when it has been seen.
func (t *Tokenizer) encodeWord(w string) []int {
	t.mu.RLock()
	ids, ok := t.cache[w]
	t.mu.RUnlock()
	if ok {
		return ids
	}
	ids = t.mergeWord(w)
	t.mu.Lock()
	if len(t.cache) >= maxCachedWords {
		clear(t.cache)
	}
	t.cache[w] = ids
	t.mu.Unlock()
	return ids
}

// mergeWord applies the merges to the bytes of w, always the adjacent pair
// with the lowest rank first, exactly as they were learned.
func (t *Tokenizer) mergeWord(w string) []int {
	ids := make([]int, len(w))
	for i := range len(w) {
		ids[i] = int(w[i])
	}
	for len(ids) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(ids); i++ {
			if r, ok := t.ranks[Pair{ids[i], ids[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if best < 0 {
			break
		}
		// Merge every occurrence of the best pair, left to right.
		m := t.merges[best]
		out := ids[:0]
		for i := 0; i < len(ids); i++ {
			if i >= at && i+1 < len(ids) && ids[i] == m.Left && ids[i+1] == m.Right {
				out = append(out, 256+best)
				i++
				continue
			}
			out = append(out, ids[i])
		}
		ids = out
	}
	return ids
}

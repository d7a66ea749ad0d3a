// Package words is a word-level tokenizer: every word of a fixed
// vocabulary is one token. The synthetic fact sets use it so that each
// invented name is exactly one token, and an answer is right or wrong as
// a whole.
//
// Text is split into words ('s, runs of letters and digits) and single
// punctuation marks; whitespace only separates them. Decoding puts a space
// before every word and none before punctuation or 's, so the text of the
// fact sets survives a round trip.
package words

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// FormatName and FormatVersion identify the JSON form of a Tokenizer.
const (
	FormatName    = "words"
	FormatVersion = 1
)

// Unknown is the special token an out-of-vocabulary word becomes.
const Unknown = "unk"

// ErrFormat reports a vocabulary that cannot be a tokenizer.
var ErrFormat = errors.New("words: bad tokenizer")

// Tokenizer maps the words of its vocabulary to ids 0..len(words)-1 and
// its special tokens ("eos", "unk", "mask", ...) to the ids after them.
type Tokenizer struct {
	words    []string       // id -> word
	specials []string       // special names, ids len(words)..
	ids      map[string]int // word or "<|name|>" -> id
}

// New builds a tokenizer from a vocabulary of distinct words (each one a
// single token of the splitting rule) and special names; "unk" is added
// when missing, and "mask", if named, takes the last id.
func New(vocab, specials []string) (*Tokenizer, error) {
	t := &Tokenizer{words: append([]string(nil), vocab...), ids: map[string]int{}}
	for i, w := range t.words {
		if got := split(w); len(got) != 1 || got[0] != w {
			return nil, fmt.Errorf("%w: %q is not one word", ErrFormat, w)
		}
		if _, dup := t.ids[w]; dup {
			return nil, fmt.Errorf("%w: %q listed twice", ErrFormat, w)
		}
		t.ids[w] = i
	}
	hasMask, hasUnk := false, false
	for _, s := range specials {
		switch {
		case s == "" || strings.ContainsAny(s, "<|> "):
			return nil, fmt.Errorf("%w: special token name %q", ErrFormat, s)
		case s == "mask":
			hasMask = true
			continue
		case s == Unknown:
			hasUnk = true
		}
		t.specials = append(t.specials, s)
	}
	if !hasUnk {
		t.specials = append(t.specials, Unknown)
	}
	if hasMask {
		t.specials = append(t.specials, "mask")
	}
	for i, s := range t.specials {
		name := "<|" + s + "|>"
		if _, dup := t.ids[name]; dup {
			return nil, fmt.Errorf("%w: special token %q listed twice", ErrFormat, s)
		}
		t.ids[name] = len(t.words) + i
	}
	return t, nil
}

// split cuts text into 's, runs of letters and digits, and single other
// non-space characters, in order.
func split(text string) []string {
	var out []string
	rs := []rune(text)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '\'' && i+1 < len(rs) && rs[i+1] == 's' && (i+2 == len(rs) || !isWordRune(rs[i+2])):
			out = append(out, "'s")
			i += 2
		case isWordRune(r):
			j := i
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			out = append(out, string(rs[i:j]))
			i = j
		default:
			out = append(out, string(r))
			i++
		}
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// VocabSize is the number of ids: words, then special tokens.
func (t *Tokenizer) VocabSize() int { return len(t.words) + len(t.specials) }

// Encode splits text and looks every piece up; "<|name|>" written in the
// text is that special token, an unknown word or special name is <|unk|>.
func (t *Tokenizer) Encode(text string) []int {
	unk := t.ids["<|"+Unknown+"|>"]
	var ids []int
	for len(text) > 0 {
		before, rest, found := strings.Cut(text, "<|")
		for _, w := range split(before) {
			id, ok := t.ids[w]
			if !ok {
				id = unk
			}
			ids = append(ids, id)
		}
		if !found {
			break
		}
		name, after, closed := strings.Cut(rest, "|>")
		if !closed { // a lone "<|"
			ids = append(ids, unk)
			text = rest
			continue
		}
		id, ok := t.ids["<|"+name+"|>"]
		if !ok {
			id = unk // "<|name|>" naming no special token
		}
		ids = append(ids, id)
		text = after
	}
	return ids
}

// Decode joins the tokens' text: a space before each word, none before
// punctuation and 's, nor at the start.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		tok := t.Token(id)
		if b.Len() > 0 && !gluesLeft(tok) {
			b.WriteByte(' ')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// gluesLeft reports a token written without a space before it.
func gluesLeft(tok string) bool {
	if tok == "'s" {
		return true
	}
	rs := []rune(tok)
	return len(rs) == 1 && !isWordRune(rs[0]) && !strings.ContainsRune("(\"", rs[0])
}

// Token is the text of one id: the word, or the special token's
// "<|name|>"; "<|?|>" outside the vocabulary.
func (t *Tokenizer) Token(id int) string {
	switch {
	case id >= 0 && id < len(t.words):
		return t.words[id]
	case id >= len(t.words) && id < t.VocabSize():
		return "<|" + t.specials[id-len(t.words)] + "|>"
	}
	return "<|?|>"
}

// Special returns the id of a special token, by bare name ("mask") or
// display name ("<|mask|>").
func (t *Tokenizer) Special(name string) (int, bool) {
	name = strings.TrimSuffix(strings.TrimPrefix(name, "<|"), "|>")
	id, ok := t.ids["<|"+name+"|>"]
	return id, ok
}

// jsonTokenizer is the stored form.
type jsonTokenizer struct {
	Type     string   `json:"type"`
	Version  int      `json:"version"`
	Words    []string `json:"words"`
	Specials []string `json:"specials"`
}

// MarshalJSON writes the vocabulary and the special names in id order.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonTokenizer{Type: FormatName, Version: FormatVersion, Words: t.words, Specials: t.specials})
}

// UnmarshalJSON reads the stored form, checking it as New does and that
// the ids come out as stored.
func (t *Tokenizer) UnmarshalJSON(data []byte) error {
	var j jsonTokenizer
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if j.Type != FormatName || j.Version != FormatVersion {
		return fmt.Errorf("%w: type %q version %d, want %q version %d", ErrFormat, j.Type, j.Version, FormatName, FormatVersion)
	}
	n, err := New(j.Words, j.Specials)
	if err != nil {
		return err
	}
	if fmt.Sprint(n.specials) != fmt.Sprint(j.Specials) {
		return fmt.Errorf("%w: special tokens %v not in id order (want %v)", ErrFormat, j.Specials, n.specials)
	}
	*t = *n
	return nil
}

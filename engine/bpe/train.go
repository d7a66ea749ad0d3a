package bpe

import (
	"container/heap"
	"fmt"
	"iter"
	"sort"
)

// Train learns a byte-level BPE vocabulary of vocabSize ids (bytes, merges
// and the special tokens) from texts. Each step merges the adjacent pair of
// tokens that occurs most often across the corpus (ties: the pair with the
// smaller ids), so the result is deterministic. Training stops early when
// no pair occurs twice; VocabSize then reports the size reached.
//
// It works on a table of distinct pre-tokeniser words with their counts:
// pair counts are kept incrementally, and a merge rewrites only the words
// that contain the merged pair.
func Train(texts iter.Seq[string], vocabSize int, specials []string) (*Tokenizer, error) {
	nMerges := vocabSize - 256 - len(orderSpecials(specials))
	if nMerges < 0 {
		return nil, fmt.Errorf("bpe: vocabulary of %d cannot hold 256 bytes and %d special tokens", vocabSize, len(specials))
	}
	counts := map[string]int64{}
	for text := range texts {
		forEachWord(text, func(w string) { counts[w]++ })
	}
	tr := newTrainer(counts)
	merges := make([]Pair, 0, nMerges)
	for len(merges) < nMerges {
		p, ok := tr.best()
		if !ok {
			break
		}
		tr.merge(p, 256+len(merges))
		merges = append(merges, p)
	}
	return New(merges, specials)
}

// trainWord is one distinct word: its current tokens and how often it occurs.
type trainWord struct {
	syms []int32
	freq int64
}

// trainer holds the incremental state of BPE training.
type trainer struct {
	words  []trainWord
	counts map[uint64]int64   // pair key -> occurrences across the corpus
	where  map[uint64][]int32 // pair key -> words that contained it (may repeat, may be stale)
	queue  pairQueue          // candidate pairs; entries go stale when counts change
	seen   []int32            // per word, last merge step that visited it
	step   int32
}

func pairKey(a, b int32) uint64 { return uint64(a)<<32 | uint64(uint32(b)) }

func newTrainer(counts map[string]int64) *trainer {
	// Sorted word order makes the where-lists, and so training, independent
	// of map iteration order.
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	t := &trainer{
		words:  make([]trainWord, len(keys)),
		counts: map[uint64]int64{},
		where:  map[uint64][]int32{},
		seen:   make([]int32, len(keys)),
	}
	for i, w := range keys {
		syms := make([]int32, len(w))
		for j := range len(w) {
			syms[j] = int32(w[j])
		}
		t.words[i] = trainWord{syms: syms, freq: counts[w]}
		t.seen[i] = -1
		for j := 0; j+1 < len(syms); j++ {
			k := pairKey(syms[j], syms[j+1])
			t.counts[k] += counts[w]
			t.where[k] = append(t.where[k], int32(i))
		}
	}
	t.queue = make(pairQueue, 0, len(t.counts))
	for k, c := range t.counts {
		t.queue = append(t.queue, pairCount{key: k, count: c})
	}
	heap.Init(&t.queue)
	return t
}

// best pops the most frequent pair, skipping stale queue entries; false
// when no pair occurs at least twice.
func (t *trainer) best() (Pair, bool) {
	for t.queue.Len() > 0 {
		top := heap.Pop(&t.queue).(pairCount)
		if t.counts[top.key] != top.count {
			continue // stale
		}
		if top.count < 2 {
			return Pair{}, false
		}
		return Pair{int(top.key >> 32), int(uint32(top.key))}, true
	}
	return Pair{}, false
}

// merge replaces every occurrence of p by token id in the words that hold
// it, and updates the pair counts of those words.
func (t *trainer) merge(p Pair, id int) {
	a, b, c := int32(p.Left), int32(p.Right), int32(id)
	key := pairKey(a, b)
	changed := map[uint64]struct{}{}
	for _, wi := range t.where[key] {
		if t.seen[wi] == t.step {
			continue
		}
		t.seen[wi] = t.step
		w := &t.words[wi]
		if !containsPair(w.syms, a, b) {
			continue
		}
		for j := 0; j+1 < len(w.syms); j++ {
			k := pairKey(w.syms[j], w.syms[j+1])
			t.counts[k] -= w.freq
			changed[k] = struct{}{}
		}
		out := w.syms[:0]
		for j := 0; j < len(w.syms); j++ {
			if j+1 < len(w.syms) && w.syms[j] == a && w.syms[j+1] == b {
				out = append(out, c)
				j++
				continue
			}
			out = append(out, w.syms[j])
		}
		w.syms = out
		for j := 0; j+1 < len(w.syms); j++ {
			k := pairKey(w.syms[j], w.syms[j+1])
			t.counts[k] += w.freq
			t.where[k] = append(t.where[k], wi)
			changed[k] = struct{}{}
		}
	}
	t.step++
	delete(t.where, key)
	delete(t.counts, key)
	delete(changed, key)
	for k := range changed {
		if n := t.counts[k]; n > 0 {
			heap.Push(&t.queue, pairCount{key: k, count: n})
		} else {
			delete(t.counts, k)
			delete(t.where, k)
		}
	}
}

func containsPair(syms []int32, a, b int32) bool {
	for j := 0; j+1 < len(syms); j++ {
		if syms[j] == a && syms[j+1] == b {
			return true
		}
	}
	return false
}

// pairCount is a queue entry: a pair and its count when it was queued.
type pairCount struct {
	key   uint64
	count int64
}

// pairQueue is a max-heap by count, then by smaller pair key.
type pairQueue []pairCount

func (q pairQueue) Len() int { return len(q) }
func (q pairQueue) Less(i, j int) bool {
	if q[i].count != q[j].count {
		return q[i].count > q[j].count
	}
	return q[i].key < q[j].key
}
func (q pairQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pairQueue) Push(x any)   { *q = append(*q, x.(pairCount)) }
func (q *pairQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

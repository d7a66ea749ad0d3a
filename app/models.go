package main

import "unmask/app/protocol"

// modelEntry is one model the page offers. The list below is the whole
// configuration: add, rename or reorder models here.
type modelEntry struct {
	ID    string // short name used in the URL (?model=)
	Name  string // label in the picker
	File  string // model file under web/, fetched by the engine worker
	Chat  bool   // wrap prompts in the chat template
	About string // one line under the picker
	// Examples are the prompts offered as one-click chips.
	Examples []string
	// BlockLength, Temperature and CFGScale are the sampler settings the
	// model starts with: where its held-out samples or answers were best
	// (web/models/README.md).
	BlockLength int
	Temperature float64
	CFGScale    float64

	// SHA256 (hex) and Size (bytes) pin the file's content: the worker
	// refuses any other file, and caches keep this one by its hash.
	// go test ./app -run Pins -update rewrites them from web/.
	SHA256 string
	Size   int64
}

// models lists the shipped models; the first is the default.
var models = []modelEntry{
	{
		ID:    "base",
		Name:  "Unmask base",
		File:  "models/unmask-base.unmask",
		About: "Pre-trained on public-domain English prose: it continues text.",
		// Blocks of 8 and sampling at temperature 1 are where the base
		// model's samples stop repeating themselves.
		BlockLength: 8, Temperature: 1,
		Examples: []string{
			"It is a truth universally acknowledged, that",
			"And God said unto Moses,",
			"She looked at him and said,",
			"The ___ was ___ and the ___ were quiet.",
		},
		SHA256: "ff6e7d7707b70f34f796d7aadb603d00045e652c0313855c2476d0c1de512d5e",
		Size:   3422080,
	},
	{
		ID:    "instruct",
		Name:  "Unmask instruct",
		File:  "models/unmask-instruct.unmask",
		Chat:  true,
		About: "Fine-tuned on prompt/answer pairs: prompts are wrapped in its chat template.",
		// One block at argmax with guidance: without it the open answers
		// shrink to a word or two; sampling garbles names.
		BlockLength: 48, Temperature: 0, CFGScale: 1,
		Examples: []string{
			"Fill in the blanks:\nIt was a fine ___, and Elizabeth walked out ___.",
			"Repeat this sentence:\nShe was the youngest of the two daughters of a most affectionate, indulgent father.",
			"Name the book this is from:\nAnd God said, Let there be light: and there was light.",
			"Continue this passage:\nEmma was not sorry to be alone with her father.",
			"Use these words, in this order, in one sentence: hath, nations, delivered.",
		},
		SHA256: "bfb1f4db2cd6becf191e9d4cbf455b374955b47e6bda988a572516c8f5c10b80",
		Size:   3422080,
	},
}

// loadRequest asks the engine worker for the model's pinned file.
func (m modelEntry) loadRequest() *protocol.LoadRequest {
	return &protocol.LoadRequest{URL: m.File, SHA256: m.SHA256, Size: m.Size}
}

// modelByID finds a model by its URL name, falling back to the default.
func modelByID(id string) modelEntry {
	for _, m := range models {
		if m.ID == id {
			return m
		}
	}
	return models[0]
}

package main

import (
	"slices"

	"unmask/app/protocol"
)

// modelEntry is one model the page offers. The list below is the whole
// configuration: add, rename or reorder models here.
type modelEntry struct {
	ID   string // short name used in the URL (?model=)
	Name string // label in the picker
	File string // model file under web/, fetched by the engine worker
	Chat bool   // wrap prompts in the chat template
	// Note says, next to the picker, what the model can and cannot do
	// (from its card, web/models/README.md).
	Note string
	// Examples are the prompts offered as one-click chips: only tasks the
	// model does well.
	Examples []example
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
		ID:   "base",
		Name: "Unmask base",
		File: "models/unmask-base.unmask",
		Note: "3.3M parameters, trained here on Jane Austen, the King James Bible and WordNet: " +
			"it continues text and fills blanks in Austen- and Bible-flavoured English, " +
			"locally grammatical but without sense; it is here to show how diffusion decoding works, not to answer questions.",
		// Blocks of 8 and sampling at temperature 1 are where the base
		// model's samples stop repeating themselves.
		BlockLength: 8, Temperature: 1,
		Examples: []example{
			{Prompt: "It is a truth universally acknowledged, that"},
			{Prompt: "And God said unto Moses,"},
			{Prompt: "She looked at him and said,"},
			{Prompt: "The ___ was ___ and the ___ were quiet.", Infill: true},
		},
		SHA256: "520b951f80d0fb9502416fdf322d32998398621d2bc9a13e4eb3672b7453bed1",
		Size:   3422016,
	},
	{
		ID:   "instruct",
		Name: "Unmask instruct",
		File: "models/unmask-instruct.unmask",
		Chat: true,
		Note: "The base model fine-tuned on 21,000 prompt/answer pairs: it repeats a sentence, fills in blanks, " +
			"names which book a passage is from and uses about half of the words it is given; " +
			"open questions get generic answers, so the examples stay with what it can do.",
		// One block at argmax with guidance: without it the open answers
		// shrink to a word or two; sampling garbles names.
		BlockLength: 48, Temperature: 0, CFGScale: 1,
		Examples: []example{
			{Prompt: "Fill in the blanks:\nIt was a fine ___, and Elizabeth walked out ___."},
			{Prompt: "Repeat this sentence:\nShe was the youngest of the two daughters of a most affectionate, indulgent father."},
			{Prompt: "Name the book this is from:\nAnd God said, Let there be light: and there was light."},
			{Prompt: "Use these words, in this order, in one sentence: hath, nations, delivered."},
		},
		SHA256: "d02be6574f3dabe817a6a76a2f2143a5851b705728d19d75d150b4aa3570f43e",
		Size:   3422016,
	},
}

// example is a prompt offered as a chip.
type example struct {
	Prompt string
	// Infill marks a prompt whose ___ blanks are the whole task: the chip
	// sets Length to 0, so nothing is written after them.
	Infill bool
}

// loadRequest asks the engine worker for a model file, pinned when it is
// one the list names.
func loadRequest(file string) *protocol.LoadRequest {
	for _, m := range allModels() {
		if m.File == file {
			return &protocol.LoadRequest{URL: file, SHA256: m.SHA256, Size: m.Size}
		}
	}
	return &protocol.LoadRequest{URL: file}
}

// allModels is the page's models followed by those only the views offer:
// the base's autoregressive twin and the reversal pair.
func allModels() []modelEntry {
	return slices.Concat(models, twinModels, reversalModels)
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

package main

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
}

// models lists the shipped models; the first is the default.
var models = []modelEntry{
	{
		ID:    "base",
		Name:  "Unmask base",
		File:  "models/unmask-base.unmask",
		About: "Pre-trained on public-domain English prose: it continues text.",
		Examples: []string{
			"It is a truth universally acknowledged, that",
			"And God said unto Moses,",
			"She looked at him and said,",
			"The ___ was ___ and the ___ were quiet.",
		},
	},
	{
		ID:    "instruct",
		Name:  "Unmask instruct",
		File:  "models/unmask-instruct.unmask",
		Chat:  true,
		About: "Fine-tuned on prompt/answer pairs: prompts are wrapped in its chat template.",
		Examples: []string{
			"Use these words in one sentence: garden, letter.",
			"Use the noun \"house\" in a sentence.",
			"Name the book this is from:\nAnd God said, Let there be light: and there was light.",
			"Continue this passage:\nIt was a fine morning, and Elizabeth walked out alone.",
		},
	},
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

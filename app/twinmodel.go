package main

// twinModels holds the base model's autoregressive twin
// (web/models/README.md): the base's network, tokenizer and training text,
// trained left to right with the next-token objective. The Compare view
// sets it beside the base; it is not in the page's picker, whose settings
// are a diffusion sampler's.
var twinModels = []modelEntry{
	{
		ID:   "ar",
		Name: "Unmask AR (the base's autoregressive twin)",
		File: "models/unmask-ar.unmask",
		Note: "The base model's network and tokenizer trained on the same text with the next-token objective: " +
			"it writes left to right, one token per forward pass, and cannot see past a blank.",
		Examples: []example{{Prompt: "It is a truth universally acknowledged, that"}},
		SHA256:   "313f34842281bf1ab153a82034861274ca3af1dfe98d1d70144a5d6fff2a6f6b",
		Size:     3422016,
	},
}

package main

import "unmask/engine/reversal"

// reversalModels are the reversal-curse pair (web/models/README.md): two
// models of equal size trained on the same invented facts, one a masked
// diffusion model, one autoregressive. The reversal view asks them its
// questions; the Compare view offers them beside the page's models. They
// are not in the page's picker: they only answer their questions.
var reversalModels = []modelEntry{
	{
		ID:       "reversal-llada",
		Name:     "Reversal LLaDA (masked diffusion)",
		File:     "models/reversal-llada.unmask",
		Note:     "0.9M parameters, masked diffusion, trained on one-way facts about invented people (“A's mentor is B.”).",
		Examples: []example{{Prompt: "Who is Tana's mentor?"}},
		SHA256:   "78643951f5b246a0649140a3fb6e76ef5f2ac45e1b6403b8818bcdeae59875f5",
		Size:     895700,
	},
	{
		ID:       "reversal-ar",
		Name:     "Reversal AR (autoregressive)",
		File:     "models/reversal-ar.unmask",
		Note:     "The same network and data as Reversal LLaDA, trained left to right with the next-token objective.",
		Examples: []example{{Prompt: "Who is Tana's mentor?"}},
		SHA256:   "760d035a756e42c1b9c38cde1add985e24326a2e48ea99f618b594d9a06e3a6b",
		Size:     895700,
	},
}

// reversalQuestions is the questions file the reversal view asks.
const reversalQuestions = "models/" + reversal.File

// anyModelByID finds a model of the page or of the reversal pair; ok is
// false when id names neither.
func anyModelByID(id string) (m modelEntry, ok bool) {
	for _, m := range allModels() {
		if m.ID == id {
			return m, true
		}
	}
	return models[0], false
}

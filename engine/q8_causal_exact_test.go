package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"unmask/engine"
	"unmask/quant/quanttest"
)

// goldenCausal holds, per case of TestQ8CausalSameOnEveryPath, the sha256
// of its steps in JSON as the native Go references produce them.
const goldenCausal = "testdata/q8_causal.golden"

// An int8 causal model decodes with the same bits on every kernel path (so
// also under Node, make test-wasm, through the golden): the incremental pass (the prompt,
// then one position against the cached keys and values) equals the full
// causal pass over each prefix bit for bit, and the generated steps
// (tokens, probabilities, trace candidates), greedy and with temperature,
// are the Go references' and the golden's.
func TestQ8CausalSameOnEveryPath(t *testing.T) {
	c := engine.Config{DModel: 64, NHeads: 4, NKVHeads: 2, NLayers: 2, MLPHiddenSize: 96,
		VocabSize: 1003, EmbeddingSize: 1003, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 64, MaskTokenID: 1002, EOSTokenID: 1001, PadTokenID: 1001, Causal: true}
	model := engine.RandomModel(c, 4).Quantize(32)
	prompt := []int{5, 17, 300, 42, 999, 7}
	cases := []struct {
		name string
		opts engine.Options
	}{
		{"greedy", engine.Options{GenLength: 24, TopK: 5}},
		{"temperature", engine.Options{GenLength: 24, TopK: 8, Temperature: 0.9, Seed: 3, SuppressEOS: true}},
	}
	golden := readStepDigests(t, goldenCausal)
	digests := map[string]string{} // per case, the Go references' steps
	V := c.EmbeddingSize
	for _, path := range quanttest.Paths(t) {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", path, threads), func(t *testing.T) {
				quanttest.Use(t, path)
				st := engine.NewState(model, 0)
				st.Threads = threads
				ids := append(slices.Clone(prompt), 11, 500, 3, 1000, 64)
				cache := engine.NewKVCache(&c, len(ids))
				for pos := len(prompt); pos <= len(ids); pos++ {
					from := pos - 1
					if pos == len(prompt) {
						from = 0
					}
					got, err := st.ForwardPass(ids[:pos], engine.Pass{From: from, To: pos, Cache: cache, Causal: true, Logits: []int{pos - 1}})
					if err != nil {
						t.Fatal(err)
					}
					got = slices.Clone(got)
					full, err := engine.NewState(model, 0).ForwardPass(ids[:pos], engine.Pass{From: 0, To: pos, Causal: true})
					if err != nil {
						t.Fatal(err)
					}
					if i := firstBitDifference(got, full[(pos-1)*V:pos*V]); i >= 0 {
						t.Fatalf("prefix of %d: logit %d of the incremental pass differs from the full pass", pos, i)
					}
				}
				for _, tc := range cases {
					name := tc.name
					var steps []engine.Step
					if _, err := st.Generate(context.Background(), prompt, tc.opts, func(s engine.Step) { steps = append(steps, s) }); err != nil {
						t.Fatal(err)
					}
					if len(steps) < 2 || len(steps[0].Candidates) == 0 {
						t.Fatalf("%s: %d steps, nothing to compare", name, len(steps))
					}
					digest := stepsDigest(t, steps)
					if _, ok := digests[name]; !ok { // the first path is the Go references
						digests[name] = digest
					}
					if digest != digests[name] {
						t.Fatalf("%s: steps differ from the Go references", name)
					}
					if !*update && golden[name] != digests[name] {
						t.Fatalf("%s: steps differ from %s (run go test ./engine -run Q8Causal -update)", name, goldenCausal)
					}
				}
			})
		}
	}
	if *update {
		writeStepDigests(t, goldenCausal, "TestQ8CausalSameOnEveryPath", "Q8Causal", digests)
	}
}

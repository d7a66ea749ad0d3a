package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"unmask/engine"
	"unmask/quant/quanttest"

	"github.com/stretchr/testify/require"
)

// goldenGenerate holds, per case of TestQ8GenerateSameOnEveryPath, the
// sha256 of its steps in JSON as the native Go references produce them.
const goldenGenerate = "testdata/q8_generate.golden"

// An int8 model generates the same steps on every kernel path: the same
// canvases, commits, confidences, probabilities and trace candidates, for
// every remasking rule, with and without temperature, guidance, the
// Fast-dLLM threshold and its prefix and dual caches, and the same as the golden that the native Go
// references wrote (so also under Node). The forward pass is the same
// bits everywhere (TestQ8ForwardSameBitsOnEveryPath) and so is the
// sampler's pass over the vocabulary (quant.ScanLogits), so nothing may
// differ. The vocabulary, 1003, ends in a partial block of 64 and a
// partial vector.
func TestQ8GenerateSameOnEveryPath(t *testing.T) {
	c := engine.Config{DModel: 64, NHeads: 4, NKVHeads: 2, NLayers: 2, MLPHiddenSize: 96,
		VocabSize: 1003, EmbeddingSize: 1003, RopeTheta: 10000, RMSNormEps: 1e-5,
		MaxSequenceLen: 64, MaskTokenID: 1002, EOSTokenID: 1001, PadTokenID: 1001}
	model := engine.RandomModel(c, 3).Quantize(32)
	prompt := []int{5, 17, 300, 42, 999, 1002, 7}
	base := engine.Options{Steps: 8, GenLength: 16, BlockLength: 8, TopK: 5, Seed: 9}
	cases := map[string]func(*engine.Options){
		"low_confidence":   func(o *engine.Options) { o.Remasking = engine.LowConfidence },
		"margin":           func(o *engine.Options) { o.Remasking = engine.Margin },
		"entropy":          func(o *engine.Options) { o.Remasking = engine.Entropy; o.SuppressEOS = true },
		"random":           func(o *engine.Options) { o.Remasking = engine.Random; o.Temperature = 0.7 },
		"temperature+cfg":  func(o *engine.Options) { o.Remasking = engine.LowConfidence; o.Temperature = 1.3; o.CFGScale = 0.5 },
		"threshold+margin": func(o *engine.Options) { o.Remasking = engine.Margin; o.Threshold = 0.05; o.TopK = 64 },
		"prefix+cfg": func(o *engine.Options) {
			o.Remasking = engine.LowConfidence
			o.CFGScale = 0.5
			o.Cache = engine.PrefixCache
		},
		"dual+threshold": func(o *engine.Options) {
			o.Remasking = engine.LowConfidence
			o.Threshold = 0.05
			o.Cache = engine.DualCache
		},
	}
	golden := readStepDigests(t, goldenGenerate)
	digests := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		edit := cases[name]
		opts := base
		edit(&opts)
		var want []engine.Step
		for _, path := range quanttest.Paths(t) {
			t.Run(fmt.Sprintf("%s/%s", name, path), func(t *testing.T) {
				quanttest.Use(t, path)
				var steps []engine.Step
				st := engine.NewState(model, 0)
				out, err := st.Generate(context.Background(), prompt, opts, func(s engine.Step) { steps = append(steps, s) })
				require.NoError(t, err)
				if len(steps) == 0 || len(steps[0].Candidates) == 0 || len(out) != len(prompt)+opts.GenLength {
					require.Failf(t, "unexpected result", "%d steps, output %v: nothing to compare", len(steps), out)
				}
				digest := stepsDigest(t, steps)
				if want == nil { // the first path is the Go references
					want = steps
					digests[name] = digest
				}
				if !*update && golden[name] != digest {
					require.Failf(t, "unexpected result", "steps differ from %s (run go test ./engine -run Q8Generate -update)", goldenGenerate)
				}
				for i := range want {
					if i >= len(steps) || !reflect.DeepEqual(steps[i], want[i]) {
						require.Failf(t, "unexpected result", "step %d differs from the Go references:\n got %+v\nwant %+v", i, at(steps, i), want[i])
					}
				}
				if len(steps) != len(want) {
					require.Failf(t, "unexpected result", "%d steps, the Go references %d", len(steps), len(want))
				}
			})
		}
	}
	if *update {
		writeStepDigests(t, goldenGenerate, "TestQ8GenerateSameOnEveryPath", "Q8Generate", digests)
	}
}

// stepsDigest is the sha256 (hex) of the steps' JSON: what the step
// goldens pin per case.
func stepsDigest(t *testing.T, steps []engine.Step) string {
	t.Helper()
	data, err := json.Marshal(steps)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// readStepDigests reads a step golden's "case digest" rows.
func readStepDigests(t *testing.T, path string) map[string]string {
	t.Helper()
	golden := map[string]string{}
	for _, row := range readGolden(t, path) {
		name, digest, _ := strings.Cut(row, " ")
		golden[name] = digest
	}
	return golden
}

// writeStepDigests writes a step golden: one "case digest" row per case,
// sorted, under a comment naming the test and its -run pattern.
func writeStepDigests(t *testing.T, path, test, run string, digests map[string]string) {
	t.Helper()
	var rows []string
	for _, name := range slices.Sorted(maps.Keys(digests)) {
		rows = append(rows, name+" "+digests[name])
	}
	writeGolden(t, path, "# sha256 of the JSON of each case's steps ("+test+") with the Go references;\n"+
		"# written by go test ./engine -run "+run+" -update\n", rows)
}

func at(steps []engine.Step, i int) any {
	if i < len(steps) {
		return steps[i]
	}
	return "missing"
}

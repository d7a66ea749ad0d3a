package engine_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"unmask/engine"
	"unmask/quant/quanttest"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/q8_forward.golden and q8_generate.golden from the Go references")

// goldenForward holds, for the forward pass of the benchmark-shaped int8
// model over 64 tokens, the sha256 of each token's logits (float32, little
// endian), as the Go references compute them.
const goldenForward = "testdata/q8_forward.golden"

// An int8 model's logits are the same bits on every kernel path: the Go
// references, the native kernels and the WebAssembly ones (natively
// through wazero; under Node, make test-wasm, SIMD128 and relaxed SIMD),
// on one goroutine or two, and the same as the golden, which the native Go
// references wrote.
func TestQ8ForwardSameBitsOnEveryPath(t *testing.T) {
	model := engine.RandomModel(engine.BenchConfig(), 1).Quantize(0)
	ids := make([]int, 64)
	for i := range ids {
		ids[i] = (i*577 + 3) % model.Config.VocabSize
	}
	want := readGolden(t, goldenForward)
	for _, path := range quanttest.Paths(t) {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", path, threads), func(t *testing.T) {
				quanttest.Use(t, path)
				st := engine.NewState(model, len(ids))
				st.Threads = threads
				logits, err := st.Forward(ids)
				require.NoError(t, err)
				got := rowDigests(logits, model.Config.EmbeddingSize)
				if *update && path == "go" && threads == 1 {
					writeGoldenForward(t, got)
					want = got
				}
				if len(want) != len(got) {
					require.Failf(t, "unexpected result", "%s has %d rows, the pass %d (run go test ./engine -run Q8Forward -update)", goldenForward, len(want), len(got))
				}
				for i := range got {
					if got[i] != want[i] {
						require.Failf(t, "unexpected result", "logits of token %d differ from %s (first values %v)", i, goldenForward,
							logits[i*model.Config.EmbeddingSize:][:4])
					}
				}
			})
		}
	}
}

func rowDigests(logits []float32, width int) []string {
	var rows []string
	buf := make([]byte, 4*width)
	for r := 0; r < len(logits)/width; r++ {
		for i, v := range logits[r*width : (r+1)*width] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		sum := sha256.Sum256(buf)
		rows = append(rows, hex.EncodeToString(sum[:]))
	}
	return rows
}

// readGolden returns the lines of a golden file that are not comments.
func readGolden(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) && *update {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var rows []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			rows = append(rows, line)
		}
	}
	require.NoError(t, sc.Err())
	return rows
}

func writeGoldenForward(t *testing.T, rows []string) {
	writeGolden(t, goldenForward, "# sha256 of each token's float32 logits (little endian): engine.RandomModel(engine.BenchConfig(), 1).Quantize(0)\n"+
		"# over 64 tokens, (i*577+3) % vocab; written by go test ./engine -run Q8Forward -update\n", rows)
}

// writeGolden writes a golden file: its comment lines, then one row a line.
func writeGolden(t *testing.T, path, comment string, rows []string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(comment+strings.Join(rows, "\n")+"\n"), 0o644))
}

// Package genbench times generation in each of Fast-dLLM's modes side by
// side: no cache, prefix cache and dual cache, each without and with a
// confidence threshold, on one model and prompt. The modes take turns
// round by round, and each keeps its fastest round, so that other work on
// a shared machine disturbs them alike; compare the modes by their ratios
// within one run. llada bench and tools/benchwasm (natively and under
// Node) report these tables.
package genbench

import (
	"context"
	"fmt"
	"io"
	"time"

	"unmask/engine"
)

// Mode is one way to decode: a cache mode and a threshold (0: the linear
// schedule).
type Mode struct {
	Cache     engine.Cache
	Threshold float64
}

// Modes lists none, prefix and dual, each without and then with threshold.
func Modes(threshold float64) []Mode {
	var modes []Mode
	for _, c := range engine.Caches {
		modes = append(modes, Mode{c, 0}, Mode{c, threshold})
	}
	return modes
}

// Row is one mode's figures.
type Row struct {
	Cache     engine.Cache `json:"cache"`
	Threshold float64      `json:"threshold"`
	// MSPerToken is the fastest round's time over the generated tokens.
	MSPerToken float64 `json:"ms_per_token"`
	// ForwardPasses and PositionsComputed count the work of one generation:
	// passes run, and canvas positions run through the Transformer.
	ForwardPasses     int `json:"forward_passes"`
	PositionsComputed int `json:"positions_computed"`
	// Speedup is the first mode's time (none, no threshold) over this one's.
	Speedup float64 `json:"speedup"`
	// SameTokens is the share of generated tokens equal to the first mode's.
	SameTokens float64 `json:"same_tokens"`
}

// Run generates GenLength tokens after prompt with base's options in every
// mode, rounds times each, taking turns. The first mode is the reference
// of Speedup and SameTokens. Each mode first runs once with an observer,
// untimed, to count its work (and warm up); the timed rounds run without
// one, as a plain generation does.
func Run(ctx context.Context, st *engine.State, prompt []int, base engine.Options, modes []Mode, rounds int) ([]Row, error) {
	if rounds < 1 || len(modes) == 0 {
		return nil, fmt.Errorf("genbench: %d rounds of %d modes", rounds, len(modes))
	}
	rows := make([]Row, len(modes))
	outputs := make([][]int, len(modes))
	fastest := make([]time.Duration, len(modes))
	for i, m := range modes {
		o := base
		o.Cache, o.Threshold = m.Cache, m.Threshold
		r := &rows[i]
		r.Cache, r.Threshold = m.Cache, m.Threshold
		out, err := st.Generate(ctx, prompt, o, func(s engine.Step) {
			r.ForwardPasses += s.Passes
			r.PositionsComputed += s.Passes * (s.ComputedTo - s.ComputedFrom)
		})
		if err != nil {
			return nil, err
		}
		outputs[i] = out
		fastest[i] = time.Duration(1<<63 - 1)
	}
	for range rounds {
		for i, m := range modes {
			o := base
			o.Cache, o.Threshold = m.Cache, m.Threshold
			start := time.Now()
			if _, err := st.Generate(ctx, prompt, o, nil); err != nil {
				return nil, err
			}
			fastest[i] = min(fastest[i], time.Since(start))
		}
	}
	for i := range rows {
		rows[i].MSPerToken = fastest[i].Seconds() * 1000 / float64(base.GenLength)
		rows[i].Speedup = fastest[0].Seconds() / fastest[i].Seconds()
		same := 0
		for p := len(prompt); p < len(outputs[i]); p++ {
			if outputs[i][p] == outputs[0][p] {
				same++
			}
		}
		rows[i].SameTokens = float64(same) / float64(len(outputs[i])-len(prompt))
	}
	return rows, nil
}

// Table writes rows as an aligned text table under a title.
func Table(w io.Writer, title string, rows []Row) {
	fmt.Fprintf(w, "%s\n  %-7s %-9s %12s %8s %10s %8s %6s\n", title,
		"cache", "threshold", "ms/token", "passes", "positions", "speedup", "same")
	for _, r := range rows {
		th := "-"
		if r.Threshold > 0 {
			th = fmt.Sprint(r.Threshold)
		}
		fmt.Fprintf(w, "  %-7s %-9s %12.2f %8d %10d %7.1fx %5.0f%%\n", r.Cache, th,
			r.MSPerToken, r.ForwardPasses, r.PositionsComputed, r.Speedup, 100*r.SameTokens)
	}
}

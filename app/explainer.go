package main

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
	"unmask/engine"
)

// explainSentence is the sentence the forward-process demo masks.
const explainSentence = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife."

// explainer is the "How it works" panel: the forward masking process on a
// sentence with a slider for t and the model's predictions for the masks,
// then short notes on the mask predictor, the reverse process, remasking,
// blocks, guidance and how this differs from autoregressive generation.
//
// It runs the model through its own engine client (and worker), so asking
// it never disturbs the page's generation.
type explainer struct {
	app.Compo

	ModelFile string // the model to explain with (modelEntry.File)
	Start     bool   // the page's model is ready: load this one now
	Order     []int  // the step that filled each generated position of the page's last generation

	client   *engineClient
	near     bool // the panel is on screen or close to it
	observer app.Value
	loaded   string // ModelFile of the model the worker holds
	loading  bool
	model    *protocol.ModelInfo
	sentence []int              // the demo sentence's ids (nil until a model is loaded)
	masked   []int              // the masked sentence last sent to the model
	result   *protocol.StepInfo // the model's step on masked
	busy     bool
	problem  string // why the demo cannot run

	t      float64 // the masking level
	picked int     // the demo position whose candidates are listed, -1 for none
}

// OnInit starts the demo with some of the sentence masked.
func (e *explainer) OnInit() { e.t, e.picked = explainStartT, -1 }

func (e *explainer) OnMount(ctx app.Context) {
	if app.IsServer {
		return
	}
	e.client = newEngineClient(ctx.Dispatch)
	e.client.OnRestart = func(ctx app.Context, _ error) { e.loaded = ""; e.OnUpdate(ctx) }
	e.client.OnWorkerError = func(ctx app.Context, err error) { e.busy, e.loading, e.problem = false, false, err.Error() }
	e.watchNear(ctx)
	e.OnUpdate(ctx)
}

// watchNear marks the panel near once it comes within a screen of the
// viewport: a visitor who never scrolls to it never starts its worker.
func (e *explainer) watchNear(ctx app.Context) {
	ctor := app.Window().Get("IntersectionObserver")
	if !ctor.Truthy() {
		e.near = true
		return
	}
	var seen app.Func
	seen = app.FuncOf(func(_ app.Value, args []app.Value) any {
		entries := args[0]
		for i := range entries.Length() {
			if entries.Index(i).Get("isIntersecting").Bool() {
				e.observer.Call("disconnect")
				seen.Release()
				ctx.Dispatch(func(ctx app.Context) { e.near = true; e.OnUpdate(ctx) })
				break
			}
		}
		return nil
	})
	e.observer = ctor.New(seen, map[string]any{"rootMargin": "100% 0px"})
	e.observer.Call("observe", e.JSValue())
}

func (e *explainer) OnDismount() {
	if e.observer != nil && e.observer.Truthy() {
		e.observer.Call("disconnect")
	}
	if e.client != nil && e.client.link != nil {
		e.client.link.Close()
	}
}

// OnUpdate loads the page's model once the page has it ready and the panel
// is near the screen, so the explainer's download and worker never slow
// the page's own.
func (e *explainer) OnUpdate(ctx app.Context) {
	if e.client == nil || !e.Start || !e.near || e.loaded == e.ModelFile {
		return
	}
	if e.client.link == nil {
		if err := e.client.Start(); err != nil {
			e.problem = err.Error()
			return
		}
	}
	e.loaded, e.loading, e.model, e.sentence, e.masked, e.result, e.busy, e.problem = e.ModelFile, true, nil, nil, nil, nil, false, ""
	file := e.ModelFile
	fail := func(ctx app.Context, err *engineError) {
		if file == e.loaded {
			e.busy, e.loading, e.problem = false, false, err.Error()
		}
	}
	e.client.Load(ctx, file, nil, func(ctx app.Context, m *protocol.ModelInfo) {
		if file != e.loaded {
			return
		}
		e.model, e.loading = m, false
		e.client.TokenizeText(ctx, explainSentence, func(ctx app.Context, ids []int) {
			if file != e.loaded {
				return
			}
			e.sentence = ids
			// The demo opens with the model's guesses for its masked
			// sentence (one forward pass in the worker).
			e.ask(ctx)
		}, fail)
	}, fail)
}

func (e *explainer) maskID() int {
	if e.model == nil {
		return -1
	}
	return e.model.Config.MaskTokenID
}

func (e *explainer) tokens() []string {
	if e.model == nil {
		return nil
	}
	return e.model.Tokens
}

// explainStartT is the masking level the demo opens with.
const explainStartT = 0.4

// maskLevel is the fixed uniform draw of position i: position i is masked
// at time t when maskLevel(i) < t, so raising t only ever adds masks, as
// in one draw of the forward process.
func maskLevel(i int) float64 {
	x := uint32(i)*2654435761 + 0x9e3779b9
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	return float64(x%10000) / 10000
}

// masked is the sentence at time t.
func maskedAt(ids []int, t float64, mask int) []int {
	out := slices.Clone(ids)
	for i := range out {
		if maskLevel(i) < t {
			out[i] = mask
		}
	}
	return out
}

// ask has the model predict the masks of the sentence at level t: one step
// of a generation that only infills.
func (e *explainer) ask(ctx app.Context) {
	if len(e.sentence) == 0 || e.busy {
		return
	}
	ids := maskedAt(e.sentence, e.t, e.maskID())
	if !slices.Contains(ids, e.maskID()) {
		return
	}
	e.masked, e.result, e.busy = ids, nil, true
	file := e.loaded
	e.client.Generate(ctx, protocol.GenerateRequest{
		IDs: ids, Options: protocol.WireOptions(engine.Options{Steps: 1, Remasking: engine.LowConfidence, TopK: 3}),
	}, func(ctx app.Context, s protocol.StepInfo) {
		if file == e.loaded && e.result == nil {
			e.result = &s
		}
	}, func(ctx app.Context, _ *protocol.DoneInfo) {
		e.busy = false
	}, func(ctx app.Context, err *engineError) {
		e.busy, e.problem = false, err.Error()
	})
}

func (e *explainer) Render() app.UI {
	return app.Section().Class("explainer").ID("how").Aria("label", "How it works").Body(
		app.H2().Text("How it works"),
		app.Div().Class("explain-grid").Body(
			app.Article().Class("card wide").Body(
				app.H3().Text("1 · The forward process: masking"),
				app.P().Text("Training takes a sentence, draws a time t between 0 and 1, and replaces each token by [MASK] with probability t. "+
					"Move t and watch the sentence disappear; then ask the model to guess the masked tokens from everything that is left, on both sides."),
				e.renderDemo(),
			),
			card("2 · The mask predictor",
				"A Transformer like LLaMA (RMSNorm, SiLU-gated MLP, rotary positions) but with bidirectional attention: every position sees every other. "+
					"It reads the whole canvas, masks included, and predicts a token for every masked position at once. "+
					"It is trained only on the masked positions, with the loss divided by t."),
			app.Article().Class("card").Body(
				app.H3().Text("3 · The reverse process: unmasking"),
				app.P().Text("Generation runs the forward process backwards. The canvas starts as the prompt plus a row of masks. "+
					"Each step predicts every masked token, keeps some of the predictions and leaves the rest masked for later steps, "+
					"so the text appears in the order the model is surest of, not left to right."),
				e.renderOrder(),
			),
			card("4 · Remasking: which predictions to keep",
				"Low confidence remasking keeps the predictions with the highest probability and re-masks the rest; random keeps a random subset. "+
					"Margin (the gap between the best and second-best token) and entropy come from Dream. "+
					"With a parallel threshold, every prediction above it is kept at once, so easy stretches take fewer steps."),
			card("5 · Blocks: semi-autoregressive",
				"The canvas can be cut into blocks that are filled one after another, left to right, each with its share of the steps. "+
					"Inside a block, order is free; between blocks, it is left to right. One block is pure diffusion; blocks of one token are autoregressive."),
			card("6 · Classifier-free guidance",
				"Each step also runs the model with the prompt masked out, and pushes the logits away from that unconditional guess: "+
					"logits = u + (scale + 1)(c − u). It follows the prompt more closely and costs a second forward pass."),
			app.Article().Class("card").Body(
				app.H3().Text("7 · Diffusion versus autoregressive"),
				app.P().Text("An autoregressive model writes one token per forward pass, left to right, and never revises. "+
					"A masked diffusion model fills many positions per pass, in any order, and can fill blanks in the middle of a text (try ___ in the prompt). "+
					"Fewer steps are faster but commit more tokens at once, which costs quality."),
				app.P().Body(pageLink("?view=compare&preset=ar", "Watch the base model beside its autoregressive twin →")),
			),
		),
	)
}

// renderOrder shows when each position of the last generation was filled.
func (e *explainer) renderOrder() app.UI {
	if len(e.Order) == 0 {
		return app.P().Class("help").Text("Generate something: the order in which its positions were filled appears here.")
	}
	return fillOrder(e.Order, "Your last generation, position by position: the number is the step that filled it, darker is earlier.")
}

func card(title, text string) app.UI {
	return app.Article().Class("card").Body(app.H3().Text(title), app.P().Text(text))
}

func (e *explainer) renderDemo() app.UI {
	if e.problem != "" {
		return app.P().Class("problem").Text("The demo cannot run: " + e.problem)
	}
	if len(e.sentence) == 0 {
		return app.P().Class("help").Text("The demo appears once a model with a tokenizer is loaded.")
	}
	ids := maskedAt(e.sentence, e.t, e.maskID())
	current := e.result != nil && slices.Equal(ids, e.masked)
	count := 0
	for _, id := range ids {
		if id == e.maskID() {
			count++
		}
	}
	return app.Div().Class("demo").Body(
		app.Div().Class("field inline").Body(
			app.Label().For("mask-t").Body(app.Text("t = "), app.Output().For("mask-t").Text(fmt.Sprintf("%.2f", e.t))),
			app.Input().Type("range").ID("mask-t").Min(0).Max(1).Step(0.01).Value(e.t).
				Aria("valuetext", fmt.Sprintf("t %.2f, %d of %d tokens masked", e.t, count, len(ids))).
				OnInput(func(ctx app.Context, ev app.Event) {
					if f, err := strconv.ParseFloat(ctx.JSSrc().Get("value").String(), 64); err == nil {
						e.t = f
					}
				}).
				OnChange(func(ctx app.Context, ev app.Event) { e.ask(ctx) }),
			app.Span().Class("help").Text(fmt.Sprintf("%d of %d tokens masked", count, len(ids))),
			app.Button().Type("button").Class("secondary").Disabled(e.busy || count == 0).
				OnClick(func(ctx app.Context, ev app.Event) { e.ask(ctx) }).
				Text("Ask the model"),
		),
		app.Div().Class("canvas demo-canvas").Body(app.Range(ids).Slice(func(i int) app.UI {
			if ids[i] != e.maskID() {
				return app.Span().Class("cell kept").Text(displayToken(e.tokens(), ids[i]))
			}
			truth := displayToken(e.tokens(), e.sentence[i])
			if !current || len(e.result.Candidates[i]) == 0 {
				return app.Span().Class("cell masked").Title("masked; the original is “" + truth + "”")
			}
			best := e.result.Candidates[i][0]
			cls := "cell new"
			if best.Token == e.sentence[i] {
				cls += " hit"
			}
			if i == e.picked {
				cls += " selected"
			}
			pos := i
			return app.Span().Class(cls).Style("--p", fmt.Sprintf("%.3f", best.Prob)).
				Title(fmt.Sprintf("model: “%s” (%.0f%%); original: “%s”", displayToken(e.tokens(), best.Token), 100*best.Prob, truth)).
				OnClick(func(ctx app.Context, ev app.Event) { e.picked = pos }, pos).
				Text(displayToken(e.tokens(), best.Token))
		})),
		e.renderScoreIf(current, ids),
	)
}

// renderScoreIf is renderScore when the model's answer is for this
// sentence (app.If would evaluate its argument either way).
func (e *explainer) renderScoreIf(current bool, ids []int) app.UI {
	if !current {
		return app.Text("")
	}
	return e.renderScore(ids)
}

// renderScore says how many masked tokens the model got right, and lists
// the candidates of the guess last tapped.
func (e *explainer) renderScore(ids []int) app.UI {
	right, masked := 0, 0
	for i, id := range ids {
		if id != e.maskID() {
			continue
		}
		masked++
		if c := e.result.Candidates[i]; len(c) > 0 && c[0].Token == e.sentence[i] {
			right++
		}
	}
	var picked app.UI = app.Text("")
	if c := e.result.Candidates[e.picked]; e.picked >= 0 && e.picked < len(ids) && len(c) > 0 {
		picked = app.Ol().Class("candidates").Body(app.Range(c).Slice(func(k int) app.UI {
			cls := "candidate"
			if c[k].Token == e.sentence[e.picked] {
				cls += " chosen"
			}
			return app.Li().Class(cls).Body(
				app.Span().Class("tok").Text(displayToken(e.tokens(), c[k].Token)),
				app.Span().Class("bar").Style("--w", fmt.Sprintf("%.1f%%", 100*c[k].Prob)),
				app.Span().Class("prob").Text(fmt.Sprintf("%.1f%%", 100*c[k].Prob)),
			)
		}))
	}
	return app.Div().Body(
		app.P().Class("help").Text(fmt.Sprintf("The model's best guess is the original token for %d of the %d masks. "+
			"Greener cells are surer guesses; ✓ marks a right one; tap a guess for its top candidates (the original in bold). "+
			"Raise t and watch the guesses get worse: with less context, more masks are ambiguous.", right, masked)),
		picked,
	)
}

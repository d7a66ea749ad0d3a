package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"unmask/app/protocol"
	"unmask/engine/reversal"
)

// reversalView is the reversal curse, live: the pair of reversal models
// (reversalmodels.go) answer a held-out fact forwards and backwards side by
// side, and a quiz asks them every held-out question both ways, scored as
// `llada reversal` scores them (package engine/reversal).
type reversalView struct {
	app.Compo

	set     *reversal.Set
	problem string // why the questions cannot be asked

	sides  [2]*sideRunner // reversalModels order: LLaDA, AR
	picked int            // index of the fact asked about
	asked  *reversal.Item
	dir    string    // the direction of asked: "forward" or "backward"
	answer [2]string // each side's answer to asked
	done   [2]bool
	view   int // the step both canvases show while animating

	quizzing bool
	quiz     [2][2]quizCell // [side][direction]
}

// quizCell is one cell of the 2x2 table.
type quizCell struct{ Right, Asked, Total int }

// newReversalView is the reversal view's constructor.
func newReversalView() app.Composer { return &reversalView{} }

// directions of the questions, in table order.
var reversalDirections = [2]string{"forward", "backward"}

func (v *reversalView) OnMount(ctx app.Context) {
	if app.IsServer {
		return
	}
	for i := range v.sides {
		v.sides[i] = newSideRunner(ctx)
		v.sides[i].withModel(ctx, reversalModels[i].File, func(app.Context) {})
	}
	// The site serves web/ beside its page, under whatever path it has.
	u := ctx.Page().URL().ResolveReference(&url.URL{Path: "web/" + reversalQuestions}).String()
	ctx.Async(func() {
		set, err := fetchQuestions(u)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				v.problem = err.Error()
				return
			}
			v.set = set
		})
	})
}

func (v *reversalView) OnDismount() {
	for _, s := range v.sides {
		if s != nil {
			s.close()
		}
	}
}

func fetchQuestions(u string) (*reversal.Set, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return reversal.Parse(data)
}

// ready says whether both models and the questions are there and nothing
// runs.
func (v *reversalView) ready() bool {
	if v.set == nil || v.quizzing {
		return false
	}
	for _, s := range v.sides {
		if s == nil || s.model == nil || s.busy() {
			return false
		}
	}
	return true
}

// ask puts one question to both models; their canvases animate the answer.
func (v *reversalView) ask(ctx app.Context, it reversal.Item, dir string) {
	if !v.ready() {
		return
	}
	v.asked, v.dir, v.answer, v.done, v.view = &it, dir, [2]string{}, [2]bool{}, 0
	for i, s := range v.sides {
		side := i
		v.question(ctx, s, it, true, func(ctx app.Context, answer string) {
			v.answer[side], v.done[side] = answer, true
			if v.done[0] && v.done[1] {
				v.animate(ctx)
			}
		})
	}
}

// animate steps both canvases from the masks to the answer, so the order
// each model wrote in can be seen (the models answer in milliseconds).
func (v *reversalView) animate(ctx app.Context) {
	longest := 0
	for _, s := range v.sides {
		if s.trace != nil {
			longest = max(longest, s.trace.Len())
		}
	}
	if v.view >= longest {
		return
	}
	ctx.After(400*time.Millisecond, func(ctx app.Context) {
		v.view++
		v.animate(ctx)
	})
}

// question asks one question of one model as `llada reversal` does
// (reversal.Options on the question's tokens) and hands on the answer
// ("" after an error, which the side shows). With show the side keeps the
// trace for its canvas.
func (v *reversalView) question(ctx app.Context, s *sideRunner, it reversal.Item, show bool, then func(app.Context, string)) {
	fail := func(ctx app.Context, err *engineError) { s.err = err.Error(); then(ctx, "") }
	s.client.TokenizeText(ctx, it.Question, func(ctx app.Context, ids []int) {
		opts, err := reversal.Options(len(ids), v.set.Canvas)
		if err != nil {
			fail(ctx, &engineError{Message: err.Error()})
			return
		}
		if show {
			opts.TopK = 3
		}
		req := protocol.GenerateRequest{IDs: ids, Options: protocol.WireOptions(opts)}
		if show {
			s.generate(ctx, req, nil, func(ctx app.Context, d *protocol.DoneInfo) {
				if d == nil {
					then(ctx, "")
					return
				}
				then(ctx, reversal.Clean(d.Text))
			})
			return
		}
		s.client.Generate(ctx, req, nil, func(ctx app.Context, d *protocol.DoneInfo) {
			then(ctx, reversal.Clean(d.Text))
		}, fail)
	}, fail)
}

// runQuiz asks every held-out question of both directions of both models;
// the two models work at once, each in its own worker, and the table fills
// as answers come.
func (v *reversalView) runQuiz(ctx app.Context) {
	if !v.ready() {
		return
	}
	v.quizzing = true
	n := len(v.set.Forward)
	for i := range v.quiz {
		for d := range v.quiz[i] {
			v.quiz[i][d] = quizCell{Total: n}
		}
	}
	for i := range v.sides {
		v.quizNext(ctx, i, 0)
	}
}

// quizNext asks side its k-th question (forward ones first).
func (v *reversalView) quizNext(ctx app.Context, side, k int) {
	n := len(v.set.Forward)
	if k >= 2*n {
		if v.quizOver() {
			v.quizzing = false
		}
		return
	}
	dir, items := 0, v.set.Forward
	if k >= n {
		dir, items = 1, v.set.Backward
	}
	it := items[k%n]
	v.question(ctx, v.sides[side], it, false, func(ctx app.Context, answer string) {
		c := &v.quiz[side][dir]
		c.Asked++
		if reversal.Correct(answer, it) {
			c.Right++
		}
		v.quizNext(ctx, side, k+1)
	})
}

func (v *reversalView) quizOver() bool {
	for i := range v.quiz {
		for d := range v.quiz[i] {
			if c := v.quiz[i][d]; c.Total == 0 || c.Asked < c.Total {
				return false
			}
		}
	}
	return true
}

func (v *reversalView) Render() app.UI {
	status := "Loading the two models and their questions…"
	switch {
	case v.problem != "":
		status = "The questions cannot be loaded: " + v.problem
	case v.quizzing:
		status = "Running the quiz…"
	case v.ready():
		status = "Ready: pick a person and ask."
	}
	return app.Div().Class("page").Body(
		&appHeader{Status: status, StatusError: v.problem != ""},
		newViewNav(viewReversal),
		app.Main().Class("view").DataSet("testid", "view-reversal").Body(
			app.Section().Class("panel").Aria("label", "The reversal curse").Body(
				app.H2().Text("The reversal curse"),
				app.P().Text("A model trained only on “A's mentor is B.” can tell you who A's mentor is, but an autoregressive model "+
					"cannot tell you whose mentor B is (the reversal curse): both models here are the same 0.9M-parameter network, trained "+
					"on the same one-way statements about invented people plus question/answer pairs in both directions about other "+
					"people, one with LLaDA's masked diffusion objective and one left to right with the next-token objective."),
				v.renderAsk(),
			),
			app.Div().Class("pair").Body(v.renderSide(0), v.renderSide(1)),
			v.renderQuiz(),
		),
	)
}

func (v *reversalView) renderAsk() app.UI {
	if v.set == nil {
		return app.P().Class("help").Text("The held-out facts appear once the questions are loaded.")
	}
	fw, bw := v.set.Forward[v.picked], v.set.Backward[v.picked]
	return app.Div().Class("field").Body(
		app.Label().For("reversal-fact").Text("A fact the models read one way only (held out from the questions)"),
		app.Select().ID("reversal-fact").DataSet("testid", "reversal-fact").Disabled(v.quizzing).
			OnChange(func(ctx app.Context, e app.Event) {
				if i, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil && i >= 0 && i < len(v.set.Forward) {
					v.picked = i
				}
			}).
			Body(app.Range(v.set.Forward).Slice(func(i int) app.UI {
				text := fmt.Sprintf(v.set.Statement, v.set.Backward[i].Answer, v.set.Forward[i].Answer)
				return app.Option().Value(i).Selected(i == v.picked).Text(text)
			})),
		app.Div().Class("actions ask").Body(
			app.Button().Type("button").Class("secondary").DataSet("testid", "reversal-forward").Disabled(!v.ready()).
				OnClick(func(ctx app.Context, e app.Event) { v.ask(ctx, fw, reversalDirections[0]) }).Text("Forward: "+fw.Question),
			app.Button().Type("button").Class("secondary").DataSet("testid", "reversal-backward").Disabled(!v.ready()).
				OnClick(func(ctx app.Context, e app.Event) { v.ask(ctx, bw, reversalDirections[1]) }).Text("Backward: "+bw.Question),
		),
	)
}

func (v *reversalView) renderSide(i int) app.UI {
	s, entry := v.sides[i], reversalModels[i]
	model := []string{"llada", "ar"}[i]
	var cells []Cell
	var tokens []string
	if s != nil {
		tokens = s.tokens()
		if s.trace != nil && v.asked != nil {
			cells = s.trace.View(min(v.view, s.trace.Len()))
		}
	}
	verdict := ""
	if v.asked != nil && v.done[i] {
		switch {
		case reversal.Correct(v.answer[i], *v.asked):
			verdict = "“" + v.answer[i] + "”: right"
		case v.answer[i] == "":
			verdict = "no name: wrong (the answer is " + v.asked.Answer + ")"
		default:
			verdict = "“" + v.answer[i] + "”: wrong (the answer is " + v.asked.Answer + ")"
		}
	}
	return app.Section().Class("panel side").Aria("label", entry.Name).DataSet("testid", "reversal-side").DataSet("model", model).Body(
		app.H3().Text(entry.Name),
		app.P().Class("help").Text(entry.Note),
		&canvasView{Name: "reversal-" + model + "-canvas", Cells: cells, Tokens: tokens, Selected: -1, EOS: eosID(modelOf(s)), Planned: 2},
		app.P().Class("answer").DataSet("testid", "reversal-answer").DataSet("model", model).DataSet("direction", v.dir).Aria("live", "polite").Text(verdict),
		app.If(s != nil && s.err != "", app.P().Class("problem").Text(errOf(s))),
	)
}

func modelOf(s *sideRunner) *protocol.ModelInfo {
	if s == nil {
		return nil
	}
	return s.model
}

func errOf(s *sideRunner) string {
	if s == nil {
		return ""
	}
	return s.err
}

func (v *reversalView) renderQuiz() app.UI {
	asked, total := 0, 0
	for i := range v.quiz {
		for d := range v.quiz[i] {
			asked += v.quiz[i][d].Asked
			total += v.quiz[i][d].Total
		}
	}
	n := 0
	if v.set != nil {
		n = len(v.set.Forward)
	}
	cell := func(side, dir int) app.UI {
		c := v.quiz[side][dir]
		td := app.Td().Class("quiz-cell").DataSet("testid", "reversal-cell").
			DataSet("model", []string{"llada", "ar"}[side]).DataSet("direction", reversalDirections[dir])
		switch {
		case c.Total == 0:
			return td.Text("–")
		case c.Asked < c.Total:
			return td.Text(fmt.Sprintf("%d of %d right so far (%d asked)", c.Right, c.Asked, c.Asked))
		}
		acc := float64(c.Right) / float64(c.Total)
		return td.DataSet("accuracy", strconv.FormatFloat(acc, 'f', -1, 64)).
			Text(fmt.Sprintf("%.1f%% (%d of %d)", 100*acc, c.Right, c.Total))
	}
	return app.Section().Class("panel quiz").Aria("label", "Quiz").Body(
		app.H3().Text("The quiz"),
		app.P().Class("help").Text(fmt.Sprintf("Asks all %d held-out facts both ways, on both models, each in its own worker; "+
			"an answer counts when it is exactly the right name, as `llada reversal` counts it.", n)),
		app.Div().Class("actions").Body(
			app.Button().Type("button").Class("primary").DataSet("testid", "reversal-quiz").Disabled(!v.ready()).
				OnClick(func(ctx app.Context, e app.Event) { v.runQuiz(ctx) }).Text("Run the quiz"),
		),
		app.If(total > 0, app.Progress().DataSet("testid", "reversal-progress").Aria("label", "Quiz progress").
			Max(total).Value(asked)),
		app.Table().Class("quiz-table").Body(
			app.THead().Body(app.Tr().Body(app.Th().Text("Model"), app.Th().Text("Forward (who is A's mentor?)"), app.Th().Text("Backward (whose mentor is B?)"))),
			app.TBody().Body(
				app.Tr().Body(app.Th().Text("LLaDA (masked diffusion)"), cell(0, 0), cell(0, 1)),
				app.Tr().Body(app.Th().Text("AR (left to right)"), cell(1, 0), cell(1, 1)),
			),
		),
	)
}

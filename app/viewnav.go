package main

import "github.com/maxence-charriere/go-app/v9/pkg/app"

// viewNav links the page's views. A link reloads the page with the view in
// its URL, so each view starts its own workers afresh and the old view's
// are gone with the old document.
type viewNav struct {
	app.Compo

	Current string // the view shown: "" for the denoising page, viewCompare, viewReversal
}

// newViewNav is viewNav's constructor.
func newViewNav(current string) *viewNav { return &viewNav{Current: current} }

func (n *viewNav) Render() app.UI {
	link := func(view, label string) app.UI {
		href := "."
		if view != "" {
			href = "?view=" + view
		}
		a := pageLink(href, label).Class("view-link").DataSet("testid", "nav-"+nonEmpty(view, "denoise"))
		if view == n.Current {
			a = a.Aria("current", "page")
		}
		return app.Li().Body(a)
	}
	return app.Nav().Class("view-nav").Aria("label", "Views").Body(app.Ul().Body(
		link("", "Denoise"),
		link(viewCompare, "Compare"),
		link(viewReversal, "Reversal curse"),
	))
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pageLink is a link to another view of the page: a full load of href, so
// the view starts from its address (the router would keep the old view).
func pageLink(href, label string) app.HTMLA {
	return app.A().Href(href).Text(label).OnClick(func(ctx app.Context, e app.Event) {
		e.PreventDefault()
		app.Window().Get("location").Set("href", href)
	})
}

package main

import "github.com/maxence-charriere/go-app/v9/pkg/app"

// The page's views, named by ?view= in the URL. The denoising page is the
// default; the others each own their engine clients (and workers).
const (
	viewCompare  = "compare"
	viewReversal = "reversal"
)

// newView builds the view the URL names. The server (and the static site
// it writes) always renders the denoising page; the browser builds the
// view on load, and the view links (viewNav) reload the page.
func newView() app.Composer {
	if app.IsServer {
		return newPage()
	}
	return viewFor(app.Window().URL().Query().Get("view"))
}

func viewFor(name string) app.Composer {
	switch name {
	case viewCompare:
		return newCompareView()
	case viewReversal:
		return newReversalView()
	}
	return newPage()
}

package main

import "github.com/maxence-charriere/go-app/v9/pkg/app"

// Every path shows the page (or the view its ?view= names, views.go), so the site works under any prefix (a GitHub
// Pages project path, a sub-folder); settings live in the query.
func init() {
	app.RouteWithRegexpFunc("^/.*", newView)
}

//go:build js && wasm

package main

import "github.com/maxence-charriere/go-app/v9/pkg/app"

// In the browser the same binary is the page (routes.go).
func main() {
	app.RunWhenOnBrowser()
}

package main

import (
	"fmt"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// appHeader is the title bar: what the page is, the engine's status, the
// model download's progress and the kernel path.
type appHeader struct {
	app.Compo

	Status        string
	StatusError   bool
	Loading       bool
	Loaded, Total int64 // download progress in bytes
	Kernel        string
	KernelNote    string
}

func (h *appHeader) Render() app.UI {
	statusClass := "status"
	if h.StatusError {
		statusClass += " error"
	}
	return app.Header().Class("header").Body(
		app.Div().Class("brand").Body(
			app.Img().Src("/web/icon.svg").Alt("").Class("logo").Width(40).Height(40),
			app.Div().Body(
				app.H1().Text("Unmask"),
				app.P().Class("tagline").Text("Watch a diffusion language model turn a row of masks into text."),
			),
		),
		app.Div().Class("engine").Body(
			app.P().Class(statusClass).DataSet("testid", "status").Aria("live", "polite").Role("status").Text(h.Status),
			app.If(h.Loading, h.renderProgress()),
			app.If(h.Kernel != "",
				app.P().Class("kernel kernel-"+h.Kernel).Title(h.KernelNote).Text("Kernels: "+kernelLabel(h.Kernel)),
			),
		),
	)
}

func (h *appHeader) renderProgress() app.UI {
	label := fmt.Sprintf("%.1f MB", float64(h.Loaded)/1e6)
	bar := app.Progress().Aria("label", "Model download")
	if h.Total > 0 {
		bar = bar.Max(h.Total).Value(h.Loaded)
		label = fmt.Sprintf("%.1f of %.1f MB", float64(h.Loaded)/1e6, float64(h.Total)/1e6)
	}
	return app.Div().Class("download").Body(bar, app.Span().Text(label))
}

// kernelLabel names a kernel path for people.
func kernelLabel(path string) string {
	switch path {
	case "relaxed-simd":
		return "WebAssembly relaxed SIMD"
	case "simd":
		return "WebAssembly SIMD"
	case "go":
		return "scalar Go (no SIMD)"
	}
	return path
}

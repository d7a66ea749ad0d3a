package main

// Actions the child components raise; the page handles them all, so it is
// the one place where the view's state changes. The value each carries is
// noted beside it.
const (
	actSettings   = "settings"    // Settings: a control changed
	actPrompt     = "prompt"      // string: the prompt as typed
	actFieldText  = "field-text"  // fieldText: a number field's text does or does not parse
	actExample    = "example"     // int: the example chip picked
	actModel      = "model"       // string: another model picked
	actRetryModel = "retry-model" // load the picked model again
	actGenerate   = "generate"
	actStop       = "stop"
	actSeek       = "seek"    // int: show the canvas after that many steps
	actPlay       = "play"    // replay, or pause the replay when it plays
	actPace       = "pace"    // Pace: the speed control moved
	actInspect    = "inspect" // int: the position to inspect (-1: none)
)

// fieldText reports whether the text typed in a number field is a number.
type fieldText struct {
	Field string
	OK    bool
}

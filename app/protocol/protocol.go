// Package protocol is the message format between the page and the engine
// worker. Both sides exchange these structs as JSON strings through
// postMessage; this file is the only definition of the format.
package protocol

import "unmask/engine"

// Request types, page to worker.
const (
	Load     = "load"     // fetch (or take) a model file and prepare the engine
	Generate = "generate" // run the reverse process, streaming one Step per step
	Stop     = "stop"     // end the running generation after the current step
	Tokenize = "tokenize" // encode Text, or a GenerateRequest's prompt as Generate would

)

// Response types, worker to page.
const (
	Hello    = "hello"    // the worker started; carries the kernel path
	Progress = "progress" // model download progress
	Ready    = "ready"    // model loaded and verified
	StepDone = "step"     // one denoising step, with its trace
	Done     = "done"     // generation finished (or stopped)
	Error    = "error"    // the request failed; Error says why
	Tokens   = "tokens"   // the ids of a Tokenize request
)

// Error codes: what kind of failure an Error response reports, where the
// page offers a way out.
const (
	ErrModelDamaged     = "model_damaged"     // the model file fails its checksum, is truncated or does not parse
	ErrModelUnreachable = "model_unreachable" // the model file could not be downloaded
)

// Request is a message from the page to the worker. ID ties responses to
// the request that caused them.
type Request struct {
	Type     string           `json:"type"`
	ID       int              `json:"id"`
	Load     *LoadRequest     `json:"load,omitempty"`
	Generate *GenerateRequest `json:"generate,omitempty"`
	Text     string           `json:"text,omitempty"` // for Tokenize without Generate
}

// LoadRequest names the model: a URL to fetch, relative to the worker, or
// the file's bytes (base64 in JSON) when the page already has them.
type LoadRequest struct {
	URL   string `json:"url,omitempty"`
	Bytes []byte `json:"bytes,omitempty"`
}

// GenerateRequest asks for one generation. The prompt is text (encoded
// with the model's tokenizer; "___" marks blanks to infill) or ids.
type GenerateRequest struct {
	Prompt  string  `json:"prompt,omitempty"`
	IDs     []int   `json:"ids,omitempty"`
	Chat    bool    `json:"chat,omitempty"`  // wrap the prompt in the model's chat template
	Blank   int     `json:"blank,omitempty"` // masks per "___" blank (0: 4)
	Options Options `json:"options"`
}

// Options are the sampler's options (engine.Options) under the wire's own
// snake_case names, the names of the LLaDA reference's generate(): renaming
// a Go field never changes the messages.
type Options struct {
	Steps       int     `json:"steps"`
	GenLength   int     `json:"gen_length"`
	BlockLength int     `json:"block_length"`
	Temperature float64 `json:"temperature"`
	CFGScale    float64 `json:"cfg_scale"`
	Remasking   string  `json:"remasking"`
	Threshold   float64 `json:"threshold"`
	SuppressEOS bool    `json:"suppress_eos"`
	Seed        uint64  `json:"seed"`
	TopK        int     `json:"top_k"`
	Cache       string  `json:"cache"` // "none", "prefix" or "dual" (Fast-dLLM); "" is none
}

// WireOptions are o as they travel.
func WireOptions(o engine.Options) Options {
	return Options{
		Steps: o.Steps, GenLength: o.GenLength, BlockLength: o.BlockLength,
		Temperature: o.Temperature, CFGScale: o.CFGScale, Remasking: string(o.Remasking),
		Threshold: o.Threshold, SuppressEOS: o.SuppressEOS, Seed: o.Seed, TopK: o.TopK,
		Cache: string(o.Cache),
	}
}

// Engine are the options for the sampler; the remasking rule and the
// cache mode are checked by engine.Options.Validate.
func (o Options) Engine() engine.Options {
	return engine.Options{
		Steps: o.Steps, GenLength: o.GenLength, BlockLength: o.BlockLength,
		Temperature: o.Temperature, CFGScale: o.CFGScale, Remasking: engine.Remasking(o.Remasking),
		Threshold: o.Threshold, SuppressEOS: o.SuppressEOS, Seed: o.Seed, TopK: o.TopK,
		Cache: engine.Cache(o.Cache),
	}
}

// Response is a message from the worker to the page.
type Response struct {
	Type     string     `json:"type"`
	ID       int        `json:"id"`
	Hello    *HelloInfo `json:"hello,omitempty"`
	Progress *Bytes     `json:"progress,omitempty"`
	Ready    *ModelInfo `json:"ready,omitempty"`
	Step     *StepInfo  `json:"step,omitempty"`
	Done     *DoneInfo  `json:"done,omitempty"`
	Error    string     `json:"error,omitempty"`
	Code     string     `json:"code,omitempty"` // what kind of error, for the page's plain-words message
	IDs      []int      `json:"ids,omitempty"`  // for Tokens
}

// HelloInfo says which kernels the worker runs.
type HelloInfo struct {
	KernelPath string `json:"kernel_path"` // "relaxed-simd", "simd" or "go"
	Note       string `json:"note,omitempty"`
}

// Bytes is download progress; Total is 0 when the server gave no length.
type Bytes struct {
	Loaded int64 `json:"loaded"`
	Total  int64 `json:"total"`
}

// ModelInfo describes the loaded model.
type ModelInfo struct {
	Config     engine.Config `json:"config"`
	DType      string        `json:"dtype"`  // "f32" or "q8"
	Params     int64         `json:"params"` // parameters
	FileBytes  int64         `json:"file_bytes"`
	Tokens     []string      `json:"tokens"` // display text of every id, for the canvas
	Chat       bool          `json:"chat"`   // the tokenizer has a chat template
	KernelPath string        `json:"kernel_path"`
	LoadMS     float64       `json:"load_ms"`
}

// StepInfo is one denoising step as the sampler reported it, with timing.
type StepInfo struct {
	engine.Step
	Steps     int     `json:"steps"`      // steps planned in all (with a threshold, the most it can take)
	ElapsedMS float64 `json:"elapsed_ms"` // time of this step
}

// DoneInfo ends a generation.
type DoneInfo struct {
	Output        []int  `json:"output"` // the final canvas
	Text          string `json:"text"`   // the generated part, decoded
	Stopped       bool   `json:"stopped"`
	Steps         int    `json:"steps"`
	ForwardPasses int    `json:"forward_passes"` // passes run (steps with nothing to commit run none)
	// PositionsComputed is the canvas positions the passes ran through the
	// Transformer; PositionsFull is what full passes would have run
	// (ForwardPasses × canvas length). A cache saves the difference.
	PositionsComputed int     `json:"positions_computed"`
	PositionsFull     int     `json:"positions_full"`
	ElapsedMS         float64 `json:"elapsed_ms"`
	TokensPerS        float64 `json:"tokens_per_s"` // generated tokens per second
}

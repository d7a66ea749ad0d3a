package main

import (
	"errors"
	"fmt"

	"unmask/app/protocol"
	"unmask/engine"
)

// DefaultBlank is the number of masks a "___" blank becomes when the request
// does not say.
const DefaultBlank = 4

// maxBlank bounds the masks per blank, so a typo cannot ask for a canvas
// the model cannot hold.
const maxBlank = 64

// ErrNoTokenizer reports a text prompt for a model file without a tokenizer.
var ErrNoTokenizer = errors.New("this model has no tokenizer; send token ids")

// promptIDs turns a generation request into the prompt's token ids: the
// given ids, or the text encoded by engine.PromptIDs (plain text with each
// "___" as Blank masks, or a Chat prompt in the chat template). It also
// returns how many masks the prompt holds.
func promptIDs(m *engine.Model, req *protocol.GenerateRequest) (ids []int, masks int, err error) {
	mask := m.Config.MaskTokenID
	if len(req.IDs) > 0 {
		if req.Prompt != "" {
			return nil, 0, errors.New("send either a prompt or token ids, not both")
		}
		ids = append([]int(nil), req.IDs...)
	} else {
		tok := m.Tokenizer
		if tok == nil {
			return nil, 0, ErrNoTokenizer
		}
		blank := req.Blank
		switch {
		case blank == 0:
			blank = DefaultBlank
		case blank < 0 || blank > maxBlank:
			return nil, 0, fmt.Errorf("blank length %d, want 1..%d", blank, maxBlank)
		}
		if ids, err = engine.PromptIDs(tok, req.Prompt, req.Chat, blank, mask); err != nil {
			return nil, 0, err
		}
	}
	for _, id := range ids {
		if id == mask {
			masks++
		}
	}
	return ids, masks, nil
}

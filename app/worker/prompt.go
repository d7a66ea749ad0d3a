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
// given ids, or the text encoded with the model's tokenizer. Plain text has
// each engine.Blank ("___") replaced by Blank mask tokens; a Chat prompt is
// wrapped in the chat template and keeps "___" as text, because the
// instruct model was fine-tuned on fill-in-the-blank questions written that
// way and never saw masks in a prompt. It also returns how many masks the
// prompt holds.
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
		if req.Chat {
			ids, err = engine.ChatIDs(tok, tok.Encode(req.Prompt))
			if err != nil {
				return nil, 0, err
			}
		} else {
			ids = engine.EncodeInfill(tok, req.Prompt, blank, mask)
		}
	}
	for _, id := range ids {
		if id == mask {
			masks++
		}
	}
	return ids, masks, nil
}

// decodeGenerated is the text a generation produced: the generated part of
// the canvas (the whole canvas when only infilling), cut at the first EOS,
// without positions left masked by a stop.
func decodeGenerated(m *engine.Model, canvas []int, promptLen, genLength int) string {
	if m.Tokenizer == nil {
		return ""
	}
	part := canvas
	if genLength > 0 && promptLen <= len(canvas) {
		part = canvas[promptLen:]
	}
	keep := make([]int, 0, len(part))
	for _, id := range part {
		if genLength > 0 && id == m.Config.EOSTokenID {
			break
		}
		if id != m.Config.MaskTokenID {
			keep = append(keep, id)
		}
	}
	return m.Tokenizer.Decode(keep)
}

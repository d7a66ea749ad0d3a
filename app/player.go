package main

import (
	"fmt"
	"strconv"
	"time"
)

// Pace is how fast the canvas moves through the steps of a generation, live
// or replayed: steps per second, or one of the two ends below.
type Pace int

const (
	PaceKey Pace = -1 // one step per key press (or click on Next step)
	PaceMax Pace = 0  // as fast as the engine goes; a replay runs at maxReplayRate
)

// paces are the speed control's stops, slowest first.
var paces = []Pace{PaceKey, 1, 2, 4, 8, 16, PaceMax}

// maxReplayRate is the pace of a replay at PaceMax, in steps per second.
const maxReplayRate = 30

// String is the pace's URL value: "key", "max" or steps per second.
func (p Pace) String() string {
	switch p {
	case PaceKey:
		return "key"
	case PaceMax:
		return "max"
	}
	return strconv.Itoa(int(p))
}

// Label names the pace for people.
func (p Pace) Label() string {
	switch p {
	case PaceKey:
		return "one step per key press"
	case PaceMax:
		return "as fast as it runs"
	case 1:
		return "1 step a second"
	}
	return fmt.Sprintf("%d steps a second", int(p))
}

// parsePace reads a pace's URL value; only the control's stops are paces.
func parsePace(s string) (Pace, error) {
	for _, p := range paces {
		if p.String() == s {
			return p, nil
		}
	}
	return PaceMax, fmt.Errorf("speed=%q is not one of key, 1, 2, 4, 8, 16, max", s)
}

// paceIndex is the control position of a pace.
func paceIndex(p Pace) int {
	for i, q := range paces {
		if q == p {
			return i
		}
	}
	return len(paces) - 1
}

// player decides which step of a trace the canvas shows. It follows a live
// generation and replays a finished one, both at the chosen pace: the
// engine may run ahead, the view catches up one step per tick. At most one
// tick is ever scheduled, so pressing Play twice cannot double the speed.
type player struct {
	view      int  // steps shown: 0..trace length
	playing   bool // advancing on its own
	scheduled bool // a tick is pending
	pace      Pace
}

// delay is the time between two ticks; 0 means the view jumps to the
// newest step at once (PaceMax while live).
func (pl *player) delay(live bool) time.Duration {
	switch {
	case pl.pace == PaceMax && live:
		return 0
	case pl.pace == PaceMax:
		return time.Second / maxReplayRate
	case pl.pace == PaceKey:
		return -1 // never on its own
	}
	return time.Second / time.Duration(pl.pace)
}

// start begins a live generation from step 0: the view follows it.
func (pl *player) start() { pl.view, pl.playing = 0, pl.pace != PaceKey }

// play replays from the view (from the start when it is at the end of
// length steps). It reports whether a tick must be scheduled.
func (pl *player) play(length int) bool {
	if length == 0 {
		return false
	}
	if pl.view >= length {
		pl.view = 0
	}
	pl.playing = true
	if pl.pace == PaceKey {
		pl.pace = 1 // Play means moving on its own
	}
	return pl.needTick(length, false)
}

// pause stops the view where it is.
func (pl *player) pause() { pl.playing = false }

// seek shows step v of length; a seek stops the playback.
func (pl *player) seek(v, length int) {
	pl.view = min(max(v, 0), length)
	pl.playing = false
}

// arrived is called when a live step arrives (length is the trace's new
// length); it reports whether a tick must be scheduled.
func (pl *player) arrived(length int) bool {
	if !pl.playing {
		return false
	}
	if pl.delay(true) == 0 {
		pl.view = length
		return false
	}
	return pl.needTick(length, true)
}

// needTick says whether a tick is to be scheduled, and marks it scheduled.
func (pl *player) needTick(length int, live bool) bool {
	if pl.scheduled || !pl.playing || pl.view >= length || pl.delay(live) <= 0 {
		return false
	}
	pl.scheduled = true
	return true
}

// tick advances one step; it reports whether another tick must be
// scheduled. A replay ends at the last step; a live view waits there for
// the next step (arrived schedules again).
func (pl *player) tick(length int, live bool) bool {
	pl.scheduled = false
	if !pl.playing {
		return false
	}
	if pl.view < length {
		pl.view++
	}
	if pl.view >= length && !live {
		pl.playing = false
		return false
	}
	return pl.needTick(length, live)
}

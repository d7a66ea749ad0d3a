package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPlayerPause(t *testing.T) {
	pl := player{pace: 8}
	assert.True(t, pl.play(10), "play schedules a tick")
	assert.False(t, pl.play(10), "a second play schedules no second tick: the pace stays")
	pl.pause()
	assert.False(t, pl.tick(10, false), "a paused player schedules nothing")
	assert.Equal(t, 0, pl.view, "and does not move")
	assert.True(t, pl.play(10))
	assert.True(t, pl.tick(10, false))
	assert.Equal(t, 1, pl.view)
}

func TestPlayerReplayEnds(t *testing.T) {
	pl := player{pace: 16, view: 3}
	assert.True(t, pl.play(3), "at the end, play starts again from step 0")
	assert.Equal(t, 0, pl.view)
	for range 2 {
		assert.True(t, pl.tick(3, false))
	}
	assert.False(t, pl.tick(3, false))
	assert.Equal(t, 3, pl.view)
	assert.False(t, pl.playing)
}

func TestPlayerLive(t *testing.T) {
	fast := player{pace: PaceMax}
	fast.start()
	assert.False(t, fast.arrived(4), "as fast as it runs: no ticks")
	assert.Equal(t, 4, fast.view, "the view jumps to the newest step")

	slow := player{pace: 2}
	slow.start()
	assert.True(t, slow.arrived(5))
	assert.Equal(t, 0, slow.view, "a slow pace lets the engine run ahead")
	assert.False(t, slow.arrived(6), "one tick at a time")
	assert.True(t, slow.tick(6, true))
	assert.Equal(t, 1, slow.view)

	key := player{pace: PaceKey}
	key.start()
	assert.False(t, key.arrived(5))
	assert.Equal(t, 0, key.view, "one step per key press: nothing moves on its own")
	key.seek(1, 5)
	assert.Equal(t, 1, key.view)
}

func TestPaces(t *testing.T) {
	for _, p := range paces {
		back, err := parsePace(p.String())
		assert.NoError(t, err)
		assert.Equal(t, p, back)
		assert.Equal(t, p, paces[paceIndex(p)])
	}
	assert.Equal(t, time.Second/4, (&player{pace: 4}).delay(false))
	assert.Equal(t, time.Second/maxReplayRate, (&player{pace: PaceMax}).delay(false))
}

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want string
	}{
		{0.9, "90.0%"},
		{0.0034, "0.3%"},
		{0.001, "0.1%"},
		{0.0004, "under 0.1%"},
		{0, "under 0.1%"},
	} {
		assert.Equal(t, tc.want, percent(tc.p), "%v", tc.p)
	}
}

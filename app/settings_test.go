package main

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
)

func TestSettingsURLRoundTrip(t *testing.T) {
	d := defaultSettings()
	assert.Empty(t, d.Query(), "the defaults need no query")

	s := d
	s.Model = models[len(models)-1].ID
	s.Prompt = "The ___ sat on the mat & more"
	s.Blank = 2
	s.Options = engine.Options{Steps: 96, GenLength: 64, BlockLength: 32, Temperature: 0.7, CFGScale: 1.5,
		Remasking: engine.Entropy, Threshold: 0.9, SuppressEOS: true, Seed: 42, TopK: d.Options.TopK}
	q := s.Query()
	back, errs := parseSettings(q)
	require.Empty(t, errs)
	assert.Equal(t, s, back)

	// Through a real URL string, as a shared link travels.
	u, err := url.Parse("http://example.org/unmask/?" + q.Encode())
	require.NoError(t, err)
	back, errs = parseSettings(u.Query())
	require.Empty(t, errs)
	assert.Equal(t, s, back)
}

func TestParseSettingsBadValues(t *testing.T) {
	q := url.Values{}
	q.Set(keySteps, "many")
	q.Set(keyTemperature, "hot")
	q.Set(keyRemasking, "coin")
	q.Set(keyModel, "gpt")
	q.Set(keySeed, "-1")
	q.Set(keySuppressEOS, "maybe")
	q.Set(keyGenLength, "32")
	s, errs := parseSettings(q)
	assert.Len(t, errs, 6)
	d := defaultSettings()
	assert.Equal(t, d.Options.Steps, s.Options.Steps)
	assert.Equal(t, d.Options.Remasking, s.Options.Remasking)
	assert.Equal(t, d.Model, s.Model)
	assert.Equal(t, 32, s.Options.GenLength, "good values still apply")
}

func TestParseSettingsModelPrompt(t *testing.T) {
	if len(models) < 2 {
		t.Skip("one model")
	}
	s, errs := parseSettings(url.Values{keyModel: {models[1].ID}})
	require.Empty(t, errs)
	assert.Equal(t, models[1].Examples[0], s.Prompt, "a model without a prompt gets its own example")
	assert.Equal(t, models[1].BlockLength, s.Options.BlockLength, "and its own block length")
	assert.Equal(t, models[1].Temperature, s.Options.Temperature, "and its own temperature")
	assert.Equal(t, models[1].CFGScale, s.Options.CFGScale, "and its own guidance")
	assert.Equal(t, url.Values{keyModel: {models[1].ID}}, modelDefaults(models[1].ID).Query(),
		"a model's defaults need only its name in the URL")
}

func TestSetGenLength(t *testing.T) {
	for _, tc := range []struct {
		name             string
		length, block, n int
		wantBlock        int
	}{
		{"one block stays one block", 48, 48, 64, 64},
		{"blocks keep their size", 48, 8, 64, 8},
		{"infill only", 48, 48, 0, 0},
	} {
		s := defaultSettings()
		s.Options.GenLength, s.Options.BlockLength = tc.length, tc.block
		s.setGenLength(tc.n)
		assert.Equal(t, tc.n, s.Options.GenLength, tc.name)
		assert.Equal(t, tc.wantBlock, s.Options.BlockLength, tc.name)
	}
}

func TestModelDefaultsRun(t *testing.T) {
	for _, m := range models {
		assert.NoError(t, modelDefaults(m.ID).Check(0, 0), m.ID)
	}
}

func TestSettingsCheck(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Settings)
		prompt  int
		max     int
		wantErr string
	}{
		{"defaults", func(*Settings) {}, 10, 256, ""},
		{"no model yet", func(*Settings) {}, 0, 0, ""},
		{"block does not divide", func(s *Settings) { s.Options.BlockLength = 5 }, 0, 0, "multiple of block_length"},
		{"steps not per block", func(s *Settings) { s.Options.Steps = 5 }, 0, 0, "multiple"},
		{"too long", func(s *Settings) { s.Options.GenLength, s.Options.BlockLength = 256, 256 }, 10, 128, "canvas"},
		{"blank zero", func(s *Settings) { s.Blank = 0 }, 0, 0, "blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSettings()
			tt.edit(&s)
			err := s.Check(tt.prompt, tt.max)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestModelByID(t *testing.T) {
	for _, m := range models {
		assert.Equal(t, m.ID, modelByID(m.ID).ID)
		assert.NotEmpty(t, m.Examples, m.ID)
		assert.NotEmpty(t, m.File, m.ID)
	}
	assert.Equal(t, models[0].ID, modelByID("nope").ID)
}

// A shared link can hold anything: parsing never panics, and what it keeps
// survives a round trip through the URL.
func FuzzParseSettings(f *testing.F) {
	f.Add("model=instruct&steps=96&len=64&block=32&temp=0.7&cfg=1.5&remask=entropy&threshold=0.9&seed=42&noeos=true&prompt=The+___+sat")
	f.Add("steps=&len=-3&temp=NaN&cfg=Inf&seed=18446744073709551615&prompt=%00")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, _ := parseSettings(q)
		back, errs := parseSettings(s.Query())
		if len(errs) > 0 {
			t.Fatalf("the settings' own query does not parse: %v", errs)
		}
		if back.Model != s.Model || back.Prompt != s.Prompt || back.Blank != s.Blank ||
			back.Options.Steps != s.Options.Steps || back.Options.GenLength != s.Options.GenLength ||
			back.Options.Remasking != s.Options.Remasking || back.Options.Seed != s.Options.Seed {
			t.Fatalf("round trip changed %+v into %+v", s, back)
		}
		_ = s.Check(0, 128) // must not panic whatever the values
	})
}

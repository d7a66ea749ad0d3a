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
		Remasking: engine.Entropy, Threshold: 0.9, Cache: engine.DualCache, SuppressEOS: true, Seed: 42, TopK: d.Options.TopK}
	s.PinSeed, s.Pace = true, PaceKey
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
	q.Set(keyCache, "full")
	s, errs := parseSettings(q)
	assert.Len(t, errs, 7)
	d := defaultSettings()
	assert.Equal(t, d.Options.Steps, s.Options.Steps)
	assert.Equal(t, d.Options.Remasking, s.Options.Remasking)
	assert.Equal(t, d.Model, s.Model)
	assert.Equal(t, d.Options.Cache, s.Options.Cache)
	assert.Equal(t, 32, s.Options.GenLength, "good values still apply")
}

func TestParseSettingsModelPrompt(t *testing.T) {
	if len(models) < 2 {
		t.Skip("one model")
	}
	s, errs := parseSettings(url.Values{keyModel: {models[1].ID}})
	require.Empty(t, errs)
	assert.Equal(t, models[1].Examples[0].Prompt, s.Prompt, "a model without a prompt gets its own example")
	assert.Equal(t, models[1].BlockLength, s.Options.BlockLength, "and its own block length")
	assert.Equal(t, models[1].Temperature, s.Options.Temperature, "and its own temperature")
	assert.Equal(t, models[1].CFGScale, s.Options.CFGScale, "and its own guidance")
	assert.Equal(t, url.Values{keyModel: {models[1].ID}}, modelDefaults(models[1].ID).Query(),
		"a model's defaults need only its name in the URL")
}

// Values out of range are clamped with a notice, so a link cannot make the
// worker allocate without bound or freeze the page.
func TestParseSettingsClamps(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		get        func(Settings) any
		want       any
	}{
		{keySteps, "1000000000", func(s Settings) any { return s.Options.Steps }, maxSteps},
		{keySteps, "200000", func(s Settings) any { return s.Options.Steps }, maxSteps},
		{keySteps, "99999999999999999999", func(s Settings) any { return s.Options.Steps }, maxSteps},
		{keySteps, "0", func(s Settings) any { return s.Options.Steps }, 1},
		{keyGenLength, "-5", func(s Settings) any { return s.Options.GenLength }, 0},
		{keyGenLength, "5000", func(s Settings) any { return s.Options.GenLength }, maxTokens},
		{keyBlank, "-99999999999999999999", func(s Settings) any { return s.Blank }, 1},
		{keyTemperature, "1e308", func(s Settings) any { return s.Options.Temperature }, maxTemp},
		{keyCFG, "-1", func(s Settings) any { return s.Options.CFGScale }, 0.0},
		{keyThreshold, "2", func(s Settings) any { return s.Options.Threshold }, 1.0},
	} {
		s, errs := parseSettings(url.Values{tc.key: {tc.value}})
		assert.Equal(t, tc.want, tc.get(s), "%s=%s", tc.key, tc.value)
		if assert.Len(t, errs, 1, "%s=%s", tc.key, tc.value) {
			assert.Contains(t, errs[0].Error(), "using", "the notice says what is used instead")
		}
	}
	_, errs := parseSettings(url.Values{keyTemperature: {"NaN"}})
	assert.Len(t, errs, 1, "NaN is not a number")
}

func TestParseSettingsSpeedAndSeed(t *testing.T) {
	s, errs := parseSettings(url.Values{keySpeed: {"key"}, keySeed: {"7"}})
	require.Empty(t, errs)
	assert.Equal(t, PaceKey, s.Pace)
	assert.True(t, s.PinSeed, "a seed in the link is pinned")
	assert.Equal(t, uint64(7), s.Options.Seed)
	_, errs = parseSettings(url.Values{keySpeed: {"3"}})
	assert.Len(t, errs, 1, "only the control's stops are speeds")
	s, errs = parseSettings(url.Values{})
	require.Empty(t, errs)
	assert.False(t, s.PinSeed)
	assert.Equal(t, PaceMax, s.Pace)
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
		assert.NoError(t, modelDefaults(m.ID).Check(promptInfo{}, 0), m.ID)
	}
}

func TestSettingsCheck(t *testing.T) {
	known := func(tokens, masks int) promptInfo { return promptInfo{Known: true, Tokens: tokens, Masks: masks} }
	tests := []struct {
		name    string
		edit    func(*Settings)
		prompt  promptInfo
		max     int
		wantErr string
	}{
		{"defaults", func(*Settings) {}, known(10, 0), 256, ""},
		{"no model yet", func(*Settings) {}, promptInfo{}, 0, ""},
		{"block does not divide", func(s *Settings) { s.Options.BlockLength = 5 }, promptInfo{}, 0, "Block length must divide the length 48 (for example 4, 6, 8, 48)"},
		{"steps not per block", func(s *Settings) { s.Options.Steps = 5 }, promptInfo{}, 0, "Steps must be a multiple of the 6 blocks (for example 6)"},
		{"steps unused with a threshold", func(s *Settings) { s.Options.Steps, s.Options.Threshold = 5, 0.9 }, promptInfo{}, 0, ""},
		{"unknown cache", func(s *Settings) { s.Options.Cache = "full" }, promptInfo{}, 0, "unknown cache"},
		{"too many steps", func(s *Settings) { s.Options.Steps = 2048 }, promptInfo{}, 0, "Steps at most 1024"},
		{"too long for the canvas", func(s *Settings) { s.Options.GenLength, s.Options.BlockLength = 256, 256 }, known(10, 0), 128,
			"Length at most 118: the model's canvas holds 128 tokens and the prompt takes 10"},
		{"too long for any canvas", func(s *Settings) { s.Options.GenLength, s.Options.BlockLength = 2048, 2048 }, promptInfo{}, 0, "Length at most 1024"},
		{"infill without blanks", func(s *Settings) { s.setGenLength(0) }, known(10, 0), 256, "Length 0 only fills ___ blanks"},
		{"infill with blanks", func(s *Settings) { s.setGenLength(0) }, known(10, 4), 256, ""},
		{"blank zero", func(s *Settings) { s.Blank = 0 }, promptInfo{}, 0, "Blank length must be 1 to 64"},
		{"engine refuses", func(s *Settings) { s.Options.Remasking = "coin" }, promptInfo{}, 0, "remasking"},
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
	f.Add("model=instruct&steps=96&len=64&block=32&temp=0.7&cfg=1.5&remask=entropy&threshold=0.9&cache=dual&seed=42&noeos=true&speed=key&prompt=The+___+sat")
	f.Add("steps=&len=-3&temp=NaN&cfg=Inf&seed=18446744073709551615&prompt=%00")
	f.Add("steps=1000000000&len=99999999999999999999&block=-1&temp=1e308&threshold=-0&speed=3")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, _ := parseSettings(q)
		o := s.Options
		if o.Steps < 1 || o.Steps > maxSteps || o.GenLength < 0 || o.GenLength > maxTokens ||
			o.BlockLength < 0 || o.BlockLength > maxTokens || s.Blank < 1 || s.Blank > maxBlank ||
			!(o.Temperature >= 0 && o.Temperature <= maxTemp) || !(o.CFGScale >= 0 && o.CFGScale <= maxCFG) ||
			!(o.Threshold >= 0 && o.Threshold <= 1) {
			t.Fatalf("a value outside its limits came through: %+v", s)
		}
		back, errs := parseSettings(s.Query())
		if len(errs) > 0 {
			t.Fatalf("the settings' own query does not parse: %v", errs)
		}
		// Every field, the sampler's options included, survives.
		if back != s {
			t.Fatalf("round trip changed %+v into %+v", s, back)
		}
		_ = s.Check(promptInfo{Known: true, Tokens: 10}, 128) // must not panic whatever the values
	})
}

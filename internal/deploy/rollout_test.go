package deploy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRolloutFlags(t *testing.T) {
	for _, c := range []struct {
		steps, bake, fallback string
		want                  *Rollout
		err                   string
	}{
		{"", "", "", nil, ""},
		{"10,50,100", "2s", "", &Rollout{Percents: []float64{10, 50, 100}, Bake: 2 * time.Second}, ""},
		{"10%,100%", "", "immediate", &Rollout{Percents: []float64{10, 100}, FallbackImmediate: true}, ""},
		{"100", "", "", &Rollout{Percents: []float64{100}}, ""},
		{"0.5,100", "1m", "", &Rollout{Percents: []float64{0.5, 100}, Bake: time.Minute}, ""},
		{"10,50", "", "", nil, "last step must be 100"},
		{"50,10,100", "", "", nil, "must increase"},
		{"10,10,100", "", "", nil, "must increase"},
		{"0,100", "", "", nil, "not above 0"},
		{"10,x,100", "", "", nil, "not a number"},
		{"10,150", "", "", nil, "over 100"},
		{"10,100", "soon", "", nil, "not a duration"},
		{"10,100", "-1s", "", nil, "negative"},
		{"NaN,100", "", "", nil, "not a number"},
		{"10,100", "", "later", nil, "only fallback"},
		{"", "2s", "", nil, "go with -rollout"},
		{"", "", "immediate", nil, "go with -rollout"},
	} {
		got, err := RolloutFlags(c.steps, c.bake, c.fallback)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("RolloutFlags(%q, %q, %q) = %+v, %v; want an error with %q", c.steps, c.bake, c.fallback, got, err, c.err)
			}
			continue
		}
		if err != nil || (got == nil) != (c.want == nil) || got != nil && (!slices.Equal(got.Percents, c.want.Percents) || got.Bake != c.want.Bake || got.FallbackImmediate != c.want.FallbackImmediate) {
			t.Errorf("RolloutFlags(%q, %q, %q) = %+v, %v; want %+v", c.steps, c.bake, c.fallback, got, err, c.want)
		}
	}
}

func TestOverrideValue(t *testing.T) {
	if got := overrideValue("acme-api-staging", "0b7c-11"); got != `acme-api-staging="0b7c-11"` {
		t.Errorf("overrideValue = %s", got)
	}
}

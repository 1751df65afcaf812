package deploy

import (
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
)

func TestCheckedPreflightUsable(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	gate := &CheckedPreflight{Report: preflight.Report{Tenant: "acme", Env: "staging"}, At: at}
	for _, c := range []struct {
		name        string
		c           *CheckedPreflight
		tenant, env string
		now         time.Time
		want        bool
	}{
		{"none given", nil, "acme", "staging", at, false},
		{"fresh, same tenant and env", gate, "acme", "staging", at.Add(time.Minute), true},
		{"right at the limit", gate, "acme", "staging", at.Add(preflightFresh), true},
		{"stale: a later wave checks again", gate, "acme", "staging", at.Add(preflightFresh + time.Second), false},
		{"another tenant's report", gate, "globex", "staging", at, false},
		{"another env's report", gate, "acme", "production", at, false},
		{"made in the future (clock moved back)", gate, "acme", "staging", at.Add(-time.Second), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, got := c.c.usable(c.tenant, c.env, c.now); got != c.want {
				t.Errorf("usable = %v, want %v", got, c.want)
			}
		})
	}
}

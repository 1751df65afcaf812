package fleetstatus

import (
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
)

func TestStateOfARow(t *testing.T) {
	split := []Share{{VersionID: "new", Percentage: 10}, {VersionID: "old", Percentage: 90}}
	whole := []Share{{VersionID: "old", Percentage: 100}}
	rollout := drift.Changes{Changed: []drift.Change{{Field: "deployment"}, {Field: "code"}}}
	varChanged := drift.Changes{Changed: []drift.Change{{Field: "deployment"}, {Field: "vars.LOG_LEVEL"}}}
	row := func(st drift.Status, vs []Share, c drift.Changes, healthy bool) Row {
		r := Row{Drift: st, Versions: vs, Health: &Health{OK: healthy}}
		if st == drift.Drifted {
			r.DriftChanges, r.rolloutDrift = c.Count(), rolloutOnly(c)
		}
		return r
	}
	for _, c := range []struct {
		name string
		r    Row
		want State
	}{
		{"in sync, one version", row(drift.InSync, whole, drift.Changes{}, true), StateOK},
		{"mid-rollout: only the split and its code differ", row(drift.Drifted, split, rollout, true), StateSplit},
		{"a split with other drift is drift", row(drift.Drifted, split, varChanged, true), StateDrifted},
		{"drift without a split", row(drift.Drifted, whole, rollout, true), StateDrifted},
		{"an unhealthy split is unhealthy", row(drift.Drifted, split, rollout, false), StateUnhealthy},
		{"missing", Row{Drift: drift.Missing}, StateMissing},
		{"unreadable", Row{Drift: drift.Error}, StateError},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := state(c.r); got != c.want {
				t.Errorf("state = %s, want %s", got, c.want)
			}
		})
	}
}

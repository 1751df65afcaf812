package preflight

import (
	"maps"
	"slices"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

func TestNewClasses(t *testing.T) {
	migs := []tenant.Migration{
		{Tag: "v1", NewSqliteClasses: []string{"Counter"}},
		{Tag: "v2", NewClasses: []string{"Ledger"}},
		{Tag: "v3", RenamedClasses: []tenant.RenamedClass{{From: "Ledger", To: "Book"}}},
	}
	for _, tc := range []struct {
		name    string
		liveTag string
		first   bool
		want    []string
	}{
		{"first deploy: every migration is new", "", true, []string{"Book", "Counter", "Ledger"}},
		{"at v1: v2 and v3 are new", "v1", false, []string{"Book", "Ledger"}},
		{"at v3: nothing is new", "v3", false, nil},
		{"an existing Worker without a tag: every migration is new", "", false, []string{"Book", "Counter", "Ledger"}},
		{"a live tag the config does not know: nothing counts as new", "v9", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(newClasses(migs, tc.liveTag, tc.first)))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

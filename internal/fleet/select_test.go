package fleet

import (
	"slices"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

func TestSelect(t *testing.T) {
	all := []string{"zeta", "alpha", "mid"}
	tests := []struct {
		name, env, only, canary string
		want                    Selection
		errHas                  string
	}{
		{name: "all sorted", env: "staging", want: Selection{Env: "staging", Tenants: []string{"alpha", "mid", "zeta"}}},
		{name: "prod alias", env: "prod", want: Selection{Env: "production", Tenants: []string{"alpha", "mid", "zeta"}}},
		{name: "only subset sorted and deduplicated", env: "production", only: " zeta,alpha,zeta ", want: Selection{Env: "production", Tenants: []string{"alpha", "zeta"}}},
		{name: "canary inside all", env: "staging", canary: "mid", want: Selection{Env: "staging", Tenants: []string{"alpha", "mid", "zeta"}, Canary: "mid"}},
		{name: "dev refused with pointer", env: "dev", errHas: "deploy:tenant <tenant> dev"},
		{name: "unknown env", env: "qa", errHas: "staging or production"},
		// The one parser's names are exact, for the fleet as everywhere else.
		{name: "no case folding", env: "Staging", errHas: `did you mean "staging"?`},
		{name: "no trimming", env: " production ", errHas: `did you mean "production"?`},
		{name: "unknown only names listed", env: "staging", only: "alpha,ghost,../x", errHas: "ghost, ../x; known tenants: alpha, mid, zeta"},
		{name: "only empty list", env: "staging", only: ",", errHas: "names no tenant"},
		{name: "unknown canary", env: "staging", canary: "ghost", errHas: "-canary: unknown tenant \"ghost\""},
		{name: "canary outside only", env: "staging", only: "alpha", canary: "mid", errHas: "not among the tenants selected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// As deploy:all does: the env parsed once (the magefile), then the selection.
			env, err := tenant.ParseCloudEnv(tc.env, DevRefusal)
			var got Selection
			if err == nil {
				got, err = Select(all, env, tc.only, tc.canary)
			}
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Env != tc.want.Env || got.Canary != tc.want.Canary || !slices.Equal(got.Tenants, tc.want.Tenants) {
				t.Errorf("Select = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Select refuses dev itself too, for a caller that parsed the env without the fleet's reason.
func TestSelectRefusesDev(t *testing.T) {
	if _, err := Select([]string{"a"}, tenant.Dev, "", ""); err == nil || !strings.Contains(err.Error(), "deploy:tenant <tenant> dev") {
		t.Fatalf("error = %v", err)
	}
}

func TestSelectNoTenants(t *testing.T) {
	if _, err := Select(nil, tenant.Staging, "", ""); err == nil || !strings.Contains(err.Error(), "no tenants found") {
		t.Fatalf("error = %v", err)
	}
}

package fleet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Selection is the tenants one fleet command will touch, in the order they run.
type Selection struct {
	// Env is staging or production.
	Env tenant.Env
	// Tenants are every selected tenant in stable (sorted) order, canary included.
	Tenants []string
	// Canary, when set, is run alone and first; the fleet stops if it fails.
	Canary string
}

// DevRefusal is why a fleet command refuses dev, for tenant.ParseCloudEnv (the magefile's
// parse of the env) and tenant.Env.RequireCloud (Select's, for an env parsed elsewhere).
const DevRefusal = ", one tenant at a time, not as a fleet; use `go tool mage deploy:tenant <tenant> dev` instead"

// Select builds the selection from every tenant found in tenants/ (available), the
// environment (parsed by the caller; dev is refused here), the comma-separated -only list and
// the -canary tenant. Every name is checked here, before anything runs: an unknown name is an
// error listing the known ones.
func Select(available []string, e tenant.Env, only, canary string) (Selection, error) {
	if err := e.RequireCloud(DevRefusal); err != nil {
		return Selection{}, err
	}
	known := slices.Clone(available)
	slices.Sort(known)
	known = slices.Compact(known)
	if len(known) == 0 {
		return Selection{}, fmt.Errorf("no tenants found in tenants/; add tenants/<name>/tenant.config.json and wrangler.jsonc")
	}
	sel := Selection{Env: e, Tenants: known}
	if strings.TrimSpace(only) != "" {
		var picked, unknown []string
		for _, n := range strings.Split(only, ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "":
				continue
			case slices.Contains(known, n):
				picked = append(picked, n)
			default:
				unknown = append(unknown, n)
			}
		}
		if len(unknown) > 0 {
			return Selection{}, fmt.Errorf("-only: unknown tenant(s) %s; known tenants: %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
		}
		slices.Sort(picked)
		sel.Tenants = slices.Compact(picked)
		if len(sel.Tenants) == 0 {
			return Selection{}, fmt.Errorf("-only=%q names no tenant; known tenants: %s", only, strings.Join(known, ", "))
		}
	}
	if c := strings.TrimSpace(canary); c != "" {
		if !slices.Contains(known, c) {
			return Selection{}, fmt.Errorf("-canary: unknown tenant %q; known tenants: %s", c, strings.Join(known, ", "))
		}
		if !slices.Contains(sel.Tenants, c) {
			return Selection{}, fmt.Errorf("-canary=%s is not among the tenants selected by -only=%s; add it there", c, only)
		}
		sel.Canary = c
	}
	return sel, nil
}

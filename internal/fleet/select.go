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

// FleetEnv checks the environment of a fleet command. "prod" is an alias of "production".
// dev is refused: it runs one Worker on this machine, which is not a fleet operation.
func FleetEnv(env string) (tenant.Env, error) {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "staging":
		return tenant.Staging, nil
	case "production", "prod":
		return tenant.Production, nil
	case "dev":
		return "", fmt.Errorf("env %q: dev runs on this machine one tenant at a time; use `mage deploy:tenant <tenant> dev` instead", env)
	default:
		return "", fmt.Errorf("env %q is not a fleet environment; use staging or production (prod)", env)
	}
}

// Select builds the selection from every tenant found in tenants/ (available), the
// environment, the comma-separated -only list and the -canary tenant. Every name is checked
// here, before anything runs: an unknown name is an error listing the known ones.
func Select(available []string, env, only, canary string) (Selection, error) {
	e, err := FleetEnv(env)
	if err != nil {
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

package testworld

import (
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// Options shape a World (see sandboxworld.Options).
type Options = sandboxworld.Options

// Tenant is one tenant of a World and its sandbox account.
type Tenant = sandboxworld.Tenant

// HealthDeadline keeps a failing health check short in tests; the sandbox answers at once.
const HealthDeadline = sandboxworld.HealthDeadline

// World is a sandboxworld.World for one test: what would be an error there (a tenant the
// world does not hold) fails the test here, so assertions read as one line.
type World struct {
	*sandboxworld.World
	tb testing.TB
}

// New builds a world in t.TempDir() from the checkout the test runs in, without checking for
// wrangler (for tests that only read the sandbox), and closes it at the end of the test.
func New(tb testing.TB, o Options) *World {
	tb.Helper()
	if o.Observe == nil {
		o.Observe = ContractCheck(tb)
	}
	w, err := sandboxworld.New(testrepo.Repo(tb), tb.TempDir(), o)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(w.Close)
	return &World{World: w, tb: tb}
}

// NewWithWrangler is New for tests that run wrangler: without it the test is skipped on a
// laptop and fails when CI=true, so a green CI run has always exercised wrangler.
func NewWithWrangler(tb testing.TB, o Options) *World {
	tb.Helper()
	testrepo.NeedWrangler(tb, testrepo.Repo(tb))
	return New(tb, o)
}

// Tenant finds a tenant by name, failing the test when there is none.
func (w *World) Tenant(name string) Tenant {
	w.tb.Helper()
	t, err := w.World.Tenant(name)
	if err != nil {
		w.tb.Fatalf("%v", err)
	}
	return t
}

// API is a cfapi client for the tenant's account, outside any budget, for assertions.
func (w *World) API(name string) *cfapi.Client {
	w.tb.Helper()
	c, err := w.World.API(name)
	if err != nil {
		w.tb.Fatalf("%v", err)
	}
	return c
}

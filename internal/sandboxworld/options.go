package sandboxworld

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
)

// HealthDeadline keeps a failing health check short in tests; the sandbox answers at once.
const HealthDeadline = 5 * time.Second

// DeployOptions are the shared deploy options of a fleet run in this world.
func (w *World) DeployOptions(log *slog.Logger) (deploy.Options, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v, err := validate.New(w.WS, log, validate.Options{})
	if err != nil {
		return deploy.Options{}, fmt.Errorf("sandboxworld: %w", err)
	}
	return deploy.Options{
		Workspace: w.WS, APIBaseURL: w.APIBaseURL, HTTPClient: w.HTTPClient, Lookup: w.Lookup,
		Validate: deploy.ValidateWith(v), HealthDeadline: HealthDeadline, Log: log,
	}, nil
}

// DriftSources reads this world's tenants the way `mage drift` does.
func (w *World) DriftSources(log *slog.Logger) *drift.Sources {
	return drift.NewSources(drift.Sources{
		Workspace: w.WS, APIBaseURL: w.APIBaseURL, HTTPClient: w.HTTPClient, Lookup: w.Lookup, Log: log,
	}, 2)
}

// ChangeCode appends a statement to the Worker's entry module, so every tenant's bundle (and
// so its fingerprint) changes. Not an export: workerd refuses an entry module whose named
// exports are not handlers or classes, and the sandbox's workerd edge runs the bundle.
func (w *World) ChangeCode(marker string) error {
	p := filepath.Join(w.WS.WorkerDir(), "src", "index.ts")
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("sandboxworld: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n(globalThis as Record<string, unknown>)[\"fleetMarker\"] = %q;\n", marker)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
)

// Validate checks a tenant's config files (or every tenant's, with "all") against the schemas and cross-file rules and prints every problem as path:line:col: rule: message.
//
// -json=true prints the same report as JSON on stdout. Exits 1 when there is any problem.
func Validate(ctx context.Context, target string, json *bool) error {
	if target != "all" {
		if err := tenant.ValidName(target); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return err
	}
	v, err := validate.New(ws, log, validate.Options{})
	if err != nil {
		return err
	}
	report, err := v.Run(ctx, target)
	if err != nil {
		return err
	}
	if flag(json, false) {
		err = report.WriteJSON(os.Stdout)
	} else {
		err = report.WriteText(os.Stdout)
	}
	if err != nil {
		return err
	}
	return report.Err()
}

//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
)

// Validate checks a tenant's config files (or all) and prints every problem at once.
//
// Each problem is path:line:col: rule: message, against the schemas and the cross-file
// rules. Exits 1 when there is any problem.
func Validate(ctx context.Context, target string,
	json *bool, // print the report as JSON on stdout
) error {
	if err := tenantOrAll("validate", target); err != nil {
		return err
	}
	mg.CtxDeps(ctx, NodeModules)
	ws, log, err := setup()
	if err != nil {
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

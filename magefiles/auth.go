//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/authcheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Auth checks the per-tenant Cloudflare API tokens.
type Auth mg.Namespace

// Check verifies a tenant's API token (or all): set, valid, reaching its account.
//
// The table names the variable, never the value. Exits 1 if any tenant fails.
func (Auth) Check(ctx context.Context, tenantOrAll string,
	json *bool, // print the results as JSON on stdout
) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	results, err := authcheck.Command(ctx, ws, log, tenantOrAll, nil, os.Stderr)
	if err != nil {
		return err
	}
	if flag(json, false) {
		err = report.JSON(os.Stdout, results)
	} else {
		err = authcheck.Table(results).Text(os.Stdout, report.Colour(os.Stdout))
	}
	if err != nil {
		return err
	}
	var md strings.Builder
	if authcheck.Table(results).Markdown(&md) == nil {
		_ = report.AppendStepSummary(md.String())
	}
	if n := authcheck.Failed(results); n > 0 {
		return fmt.Errorf("auth:check: %d of %d tenants failed; fix the token named in the table (docs/deployment/multi-account-auth.md)", n, len(results))
	}
	return nil
}

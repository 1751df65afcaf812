//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Preflight checks that each tenant's account is ready for a deploy to env.
//
// One line per check per tenant (ok / warn / problem, what was found, the fix): the token is
// valid and reaches the account, the permissions answer, every KV namespace, Vectorize index
// and Durable Object class the env binds exists, every required secret is set on the Worker.
// -json=true prints [{tenant, env, worker, account_id, first_deploy, missing_secrets, checks}].
func Preflight(ctx context.Context, target, env string,
	json *bool, // print the checks per tenant as JSON on stdout
) error {
	target, e, err := requestAll("preflight", target, env)
	if err != nil {
		return err
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	reports, err := preflight.Command(ctx, ws, log, preflight.CommandOptions{Target: target, Env: e, Stderr: os.Stderr})
	if err != nil {
		return err
	}
	if flag(json, false) {
		err = report.JSON(os.Stdout, reports)
	} else {
		err = preflight.WriteText(os.Stdout, reports, report.Colour(os.Stdout))
	}
	if err != nil {
		return err
	}
	if !preflight.AllReady(reports) {
		return fmt.Errorf("preflight %s %s: not ready; fix the problems listed above before deploying", target, e)
	}
	return nil
}

//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
)

// Secrets sets and lists each tenant's Worker secrets (names only; values never shown).
type Secrets mg.Namespace

func secretsOptions() (secrets.Options, error) {
	ws, log, err := setup()
	return secrets.Options{Workspace: ws, Log: log, Stderr: os.Stderr}, err
}

// List lists each Worker's secret names in env, flagging missing required ones.
//
// -json=true prints [{tenant, env, worker, worker_exists, secrets:[{name, required, set}], missing}].
func (Secrets) List(ctx context.Context, target, env string,
	json *bool, // print the names per Worker as JSON on stdout
) error {
	target, e, err := requestAll("secrets:list", target, env)
	if err != nil {
		return err
	}
	o, err := secretsOptions()
	if err != nil {
		return err
	}
	ls, err := secrets.ListCommand(ctx, o, target, e)
	if err != nil {
		return err
	}
	if err := secrets.WriteList(os.Stdout, ls, flag(json, false), report.Colour(os.Stdout)); err != nil {
		return err
	}
	if !secrets.AllOK(ls) {
		return fmt.Errorf("secrets:list %s %s: required secrets are missing (or a Worker could not be read); set them with secrets:put", target, e)
	}
	return nil
}

// Put sets one secret on a tenant's Worker in env, reading the value from stdin only.
//
// printf %s "$VALUE" | go tool mage secrets:put <tenant> <env> <NAME>. The name must be in the
// tenant's required_secrets unless -extra=true. On Cloudflare this creates and deploys a new
// version at once; the output says so. -json=true prints the outcome document.
func (Secrets) Put(ctx context.Context, tenantName, env, name string,
	extra *bool, // allow a name that is not in the tenant's required_secrets
	json *bool, // print the outcome as JSON on stdout
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	n, e, err := request("secrets:put", tenantName, env)
	if err != nil {
		return err
	}
	o, err := secretsOptions()
	if err != nil {
		return err
	}
	out, err := secrets.PutCommand(ctx, o, n, e, name, os.Stdin, flag(extra, false))
	if err != nil {
		return err
	}
	return out.Write(os.Stdout, flag(json, false))
}

// Sync sets every secret of an untracked JSON file on a tenant's Worker in env.
//
// -from=<file> is required. Unknown names (not in required_secrets, unless -extra=true) and
// empty values are refused before anything is set. -json=true prints the outcome document.
func (Secrets) Sync(ctx context.Context, tenantName, env string,
	from *string, // the JSON file of name -> value (required; must not be tracked by git)
	extra *bool, // allow names that are not in the tenant's required_secrets
	json *bool, // print the outcome as JSON on stdout
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	n, e, err := request("secrets:sync", tenantName, env)
	if err != nil {
		return err
	}
	o, err := secretsOptions()
	if err != nil {
		return err
	}
	out, err := secrets.SyncCommand(ctx, o, n, e, flag(from, ""), flag(extra, false))
	if err != nil {
		return err
	}
	return out.Write(os.Stdout, flag(json, false))
}

//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
)

// Secrets sets and lists each tenant's Worker secrets (names only; values never shown).
type Secrets mg.Namespace

func secretsOptions(json *bool) (secrets.Options, error) {
	ws, log, err := setup()
	return secrets.Options{Workspace: ws, Log: log, JSON: flag(json, false), Stdout: os.Stdout, Stderr: os.Stderr}, err
}

// List lists the secret names of a tenant's (or every) Worker in env; exit 1 if a required one is missing.
//
// -json=true prints [{tenant, env, worker, worker_exists, secrets:[{name, required, set}], missing}].
func (Secrets) List(ctx context.Context, target, env string, json *bool) error {
	o, err := secretsOptions(json)
	if err != nil {
		return err
	}
	_, ok, err := secrets.ListCommand(ctx, o, target, env)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("secrets:list %s %s: required secrets are missing (or a Worker could not be read); set them with secrets:put", target, env)
	}
	return nil
}

// Put sets one secret on a tenant's Worker in env, the value read from stdin only, and records the name.
//
// printf %s "$VALUE" | go tool mage secrets:put <tenant> <env> <NAME>. The name must be in the
// tenant's required_secrets unless -extra=true. On Cloudflare this creates and deploys a new
// version at once; the output says so. -json=true prints the outcome document.
func (Secrets) Put(ctx context.Context, tenantName, env, name string, extra, json *bool) error {
	o, err := secretsOptions(json)
	if err != nil {
		return err
	}
	_, err = secrets.PutCommand(ctx, o, tenantName, env, name, os.Stdin, flag(extra, false))
	return err
}

// Sync sets every secret of a JSON file (name -> value, not tracked by git) on a tenant's Worker in env.
//
// -from=<file> is required. Unknown names (not in required_secrets, unless -extra=true) and
// empty values are refused before anything is set. -json=true prints the outcome document.
func (Secrets) Sync(ctx context.Context, tenantName, env string, from *string, extra, json *bool) error {
	o, err := secretsOptions(json)
	if err != nil {
		return err
	}
	_, err = secrets.SyncCommand(ctx, o, tenantName, env, flag(from, ""), flag(extra, false))
	return err
}

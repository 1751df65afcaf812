package rollback

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
)

// DeploymentsActor rolls back through the deployments API (POST …/scripts/{name}/deployments),
// the same call `wrangler rollback` makes.
//
// Why not `wrangler rollback` itself: when Cloudflare refuses because secrets changed (10220),
// wrangler asks for confirmation, and outside a terminal its confirm() answers with its
// fallback, yes, and posts again with ?force=true (wrangler 4.63.0, versions rollback
// handler). A tool run from CI or a script could therefore never refuse a rollback across a
// secret change. Posting ourselves lets Cloudflare decide and name the secrets, changes
// nothing when it refuses, and forces only when the operator said -force=true.
type DeploymentsActor struct {
	// API is the tenant's client; its DeployVersionChecked makes the request, with the client's
	// retries (429 with Retry-After, 5xx), request budget and error type.
	API    *cfapi.Client
	Script string
	// Held, when set, confirms the run still holds its lock and lease right before the
	// deployment changes (another machine may have broken an expired lease meanwhile).
	Held func(context.Context) error
}

// Rollback implements Actor.
func (a DeploymentsActor) Rollback(ctx context.Context, live []string, versionID, message string, force bool) ([]string, error) {
	if a.Held != nil {
		if err := a.Held(ctx); err != nil {
			return nil, err
		}
	}
	err := a.post(ctx, live, versionID, message, false)
	var api *cfapi.APIError
	if err == nil || !errors.As(err, &api) || !api.HasCode(cfapi.CodeSecretsChanged) {
		return nil, err
	}
	names := changedSecrets(api)
	if !force {
		return nil, &SecretsError{Target: versionID, Names: names}
	}
	return names, a.post(ctx, live, versionID, message, true)
}

func changedSecrets(e *cfapi.APIError) []string {
	for _, d := range e.Errors {
		if d.Code == cfapi.CodeSecretsChanged {
			return ParseChangedSecrets(d.Message)
		}
	}
	return nil
}

// maxMessage is the deployment message limit wrangler enforces for rollbacks (120 characters).
const maxMessage = 120

func (a DeploymentsActor) post(ctx context.Context, live []string, versionID, message string, force bool) error {
	if utf8.RuneCountInString(message) > maxMessage {
		message = string([]rune(message)[:maxMessage-1]) + "…"
	}
	_, err := a.API.DeployVersionChecked(ctx, a.Script, live, versionID, message, force)
	return err
}

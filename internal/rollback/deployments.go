package rollback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
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
	// BaseURL is the API base without a trailing slash (…/client/v4).
	BaseURL   string
	AccountID string
	Script    string
	Token     creds.Secret
	// HTTP sends the request; nil means a client with a 30 s timeout.
	HTTP *http.Client
}

// maxMessage is the deployment message limit wrangler enforces (120 characters).
const maxMessage = 120

// Rollback implements Actor.
func (a DeploymentsActor) Rollback(ctx context.Context, versionID, message string, force bool) ([]string, error) {
	err := a.post(ctx, versionID, message, false)
	var api *cfapi.APIError
	if err == nil || !errors.As(err, &api) || !api.HasCode(cfapi.CodeSecretsChanged) {
		return nil, err
	}
	names := changedSecrets(api)
	if !force {
		return nil, &SecretsError{Target: versionID, Names: names}
	}
	return names, a.post(ctx, versionID, message, true)
}

func changedSecrets(e *cfapi.APIError) []string {
	for _, d := range e.Errors {
		if d.Code == cfapi.CodeSecretsChanged {
			return ParseChangedSecrets(d.Message)
		}
	}
	return nil
}

func (a DeploymentsActor) post(ctx context.Context, versionID, message string, force bool) error {
	if utf8.RuneCountInString(message) > maxMessage {
		message = string([]rune(message)[:maxMessage-1]) + "…"
	}
	body, err := json.Marshal(map[string]any{
		"strategy":    "percentage",
		"versions":    []map[string]any{{"version_id": versionID, "percentage": 100}},
		"annotations": map[string]string{"workers/message": message},
	})
	if err != nil {
		return err
	}
	path := "/accounts/" + url.PathEscape(a.AccountID) + "/workers/scripts/" + url.PathEscape(a.Script) + "/deployments"
	u := strings.TrimRight(a.BaseURL, "/") + path
	if force {
		u += "?force=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("deploy version %s: %w", versionID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.Token.Reveal())
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	// Not retried: a write whose answer was lost may have happened; the lock is held and the
	// caller re-reads the live version before trying again.
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("deploy version %s: POST %s: %w", versionID, path, scrub(err, a.Token))
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("deploy version %s: reading the answer: %w", versionID, err)
	}
	var env struct {
		Success  bool                `json:"success"`
		Errors   []cfapi.ErrorDetail `json:"errors"`
		Messages []json.RawMessage   `json:"messages"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return &cfapi.APIError{Method: http.MethodPost, Path: path, Status: res.StatusCode,
			Messages: []string{"the answer is not JSON: " + strings.TrimSpace(string(raw[:min(len(raw), 100)]))}}
	}
	if res.StatusCode >= 400 || !env.Success {
		return &cfapi.APIError{Method: http.MethodPost, Path: path, Status: res.StatusCode, Errors: env.Errors}
	}
	return nil
}

// scrub keeps the token out of transport errors, which can quote the request.
func scrub(err error, token creds.Secret) error {
	if t := token.Reveal(); t != "" && strings.Contains(err.Error(), t) {
		return errors.New(strings.ReplaceAll(err.Error(), t, "[REDACTED]"))
	}
	return err
}

package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// idempotentKey marks a write that may be repeated after a 5xx or a lost answer.
type idempotentKey struct{}

// DeployVersion makes versionID serve 100% of the Worker's traffic, with message as the
// deployment's workers/message annotation. This is the call the
// tool itself makes to put a version live: the annotation after a deploy, rollback, and the
// automatic rollback of a failed deploy. force adds ?force=true, which lets Cloudflare deploy a
// version whose secrets have changed since (code 10220 otherwise).
//
// Unlike other writes it is retried after a 5xx or a network error (bounded, within ctx's
// deadline), like every call after a 429: a deployment of one version at 100% is a state, not
// an increment, so sending it twice ends where sending it once does.
func (c *Client) DeployVersion(ctx context.Context, script, versionID, message string, force bool) (Deployment, error) {
	if versionID == "" {
		return Deployment{}, fmt.Errorf("deploy a version of %s: no version id", script)
	}
	body, err := json.Marshal(map[string]any{
		"strategy":    "percentage",
		"versions":    []map[string]any{{"version_id": versionID, "percentage": 100}},
		"annotations": map[string]string{"workers/message": message},
	})
	if err != nil {
		return Deployment{}, err
	}
	u := c.base + "/accounts/" + url.PathEscape(c.account) + "/workers/scripts/" + url.PathEscape(script) + "/deployments"
	if force {
		u += "?force=true"
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, idempotentKey{}, true), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy version %s of %s: %w", versionID, script, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.pacer.middleware(req, c.http.Do)
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy version %s of %s: %w", versionID, script, err)
	}
	defer res.Body.Close()
	var env struct {
		Result struct {
			ID       string `json:"id"`
			Versions []struct {
				VersionID  string  `json:"version_id"`
				Percentage float64 `json:"percentage"`
			} `json:"versions"`
		} `json:"result"`
	}
	// The pacer has already judged the answer; a result we cannot read is still a success.
	_ = decodeJSON(res.Body, &env)
	d := Deployment{ID: env.Result.ID, Message: message}
	for _, v := range env.Result.Versions {
		d.Versions = append(d.Versions, TrafficSplit{VersionID: v.VersionID, Percentage: v.Percentage})
	}
	return d, nil
}

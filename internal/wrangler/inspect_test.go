package wrangler

// The read and secret commands below are what the sandbox tests use to look at a Worker the way
// an operator would with wrangler itself; no mage target needs them (drift, fleet:status and
// secrets read through cfapi), so they live with the tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
)

// Deployment is one entry of `wrangler deployments list --json`.
type Deployment struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	Strategy    string            `json:"strategy"`
	AuthorEmail string            `json:"author_email"`
	Annotations map[string]string `json:"annotations"`
	CreatedOn   string            `json:"created_on"`
	Versions    []struct {
		VersionID  string  `json:"version_id"`
		Percentage float64 `json:"percentage"`
	} `json:"versions"`
}

// DeploymentsList returns the Worker's deployments, newest first (the first one is live).
// wrangler prints them oldest first; they are re-sorted here by created_on.
func (r Runner) DeploymentsList(ctx context.Context, inv Invocation) ([]Deployment, error) {
	var out []Deployment
	if err := r.listJSON(ctx, inv, "deployments list", []string{"deployments", "list", "--json"}, &out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedOn > out[j].CreatedOn })
	return out, nil
}

// Version is one entry of `wrangler versions list --json`.
type Version struct {
	ID       string  `json:"id"`
	Number   float64 `json:"number"`
	Metadata struct {
		CreatedOn   string `json:"created_on"`
		ModifiedOn  string `json:"modified_on"`
		Source      string `json:"source"`
		AuthorEmail string `json:"author_email"`
	} `json:"metadata"`
	// Annotations holds workers/message, workers/tag and workers/triggered_by when set.
	Annotations map[string]string `json:"annotations"`
	// Resources is the version's bindings, script and runtime settings, as the API sent it.
	Resources json.RawMessage `json:"resources"`
}

// VersionsList returns the Worker's deployable versions, newest first.
func (r Runner) VersionsList(ctx context.Context, inv Invocation) ([]Version, error) {
	var out []Version
	if err := r.listJSON(ctx, inv, "versions list", []string{"versions", "list", "--json"}, &out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Metadata.CreatedOn > out[j].Metadata.CreatedOn })
	return out, nil
}

// Secret is one entry of `wrangler secret list`: names and types only, never values.
type Secret struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SecretList returns the names of the Worker's secrets.
func (r Runner) SecretList(ctx context.Context, inv Invocation) ([]Secret, error) {
	var out []Secret
	err := r.listJSON(ctx, inv, "secret list", []string{"secret", "list", "--format", "json"}, &out)
	return out, err
}

// secretName is what Cloudflare accepts as a binding name.
var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SecretPut sets secret name to value with `wrangler secret put`. The value goes in on stdin,
// never as an argument, and is scrubbed from everything captured like the token. wrangler
// trims trailing whitespace from it.
func (r Runner) SecretPut(ctx context.Context, inv Invocation, name string, value creds.Secret) error {
	if !secretName.MatchString(name) {
		return fmt.Errorf("wrangler secret put: %q is not a valid secret name (letters, digits and _, not starting with a digit)", name)
	}
	if value.Empty() {
		return fmt.Errorf("wrangler secret put %s: empty value", name)
	}
	_, err := r.exec(ctx, inv, "secret put", append([]string{"secret", "put", name}, baseArgs(inv)...), value.Reveal(), value.Reveal())
	return err
}

// listJSON runs a command whose stdout is one JSON document and decodes it into v.
func (r Runner) listJSON(ctx context.Context, inv Invocation, command string, args []string, v any) error {
	res, err := r.exec(ctx, inv, command, append(args, baseArgs(inv)...), "")
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(res.Stdout), v); err != nil {
		return fmt.Errorf("wrangler %s: stdout is not the expected JSON: %w\n%s", command, err, tail(res.Stdout, 5))
	}
	return nil
}

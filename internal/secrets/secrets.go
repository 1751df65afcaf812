package secrets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
)

// API is the part of cfapi the secrets commands use; *cfapi.Client implements it.
type API interface {
	Script(ctx context.Context, script string) (cfapi.Script, error)
	Secrets(ctx context.Context, script string) ([]cfapi.Secret, error)
	LiveDeployment(ctx context.Context, script string) (cfapi.Deployment, error)
	PutSecret(ctx context.Context, script, name, value string) error
	DeployVersionChecked(ctx context.Context, script string, expect []string, versionID, message string, force bool) (cfapi.Deployment, error)
}

// Value is one secret to set. Value is never printed, logged or recorded.
type Value struct {
	Name  string
	Value string
}

// String keeps the value out of any %v of a Value.
func (v Value) String() string { return v.Name + "=[REDACTED]" }

// GoString keeps the value out of %#v.
func (v Value) GoString() string { return v.String() }

// nameRe is the form of a secret name the validator requires for required_secrets.
var nameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// CheckNames refuses a name that is not UPPER_SNAKE, repeats, or (unless extra) is not one of
// the tenant's required_secrets.
func CheckNames(names, required []string, extra bool, configPath string) error {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case !nameRe.MatchString(n):
			return fmt.Errorf("secret name %q is not upper-case letters, digits and underscores starting with a letter", n)
		case seen[n]:
			return fmt.Errorf("secret %s is named twice", n)
		case !extra && !slices.Contains(required, n):
			return fmt.Errorf("secret %s is not in required_secrets of %s (%v); add it there, or pass -extra=true to set a secret the config does not require", n, configPath, required)
		}
		seen[n] = true
	}
	return nil
}

// Entry is one secret name as secrets:list shows it.
type Entry struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Set      bool   `json:"set"`
	Type     string `json:"type,omitempty"`
}

// Listing is the secret names of one tenant environment's Worker.
type Listing struct {
	Tenant  string  `json:"tenant"`
	Env     string  `json:"env"`
	Worker  string  `json:"worker"`
	Exists  bool    `json:"worker_exists"`
	Entries []Entry `json:"secrets"`
	// Missing are required names not set.
	Missing []string `json:"missing"`
	Error   string   `json:"error,omitempty"`
}

// OK: nothing required is missing and the Worker could be read.
func (l Listing) OK() bool { return l.Error == "" && len(l.Missing) == 0 }

// List reads the Worker's secret names (never values) and marks the required ones.
func List(ctx context.Context, api API, worker string, required []string) (Listing, error) {
	l := Listing{Worker: worker, Entries: []Entry{}, Missing: []string{}}
	live, err := api.Secrets(ctx, worker)
	switch {
	case errors.Is(err, cfapi.ErrNotFound):
		for _, n := range required {
			l.Entries = append(l.Entries, Entry{Name: n, Required: true})
		}
		l.Missing = append(l.Missing, required...)
		return l, nil
	case err != nil:
		return l, err
	}
	l.Exists = true
	set := map[string]string{}
	for _, s := range live {
		set[s.Name] = s.Type
	}
	names := slices.Clone(required)
	for n := range set {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		typ, ok := set[n]
		e := Entry{Name: n, Required: slices.Contains(required, n), Set: ok, Type: typ}
		if e.Required && !ok {
			l.Missing = append(l.Missing, n)
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// Result is what Put changed.
type Result struct {
	Changed []string `json:"changed"`
	// PreviousVersionID was live before; VersionID is live after. They differ when the change
	// created (and deployed) a new version, as Cloudflare does for every secret put.
	PreviousVersionID string `json:"previous_version_id"`
	VersionID         string `json:"version_id"`
	NewVersion        bool   `json:"new_version"`
}

// ErrNoWorker is matched by Put's error when the Worker does not exist yet.
var ErrNoWorker = errors.New("the Worker does not exist yet")

// Put sets each value on the Worker, one request per secret, and carries the live
// deployment's message (our fingerprint annotation) over to the deployment Cloudflare makes
// for the new version: a secret is not part of what a deploy fingerprints, and without the
// message the next deploy of an unchanged tree would upload again. It refuses a Worker that
// does not exist, because Cloudflare would create an empty draft Worker for the name. On a
// failure half-way, Result lists what was set before it.
func Put(ctx context.Context, api API, worker string, values []Value) (Result, error) {
	return PutAhead(ctx, api, worker, values, nil)
}

// PutAhead is Put that calls ahead, when not nil, with the change about to be made before each
// call that changes Cloudflare ("secret API_KEY", "carry the deploy annotation over to …"),
// and with the result so far: the caller writes it into its reservation (write ahead).
func PutAhead(ctx context.Context, api API, worker string, values []Value, ahead func(next string, res Result)) (Result, error) {
	if ahead == nil {
		ahead = func(string, Result) {}
	}
	var res Result
	if _, err := api.Script(ctx, worker); errors.Is(err, cfapi.ErrNotFound) {
		return res, fmt.Errorf("%w: %s; deploy it first (a secret put on a missing Worker would create an empty draft Worker)", ErrNoWorker, worker)
	} else if err != nil {
		return res, err
	}
	before, err := api.LiveDeployment(ctx, worker)
	if err != nil {
		return res, fmt.Errorf("reading the live deployment of %s: %w", worker, err)
	}
	res.PreviousVersionID = before.Primary().VersionID
	res.VersionID = res.PreviousVersionID
	for _, v := range values {
		ahead("secret "+v.Name+" (Cloudflare makes and deploys a new version of "+worker+" for it)", res)
		if err := api.PutSecret(ctx, worker, v.Name, v.Value); err != nil {
			var ae *cfapi.APIError
			if errors.As(err, &ae) && ae.HasCode(cfapi.CodeLatestNotDeployed) {
				err = latestNotDeployed(err, before)
			}
			return res, err
		}
		res.Changed = append(res.Changed, v.Name)
	}
	after, err := api.LiveDeployment(ctx, worker)
	if err != nil {
		return res, fmt.Errorf("secrets set; reading the live deployment of %s after: %w", worker, err)
	}
	res.VersionID = after.Primary().VersionID
	res.NewVersion = res.VersionID != res.PreviousVersionID
	if res.NewVersion && before.Message != "" && after.Message == "" && len(after.Versions) == 1 {
		ahead("carry the deploy annotation over to "+res.VersionID, res)
		// Guarded: only while the version the secrets made is still the one live alone.
		if _, err := api.DeployVersionChecked(ctx, worker, []string{res.VersionID}, res.VersionID, before.Message, false); err != nil {
			return res, fmt.Errorf("secrets set and live in version %s; carrying the deploy annotation over failed (the next deploy will upload again): %w", res.VersionID, err)
		}
	}
	return res, nil
}

// latestNotDeployed explains Cloudflare's 10215 (a secret can only change while the newest
// version serves everything) by what the live deployment shows, with our commands, not
// wrangler's: a split is a rollout to settle; one older version alone is a rollback's doing.
func latestNotDeployed(err error, live cfapi.Deployment) error {
	if len(live.Versions) > 1 {
		return fmt.Errorf("%w; a gradual rollout is in progress (traffic is split): settle it first with `go tool mage deploy:promote` or `deploy:abort` for this tenant and env, then set the secret", err)
	}
	return fmt.Errorf("%w; the live version %s is not the newest one (a rollback or an aborted rollout put an older version back): deploy first (`go tool mage deploy:tenant`), which makes the newest code live with the newest secrets, then set the secret", err, live.Primary().VersionID)
}

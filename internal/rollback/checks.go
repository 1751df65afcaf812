package rollback

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Runbook is where every refusal points the operator.
const Runbook = "docs/runbooks/rollback-deployment.md"

// Version is what the checks need to know about one Worker version.
type Version struct {
	ID        string
	Number    int
	CreatedOn time.Time
	// TriggeredBy is the version's workers/triggered_by annotation: upload, secret, rollback, ...
	TriggeredBy string
	// MigrationTag is the Durable Object migration tag the version was created with.
	MigrationTag string
}

// MaxVersions is how far back Cloudflare keeps versions a deployment may name.
const MaxVersions = 100

// Sentinels for the refusals, matched with errors.Is.
var (
	ErrNotListed      = errors.New("version is not among the Worker's recent versions")
	ErrMigration      = errors.New("rollback would cross a Durable Object migration")
	ErrSecretsChanged = errors.New("secrets changed since the target version")
)

// CheckListed makes sure target is one of versions (the Worker's newest MaxVersions).
func CheckListed(versions []Version, target string) error {
	for _, v := range versions {
		if v.ID == target {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not among the last %d versions of the Worker; pick one from `go tool mage history` or `wrangler versions list`",
		ErrNotListed, target, MaxVersions)
}

// CheckMigration refuses a target whose Durable Object migration tag differs from the live
// version's: the live code's objects were migrated (classes created, renamed or deleted) and
// the older code would run against storage it does not know. Cloudflare refuses such a
// deployment too, but only after the lock is taken; saying it first is kinder.
func CheckMigration(target, live Version) error {
	if target.MigrationTag == live.MigrationTag {
		return nil
	}
	tag := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	return fmt.Errorf("%w: version %s was created at migration tag %s, the live version %s at %s; "+
		"rolling the code back does not roll Durable Object storage back, so this is refused. "+
		"Fix forward (deploy a change on top of the live version) or follow \"What rollback cannot undo\" in %s",
		ErrMigration, target.ID, tag(target.MigrationTag), live.ID, tag(live.MigrationTag), Runbook)
}

// SecretsError names the secrets that changed since the target version.
type SecretsError struct {
	Target string
	Names  []string
}

func (e *SecretsError) Error() string {
	which := "secrets (Cloudflare did not name them)"
	if len(e.Names) > 0 {
		which = strings.Join(e.Names, ", ")
	}
	return fmt.Sprintf("%s: %s changed since version %s was deployed; each version keeps the secret values it was made with, so "+
		"rolling back brings that version's old values back (a rotated-out key would work again). "+
		"If that is acceptable run again with -force=true; after a rotation, fix forward instead (a deploy keeps the newest values; see %s)",
		ErrSecretsChanged, which, e.Target, Runbook)
}

func (e *SecretsError) Unwrap() error { return ErrSecretsChanged }

// secretsPrefix is how Cloudflare's 10220 message lists the secrets.
const secretsPrefix = "The following secrets have changed:"

// ParseChangedSecrets reads the secret names out of a 10220 message ("The following secrets
// have changed: A, B"). It returns nil when the message does not list any.
func ParseChangedSecrets(msg string) []string {
	i := strings.Index(msg, secretsPrefix)
	if i < 0 {
		return nil
	}
	rest := msg[i+len(secretsPrefix):]
	if j := strings.IndexAny(rest, "[\n"); j >= 0 {
		rest = rest[:j]
	}
	var names []string
	for _, n := range strings.Split(rest, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

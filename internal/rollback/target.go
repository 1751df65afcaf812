package rollback

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Share is one version's part of a deployment's traffic.
type Share struct {
	VersionID  string
	Percentage float64
}

// Deployment is one entry of the Worker's deployment list as the API returns it.
type Deployment struct {
	ID        string
	CreatedOn time.Time
	Versions  []Share
}

// Main is the version carrying most of the deployment's traffic ("" for an empty deployment).
func (d Deployment) Main() string {
	best, id := -1.0, ""
	for _, s := range d.Versions {
		if s.Percentage > best {
			best, id = s.Percentage, s.VersionID
		}
	}
	return id
}

// serving lists every version d gives traffic to.
func (d Deployment) serving() []string {
	var ids []string
	for _, s := range d.Versions {
		ids = append(ids, s.VersionID)
	}
	return ids
}

// whole reports the version d serves at 100%, if it serves one.
func (d Deployment) whole() (string, bool) {
	for _, s := range d.Versions {
		if s.Percentage >= 100-0.001 {
			return s.VersionID, true
		}
	}
	return "", false
}

// Record is what a rollback needs from one deployment record of the tenant/env.
type Record struct {
	// File is the record's file name, for messages.
	File string
	// Kind is "deploy" or "rollback".
	Kind string
	// Status is the record's end: succeeded, unchanged, failed, rolled_back, interrupted.
	Status string
	// VersionID is the version the attempt left live (a rollback's target).
	VersionID string
	// FromVersionID is the version a rollback replaced, or the one a secrets change made its
	// new version from; empty for deploys.
	FromVersionID string
	// At orders records: when the attempt finished.
	At time.Time
	// Damaged says why the file is not a readable record ("" for a good one); such a record
	// is skipped with a warning, never trusted.
	Damaged string
}

// good reports whether r put (or confirmed) a version live that can be returned to.
func (r Record) good() bool {
	return r.VersionID != "" && (r.Status == "succeeded" || r.Status == "unchanged" && r.Kind == "deploy")
}

// Source says where a rollback target came from.
type Source string

// The places a target comes from.
const (
	FromFlag        Source = "flag"        // -to=<version-id>
	FromHistory     Source = "history"     // the deployment records
	FromDeployments Source = "deployments" // the API's deployment list
)

// Target is the version to roll back to and why it was chosen.
type Target struct {
	VersionID string
	Source    Source
	// Why explains the choice in one sentence for the operator.
	Why string
}

// ErrNoTarget is matched (errors.Is) when neither the records nor the API name an earlier
// good version.
var ErrNoTarget = errors.New("no earlier version to roll back to")

// ErrNotDeployed is matched when the Worker has no deployment at all.
var ErrNotDeployed = errors.New("worker has no deployment")

// Live is the version serving most traffic now: the main version of the newest deployment.
func Live(deps []Deployment) (string, error) {
	if len(deps) == 0 || deps[0].Main() == "" {
		return "", ErrNotDeployed
	}
	return deps[0].Main(), nil
}

// Choose picks the version to roll back to.
//
// With to set, that is the target. Otherwise the records decide: the newest good record older
// than the one that put the live version on, whose version is not the live one and was not
// itself rolled away from later (a version someone rolled back from is known bad, and going
// "back" to it would make two rollbacks in a row flip between the same two versions). When
// the records know of no such version, the API's deployment list is asked the same question:
// the newest earlier deployment that served one version at 100%. A version a recorded secrets
// change made from the live code (and the one it was made from) is never the target: it runs
// the same code, and Cloudflare keeps the new secret values whichever of them is deployed.
func Choose(records []Record, deps []Deployment, live, to string) (Target, error) {
	if to != "" {
		return Target{VersionID: to, Source: FromFlag, Why: "named with -to"}, nil
	}
	recs := slices.Clone(records)
	slices.SortStableFunc(recs, func(a, b Record) int { return b.At.Compare(a.At) }) // newest first

	// Known bad: every version someone rolled away from (whether or not that rollback then
	// passed its health check), and the target of a rollback that failed its health check.
	bad := map[string]bool{}
	for _, r := range recs {
		if r.Kind != "rollback" {
			continue
		}
		if r.FromVersionID != "" && r.Status != "" {
			bad[r.FromVersionID] = true
		}
		if r.Status == "failed" && r.VersionID != "" {
			bad[r.VersionID] = true
		}
	}
	// The live code's versions: the live one and, through each secrets change newest first, the
	// version it was made from.
	sameCode := map[string]bool{live: true}
	var copies []string // of the live code, for the message when nothing else is left
	for _, r := range recs {
		if r.Kind == "secrets" && r.Status == "succeeded" && sameCode[r.VersionID] && r.FromVersionID != "" && !sameCode[r.FromVersionID] {
			sameCode[r.FromVersionID] = true
			copies = append(copies, r.FromVersionID)
		}
	}
	// Start below the newest record that put the live version on; if no record did (someone
	// deployed outside the tool), every record is older than what is live.
	start := 0
	for i, r := range recs {
		if r.good() && r.VersionID == live {
			start = i + 1
			break
		}
	}
	for _, r := range recs[start:] {
		if r.good() && !sameCode[r.VersionID] && !bad[r.VersionID] {
			return Target{VersionID: r.VersionID, Source: FromHistory,
				Why: fmt.Sprintf("last good %s before the live version (record %s)", r.Kind, r.File)}, nil
		}
	}
	for i, d := range deps {
		if i == 0 {
			continue // the live deployment
		}
		if v, ok := d.whole(); ok && !sameCode[v] && !bad[v] {
			return Target{VersionID: v, Source: FromDeployments,
				Why: fmt.Sprintf("previous 100%% deployment %s of %s (no deployment record names an earlier good version)", d.ID, d.CreatedOn.UTC().Format(time.RFC3339))}, nil
		}
	}
	if len(copies) > 0 {
		return Target{}, fmt.Errorf("%w: the earlier version(s) %s differ from the live %s only by secrets changes (secrets:put, secrets:sync): "+
			"the code is the same, so this Worker has no earlier code version to roll back to (-force would not change that; "+
			"going back to one of them would only bring its old secret values back). "+
			"To undo a secret, put its old value with secrets:put; for other code, deploy it, or name a version with -to=<version-id>",
			ErrNoTarget, strings.Join(copies, ", "), live)
	}
	if len(bad) > 0 {
		return Target{}, fmt.Errorf("%w: the only earlier versions were rolled back from; name one with -to=<version-id> (see `go tool mage history`)", ErrNoTarget)
	}
	return Target{}, fmt.Errorf("%w: no deployment record and no earlier deployment serves another version; name one with -to=<version-id> if you know it", ErrNoTarget)
}

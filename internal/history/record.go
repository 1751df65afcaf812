package history

import "time"

// SchemaVersion is the version of the record format written by this package.
const SchemaVersion = 1

// Kind says what an attempt tried to do.
type Kind string

// The kinds of record.
const (
	KindDeploy   Kind = "deploy"
	KindRollback Kind = "rollback"
	KindSecrets  Kind = "secrets" // a secrets:put or secrets:sync: the names changed, never values
)

// Status is how an attempt ended.
type Status string

// The statuses of record.
const (
	StatusSucceeded   Status = "succeeded"
	StatusUnchanged   Status = "unchanged"
	StatusFailed      Status = "failed"
	StatusRolledBack  Status = "rolled_back"
	StatusInterrupted Status = "interrupted"
)

var (
	kinds    = map[Kind]bool{KindDeploy: true, KindRollback: true, KindSecrets: true}
	statuses = map[Status]bool{StatusSucceeded: true, StatusUnchanged: true, StatusFailed: true, StatusRolledBack: true, StatusInterrupted: true}
)

// Health is what a health check asked for and what it saw.
type Health struct {
	URL             string `json:"url"`
	ExpectedVersion string `json:"expected_version"`
	SeenVersion     string `json:"seen_version"`
	StatusCode      int    `json:"status_code"`
	Attempts        int    `json:"attempts"`
	OK              bool   `json:"ok"`
}

// Checks says whether the deploy checks (the Worker's typecheck and tests, validation of the
// tenants deployed, their build) vouched for the tree a deploy shipped: run now, passed before
// for this exact tree (or `mage ci` passed it, here or on another machine), skipped in an
// emergency, or failed, which refused the deploy.
type Checks struct {
	// Tree is the hash of the tree checked (git write-tree of its content, deployments/ aside).
	Tree string `json:"tree"`
	// Status is "passed" (ran before this deploy), "already_passed" (this tree passed
	// earlier), "skipped_emergency" (-emergency=true: only the Worker's typecheck ran) or
	// "failed" (the deploy was refused before anything was uploaded).
	Status string `json:"status"`
	// Failed is the check that failed (Status "failed"): worker-typecheck, worker-tests,
	// validate or build.
	Failed string `json:"failed,omitempty"`
	// Emergency says the operator gave -emergency=true (only the Worker's typecheck ran).
	Emergency bool `json:"emergency,omitempty"`
	// Source says where an earlier pass ran ("CI run <url>", "on <host>"), for already_passed.
	Source string `json:"source,omitempty"`
	// PassedAt is when this tree passed them (zero when skipped).
	PassedAt   time.Time `json:"passed_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`
}

// ChecksFailed is Checks.Status of a deploy refused by its checks.
const ChecksFailed = "failed"

// PluginRun is one plugin script's run during a deploy (package plugins).
type PluginRun struct {
	Name       string `json:"name"` // its path in the repository: plugins/post-deploy/10-smoke
	Event      string `json:"event"`
	Exit       int    `json:"exit"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Step is one named step of the attempt and how long it took.
type Step struct {
	Name       string    `json:"name"`
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"duration_ms"`
}

// Record is one deploy or rollback attempt. Field names are the documented file format
// (docs/deployment/records.md); never put a credential into any field.
type Record struct {
	SchemaVersion     int         `json:"schema_version"`
	Kind              Kind        `json:"kind"`
	Tenant            string      `json:"tenant"`
	Env               string      `json:"env"`
	WorkerName        string      `json:"worker_name"`
	AccountID         string      `json:"account_id"`
	Actor             string      `json:"actor"`
	GitSHA            string      `json:"git_sha"`
	GitDirty          bool        `json:"git_dirty"`
	WranglerVersion   string      `json:"wrangler_version"`
	BundleSHA256      string      `json:"bundle_sha256"`
	ConfigFingerprint string      `json:"config_fingerprint"`
	PreviousVersionID string      `json:"previous_version_id"`
	VersionID         string      `json:"version_id"`
	Targets           []string    `json:"targets"`
	URL               string      `json:"url"`
	Status            Status      `json:"status"`
	Error             string      `json:"error"`
	Reason            string      `json:"reason,omitempty"` // rollbacks: why
	Health            *Health     `json:"health"`
	Steps             []Step      `json:"steps"`
	Checks            *Checks     `json:"checks,omitempty"` // deploys: the fast checks of the tree
	Plugins           []PluginRun `json:"plugins,omitempty"`
	PluginLog         string      `json:"plugin_log,omitempty"` // where the plugins' output went
	StartedAt         time.Time   `json:"started_at"`
	FinishedAt        time.Time   `json:"finished_at"`
	PrevRecordSHA256  string      `json:"prev_record_sha256"`
	MissingSecrets    []string    `json:"missing_secrets,omitempty"` // required secrets a first deploy went live without
	SecretsChanged    []string    `json:"secrets_changed,omitempty"` // secrets records: the names set, never values
	// Rollout is a gradual rollout's steps, in order: the gate at 0% first, then one per
	// percentage (deploy:tenant -rollout=…); empty for an immediate deploy.
	Rollout []RolloutStep `json:"rollout,omitempty"`
	// Lease says what kept other machines off the tenant/env during the run: the team lease
	// (its ref and id, and whose expired lease it took over) or "local lock only: <why>".
	Lease string `json:"lease,omitempty"`
	// Rehearsal: the run talked to the sandbox, not Cloudflare. Such records never reach the
	// real records branch (records:push refuses them) nor deployments/.
	Rehearsal bool `json:"rehearsal,omitempty"`
}

// RolloutStep is one step of a gradual rollout: the new version at Percent of traffic (the
// old one at the rest) from Start, held for the bake while both were sampled, and how its
// gate ended: "passed", "failed: <why>" or "interrupted".
type RolloutStep struct {
	Step    int       `json:"step"` // 0 is the gate at 0%, then 1, 2, …
	Percent float64   `json:"percent"`
	Start   time.Time `json:"start"`
	// Gate is "passed", "failed: <why>", "interrupted", or "" while the step runs.
	Gate string `json:"gate"`
	// Samples counts the health checks of each version during the bake.
	NewSamples int `json:"new_samples"`
	OldSamples int `json:"old_samples"`
	// OldUnhealthy counts the old version's unhealthy samples: it does not fail the gate
	// (going back to it would not help) but says the trouble is not the new version's.
	OldUnhealthy int    `json:"old_unhealthy,omitempty"`
	DeploymentID string `json:"deployment_id,omitempty"`
}

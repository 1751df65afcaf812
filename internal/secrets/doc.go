// Package secrets manages each tenant's Worker secrets from the repository's point of view:
// List shows the names set on a Worker against tenant.config.json's required_secrets, and
// Put sets values in that tenant's account only, through cfapi, one request per secret.
//
// A secret value is read from stdin or from a git-untracked JSON file and goes nowhere but
// the request body: not into output, logs, records, errors, .build/ or .state/ (only a
// rehearsal's sandbox keeps it, in its own state file, as Cloudflare keeps it). Records of
// kind "secrets" list the names changed, never values nor any hash of one (a dictionary
// would reverse a hash of a weak value).
//
// On Cloudflare a secret put creates a new version of the Worker with the same code and
// deploys it at once. Put reports that, and carries the deploy's fingerprint annotation over
// to the new deployment, so that the next deploy of an unchanged tree stays "unchanged".
package secrets

// Package deploy runs one deploy of one tenant/env to Cloudflare as an ordered list of small
// named steps: resolve, validate, credentials, build, fingerprint, plan, lock, deploy, verify,
// annotate. Run executes them, prints each with its duration, rolls back to the version that
// was live before when the new one fails after going live, and always ends with a record in
// deployments/ (except for a dry run, which only plans).
//
// "Unchanged" is decided from Cloudflare itself, not from local files: after a verified deploy
// the live deployment is annotated with workers/message "fp:<fingerprint> git:<sha>", and a
// later run whose fingerprint matches that annotation, and whose bundle matches the code the
// live version runs, uploads nothing.
package deploy

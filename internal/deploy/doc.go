// Package deploy runs one deploy of one tenant/env to Cloudflare as an ordered list of small
// named steps: resolve, validate, credentials, build, fingerprint, plan, lock, deploy, verify,
// annotate. Run executes them, prints each with its duration, rolls back to the version that
// was live before when the new one fails after going live, and always ends with a record in
// deployments/ (except for a dry run, which only plans).
//
// "Unchanged" is decided from Cloudflare itself, not from local files: after a verified deploy
// the live deployment is annotated with workers/message "fp:<fingerprint> in:<inputs>
// bundle:<sha256> git:<sha>", and a later run whose fingerprint matches that annotation, and
// whose bundle matches the code the live version runs, uploads nothing.
//
// Building costs a wrangler run, so a deploy builds before planning only when the bundle of
// these exact inputs is cached (.build/<tenant>/<env>) or for a dry run. Otherwise the plan
// compares the hash of the build inputs (Worker sources, tenant files, package-lock, env) with
// the annotation's: equal inputs and live code equal to the annotated bundle are "unchanged"
// without any build; anything else is deployed by one `wrangler deploy --outdir` run, whose
// kept bundle then gives the record its bundle_sha256 and config_fingerprint. The price: an
// input change that does not reach the bundle (a comment in wrangler.jsonc, a field of
// tenant.config.json) uploads a new version of the same code instead of ending unchanged.
package deploy

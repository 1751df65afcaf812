// Package preflight checks that a tenant's Cloudflare account is ready for a deploy before
// anything is uploaded: the token is valid and reaches the account, the permissions the deploy
// needs answer (a 403 names the missing grant), every KV namespace, Vectorize index and
// Durable Object class the env binds exists (a class this deploy's own migrations create
// need not), and every required secret is set on the Worker (on a first deploy, when there is
// no Worker yet, that is a warning naming the secrets and the command to set them).
//
// It exists because a fleet deploy should find every unready account before it touches the
// first one: deploy:tenant runs it right after credentials, and deploy:all runs it for every
// selected tenant before the first upload. One tenant costs a handful of API requests
// (token, Worker list, secrets, KV list, one per Vectorize index, Durable Object list), and
// tenants are checked concurrently.
//
// Report lists one Check per line (ok / warn / problem, the detail, the fix); Command is the
// `preflight <tenant|all> <env>` target's body.
package preflight

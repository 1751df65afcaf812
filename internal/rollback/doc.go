// Package rollback puts a tenant's Worker back on an earlier version: it picks the target
// (the last good version before the live one, from the deployment records, else from the
// API's deployment list, or the one the operator names), refuses what a rollback cannot undo
// (a Durable Object migration, changed secrets without consent, a version Cloudflare no longer
// keeps), acts under the same tenant/env lock as deploys, verifies health reports the target
// and records the attempt.
//
// The choice of target and the checks are pure functions over plain values, so they are
// tested without a network; Run wires them to the API, wrangler, health and history through
// the small interfaces in Deps.
package rollback

// Package fleet runs one operation (normally the deploy:tenant pipeline) over many tenants:
// it picks the tenants (stable order, -only, -canary), runs them sequentially or N at a time
// inside this process, stops or keeps going after a failure, reports progress one line per
// state change, and summarises the outcome as a table, JSON and GitHub step-summary markdown.
//
// The per-tenant work is an injected Task, so the scheduling rules are tested without
// wrangler; DeployTask adapts internal/deploy to it.
package fleet

// Package fleetstatus answers "what is live where, is anything drifting, what broke": one row
// per tenant/env with the live version(s) and their split, who deployed it and when (from the
// records), the drift state, health now and the last failed attempt.
//
// It composes the existing parts rather than re-reading Cloudflare its own way: drift.Check
// reads the live state (7 API requests per tenant/env; the deployment it reads is captured on
// the way, so the split costs nothing extra), health.Once asks the health URL once, and
// history lists the records. Tenants run concurrently, each with its own token and budget.
package fleetstatus

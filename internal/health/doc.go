// Package health decides whether a deployed Worker is serving the version we just deployed.
//
// Wait polls a health URL until it answers 200 with a JSON body whose expected fields match
// (tenant.config.json health_check.expect) and whose version_id is the version we expect, or
// until the deadline passes. Retries back off exponentially up to a cap. A Result says what was
// checked and what was last seen, for the deployment record. The HTTP client is injected, so a
// sandbox can route *.workers.dev to its edge.
package health

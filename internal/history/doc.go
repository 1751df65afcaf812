// Package history writes and reads the deployment records in deployments/: one JSON file per
// deploy or rollback attempt, named <tenant>-<env>-<UTC timestamp>.json.
//
// A record is written to a temporary file, synced, and linked into place, so a reader never
// sees half a record and an existing record is never overwritten. Each record carries the
// sha256 of the previous record file of the same tenant/env, so the files of one tenant/env form
// a chain; Verify walks it and names a record that was edited, deleted or moved.
package history

// Package devserver runs a tenant's Worker on this machine under `wrangler dev` (Miniflare and
// workerd, fully offline) in the background, one server per tenant on the tenant's dev.port.
//
// Start replaces a server already running for the tenant, waits until the real Worker's
// /health answers healthy for the tenant, writes a deployment record (env dev) and returns the
// URL. A pidfile per tenant under .state/dev/ lets Stop and List find the servers later, from
// another process; a pid is only signalled when it still is a wrangler started for that tenant.
package devserver

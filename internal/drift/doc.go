// Package drift compares what the repository would deploy for a tenant/env (Desired) with
// what Cloudflare runs (Live) and reports every difference as added, removed or changed.
//
// Compare is pure and table-tested; Reader fills Live from the API with a fixed, small
// number of requests per tenant; Check runs one tenant and CheckAll runs many at once.
//
// Comparison is by meaning, never by bytes: bindings match by name with their fields
// normalised (so order and JSON formatting are not drift), lists of crons, flags, routes and
// domains are sets, and secret values are never read or shown, only their names.
package drift

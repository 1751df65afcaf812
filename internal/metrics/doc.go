// Package metrics computes delivery metrics from deployment records: the four keys as
// dora.dev defines them (deployment frequency, lead time for changes, change failure rate,
// failed deployment recovery time) and the project brief's own (success rate, deploy
// duration percentiles), per tenant/env and for the fleet of each env.
//
// Compute is a pure function of the records, the window and a Commits lookup, so the
// definitions are pinned by table tests on hand-made record sets; GitCommits answers the
// lookup from the git checkout. The definitions, one line each, are on Stats' fields and in
// the "Delivery metrics" section of docs/deployment/fleet-view.md.
package metrics

// Package deploytag marks every production deploy in git with an annotated tag,
// deploy/<tenant>/production/<UTC timestamp>, whose message is the deploy record's summary.
//
// The tags are what the rollback runbook's "redeploy from a tag" starts from: the exact tree
// that was live, even after the Worker's versions have aged out of Cloudflare's last 100. The
// tool only creates tags in the local clone; the deploy workflow pushes them, so a laptop
// deploy never pushes anything by surprise.
package deploytag

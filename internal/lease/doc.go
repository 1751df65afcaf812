// Package lease keeps one deploy per tenant/env across machines: laptops and CI runners that
// share the team's git remote (the one records:push uses) honour a lease kept there as a ref,
// refs/leases/<tenant>/<env> (refs/rehearsal-leases/… for rehearsals in the sandbox, so a
// rehearsal never blocks a real deploy).
//
// The ref names a commit (empty tree) whose message is the lease as JSON: its state (held,
// released, broken), its holder (who, host, pid, command, commit, the CI run's URL), when it
// was taken and renewed by the holder's clock (for people only) and its time to live.
//
// Every change is one atomic ref update on the server: a lease is created only by a push with
// --force-with-lease=<ref>: (the ref must not exist) and changed only by a push with
// --force-with-lease=<ref>:<the exact oid read>, so of two machines racing for it (two takers,
// two breakers) exactly one wins. The holder renews it (a new oid) every third of its time to
// live while it runs, checks that the remote still names its oid before each step that
// changes Cloudflare, and releases it (state released) at the end, however the run ends short
// of kill -9.
//
// Staleness is never judged by comparing two machines' clocks: a reader counts the time to live
// from when it first saw the lease's oid unchanged (kept in .state/leases/seen), so a lease is
// expired only when nobody renewed it for its whole time to live as this machine measured it.
// An expired lease is broken (lease:break) or taken over (-wait) by compare-and-swap on the oid
// read, and the new content names the holder it replaced.
//
// Guard plugs the lease into internal/lock: every command that takes the local deploy lock
// takes the lease right after it. Without a remote the local lock is all there is (said once);
// with a remote that cannot be reached the command is refused unless the operator chose the
// local lock alone, which the record then says.
package lease

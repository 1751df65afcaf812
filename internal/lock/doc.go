// Package lock keeps two deploys of one tenant/env from running at once, across processes.
//
// A lock is an exclusive flock on .state/locks/<tenant>-<env>.lock, held through an open file
// for the whole run, with the holder's pid, host, start time and command written in the file.
// A second attempt fails at once with a *HeldError naming the holder, so an operator knows whom
// to wait for. Liveness is the kernel's: a holder that dies in any way (kill -9 included) loses
// the lock when its files close, so a lock can neither outlive its process (a reused pid, a
// killed but unreaped holder) nor be taken from a live one. A file naming another host is never
// taken over: flock need not reach across machines on a shared folder.
//
// Across machines, the lock takes a team guard right after the flock when the command's setup
// set one (SetTeam): the lease on the team's git remote (package lease). Every caller of
// Acquire therefore takes the lease too, and Check asks it before each change to Cloudflare.
package lock

// Package lock keeps two deploys of one tenant/env from running at once, across processes.
//
// A lock is a file .state/locks/<tenant>-<env>.lock created with O_EXCL and holding who took it
// (pid, host, start time, command). A second attempt fails at once with a *HeldError naming the
// holder, so an operator knows whom to wait for. A lock left by a process that died on this
// host is taken over with a warning; a lock from another host is never guessed at.
package lock

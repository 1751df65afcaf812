package wrangler

import "syscall"

// orphanGuard asks Linux to SIGKILL wrangler if the process that started it dies without
// cancelling (a test binary killed by a signal, say), so it cannot outlive us unattended.
// The signal follows the OS thread that forked the child; Go ends a thread only when a
// goroutine locked to it returns, which nothing in this process does, so it cannot fire early.
func orphanGuard(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

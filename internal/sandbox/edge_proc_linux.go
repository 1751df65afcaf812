package sandbox

import (
	"os/exec"
	"runtime"
	"syscall"
)

// supervisorProcAttr puts the supervisor (and the workerd processes it spawns) in a process
// group of its own, so a stop can kill them together, and asks the kernel to send it SIGTERM
// when the sandbox dies; its stdin closing is the other way it learns the same.
func supervisorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// startLocked starts cmd on a locked OS thread: Linux sends the parent-death signal when the
// thread that forked exits, and Go keeps an unlocked thread alive.
func startLocked(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return cmd.Start()
}

//go:build !linux

package sandbox

import (
	"os/exec"
	"syscall"
)

// supervisorProcAttr: outside Linux there is no parent-death signal; the supervisor still
// exits when its stdin (the sandbox's end of the pipe) closes.
func supervisorProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func startLocked(cmd *exec.Cmd) error { return cmd.Start() }

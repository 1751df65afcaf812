//go:build !linux

package wrangler

import "syscall"

// orphanGuard has no portable equivalent outside Linux; cancellation still stops the group.
func orphanGuard(*syscall.SysProcAttr) {}

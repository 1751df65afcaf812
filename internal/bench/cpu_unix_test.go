//go:build unix

package bench

import (
	"syscall"
	"time"
)

// childrenCPU is the user+system CPU time of every finished child process (wrangler, node,
// esbuild) of this process so far.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

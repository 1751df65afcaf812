//go:build !unix

package bench

import "time"

// childrenCPU is not measured here; the figure then reads 0.
func childrenCPU() time.Duration { return 0 }

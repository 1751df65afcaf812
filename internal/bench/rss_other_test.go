//go:build !linux

package bench

// edgeMemory needs /proc; elsewhere the memory figures read n/a.
func edgeMemory(int) edgeRSS { return edgeRSS{} }

// Package bench measures the fleet operations against an in-process sandbox with generated
// tenants and injected API latency, the way `mage bench` reports them: each ratio is measured
// side by side in one run (the two variants alternate round by round, so a busy machine
// slows both alike), and the raw medians are printed beside it.
//
// These are benchmarks, not tests: nothing here asserts a speed, and `mage ci` never runs it.
package bench

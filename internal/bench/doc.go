// Package bench measures the fleet operations against an in-process sandbox with generated
// tenants and injected API latency, the way `mage bench` reports them: each ratio is measured
// side by side in one run (the two variants alternate round by round, so a busy machine
// slows both alike), and the raw medians are printed beside it.
//
// Everything is in _test.go files, so no binary links it: one testing.B function per `mage
// bench -only` value (BenchmarkDrift, BenchmarkPreflight, BenchmarkStatus, BenchmarkReport,
// BenchmarkDeploy, BenchmarkEdge), each measuring once per iteration (-benchtime=1x). `mage
// bench` runs them with go test and prints the `name: value` figures they write to -figures;
// go test alone reports each ratio as a metric (b.ReportMetric), for benchstat. -rounds=N
// repeats each variant; -small measures smaller worlds for a quick look.
//
// These are benchmarks, not tests: nothing here asserts a speed, and `mage ci` never runs them.
package bench

package deploy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPruneRunsKeepsTheNewestOfOneTenantEnv(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"acme-staging-20261128T100000.000000000Z", "acme-staging-20261128T110000.000000000Z",
		"acme-staging-20261128T120000.000000000Z", "acme-staging-eu-staging-20261128T090000.000000000Z",
		"acme-production-20261128T080000.000000000Z",
	}
	for _, n := range names {
		os.MkdirAll(filepath.Join(dir, n), 0o755)
	}
	pruneRuns(dir, "acme-staging-", 2)
	for i, n := range names {
		_, err := os.Stat(filepath.Join(dir, n))
		if gone := os.IsNotExist(err); gone != (i == 0) {
			t.Errorf("%s: gone=%v", n, gone)
		}
	}
}

package ci

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// testHelperPackages are the packages that exist only for tests. The mage binary must not
// carry them: they hold fixed test values, and some fail a test where a tool would return an
// error.
var testHelperPackages = []string{"testrepo", "testworld", "fleettest", "rollbacktest", "testenv", "cfcontract"}

// TestHelpersInMage lists the test helper packages the mage binary (magefiles built with the
// mage tag) depends on; the lint step fails when there is any.
func TestHelpersInMage(ctx context.Context, o Options) ([]string, error) {
	deps, err := gocmd(o, "list", "-deps", "-tags", "mage", "./magefiles").output(ctx)
	if err != nil {
		return nil, err
	}
	return testHelpersIn(deps), nil
}

// testHelpersIn picks the test helper packages out of `go list -deps` output (one import
// path a line).
func testHelpersIn(deps string) []string {
	var out []string
	for _, p := range strings.Fields(deps) {
		if slices.Contains(testHelperPackages, path.Base(p)) {
			out = append(out, p)
		}
	}
	return out
}

func checkNoTestHelpersInMage(ctx context.Context, o Options, out io.Writer) error {
	bad, err := TestHelpersInMage(ctx, o)
	if err != nil {
		return fmt.Errorf("test helpers in the mage binary: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("the mage binary imports test helper packages: %s (move what magefiles need out of them)", strings.Join(bad, " "))
	}
	fmt.Fprintln(out, "    go list -deps -tags mage ./magefiles: no test helper package")
	return nil
}

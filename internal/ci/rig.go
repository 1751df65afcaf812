package ci

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// rigPackages are the packages under internal/ that make up the test rig: the Cloudflare API
// emulator and the process that hosts it (cf-sandbox runs them), the test worlds and the
// benchmarks' harness. The mage binary must not carry them: they are thousands of lines an
// operator never runs, they hold fixed test values, and some fail a test where a tool would
// return an error. TestRigPackagesExist keeps the list to packages that exist.
var rigPackages = []string{"sandbox", "sandboxhost", "sandboxworld", "testworld", "testrepo", "workspacecopy", "bench", "cfcontract"}

// RigInMage lists the test rig packages the mage binary (magefiles built with the mage tag)
// depends on; the lint step fails when there is any.
func RigInMage(ctx context.Context, o Options) ([]string, error) {
	deps, err := gocmd(o, "list", "-deps", "-tags", "mage", "./magefiles").output(ctx)
	if err != nil {
		return nil, err
	}
	return rigIn(deps), nil
}

// rigIn picks this module's test rig packages out of `go list -deps` output (one import path
// a line). Only this module can import its internal/ packages, so the suffix names them.
func rigIn(deps string) []string {
	var out []string
	for _, p := range strings.Fields(deps) {
		for _, name := range rigPackages {
			if strings.HasSuffix(p, "/internal/"+name) {
				out = append(out, p)
			}
		}
	}
	return out
}

func checkNoRigInMage(ctx context.Context, o Options, out io.Writer) error {
	bad, err := RigInMage(ctx, o)
	if err != nil {
		return fmt.Errorf("test rig in the mage binary: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("the mage binary imports test rig packages: %s (the emulator, the test worlds and the bench stay out of it: move what magefiles need out of them, or run them through cmd/cf-sandbox or go test)", strings.Join(bad, " "))
	}
	fmt.Fprintln(out, "    go list -deps -tags mage ./magefiles: no test rig package (emulator, test worlds, bench)")
	return nil
}

package ci

import (
	"bufio"
	"context"
	"regexp"
	"strings"
)

// FuzzTarget is one Fuzz function and the package that holds it.
type FuzzTarget struct{ Package, Name string }

var fuzzName = regexp.MustCompile(`^Fuzz[A-Za-z0-9_]*$`)

// parseFuzzList reads the output of `go test -list ^Fuzz ./...`: the names a package lists
// come before its "ok <package> <time>" line.
func parseFuzzList(out string) []FuzzTarget {
	var targets []FuzzTarget
	var pending []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case fuzzName.MatchString(line):
			pending = append(pending, line)
		case strings.HasPrefix(line, "ok "):
			if f := strings.Fields(line); len(f) >= 2 {
				for _, n := range pending {
					targets = append(targets, FuzzTarget{Package: f[1], Name: n})
				}
			}
			pending = nil
		default:
			// "?   pkg [no test files]" and anything else ends a package without targets.
			if strings.HasPrefix(line, "?") || strings.HasPrefix(line, "FAIL") {
				pending = nil
			}
		}
	}
	return targets
}

// listFuzzTargets finds every Fuzz function in the module, so a new one is fuzzed in CI
// without anyone editing this package.
func listFuzzTargets(ctx context.Context, root string) ([]FuzzTarget, error) {
	out, err := command{dir: root, name: goBin(), args: []string{"test", "-list", "^Fuzz", "./..."}}.output(ctx)
	if err != nil {
		return nil, err
	}
	return parseFuzzList(out), nil
}

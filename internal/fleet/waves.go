package fleet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseWaves reads -waves=1,25%,100% for n selected tenants: each entry is a cumulative count
// of tenants or a share of n (rounded up, at least one more than the wave before), increasing,
// the last covering every tenant. It returns the cumulative counts, e.g. [1 5 20] for n=20.
func ParseWaves(spec string, n int) ([]int, error) {
	if n < 1 {
		return nil, fmt.Errorf("-waves=%s: no tenants selected", spec)
	}
	var out []int
	for f := range strings.SplitSeq(spec, ",") {
		f = strings.TrimSpace(f)
		var c int
		if p, ok := strings.CutSuffix(f, "%"); ok {
			v, err := strconv.ParseFloat(p, 64)
			switch {
			case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
				return nil, fmt.Errorf("-waves=%s: %q is not a number followed by %%; write a share like 25%%", spec, f)
			case v <= 0:
				return nil, fmt.Errorf("-waves=%s: %q is not above 0%%; a wave deploys at least one tenant", spec, f)
			case v > 100:
				return nil, fmt.Errorf("-waves=%s: %q is over 100%%", spec, f)
			}
			c = int(math.Ceil(v * float64(n) / 100))
		} else {
			v, err := strconv.Atoi(f)
			switch {
			case err != nil:
				return nil, fmt.Errorf("-waves=%s: %q is neither a count of tenants (1 or more) nor a share like 25%%", spec, f)
			case v < 1:
				return nil, fmt.Errorf("-waves=%s: %q is not a count of tenants: a wave deploys 1 or more", spec, f)
			}
			c = v
		}
		c = min(c, n)
		if len(out) > 0 && c <= out[len(out)-1] {
			// A wave that adds no tenant (25% of 2 after 1) is folded into the next.
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 || out[len(out)-1] != n {
		return nil, fmt.Errorf("-waves=%s: the last wave must cover all %d selected tenants (end with 100%%)", spec, n)
	}
	return out, nil
}

// splitWaves splits order into waves by the cumulative counts.
func splitWaves(order []string, counts []int) [][]string {
	var out [][]string
	lo := 0
	for _, c := range counts {
		out = append(out, order[lo:c])
		lo = c
	}
	return out
}

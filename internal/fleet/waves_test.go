package fleet

import (
	"slices"
	"testing"
)

func TestParseWaves(t *testing.T) {
	for _, c := range []struct {
		spec string
		n    int
		want []int
	}{
		{"1,25%,100%", 20, []int{1, 5, 20}},
		{"1,100%", 2, []int{1, 2}},
		{"1,25%,100%", 2, []int{1, 2}}, // 25% of 2 rounds to 1: folded
		{"2,10,100%", 600, []int{2, 10, 600}},
		{"50%,100%", 3, []int{2, 3}},
		{"1,5", 5, []int{1, 5}},
		{"10,100%", 3, []int{3}}, // a count above n is all of them
	} {
		got, err := ParseWaves(c.spec, c.n)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseWaves(%q, %d) = %v, %v; want %v", c.spec, c.n, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "0,100%", "1,50%", "x,100%", "1,150%", "1,-5%"} {
		if got, err := ParseWaves(bad, 20); err == nil {
			t.Errorf("ParseWaves(%q) = %v, want an error", bad, got)
		}
	}
}

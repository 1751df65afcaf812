package deploy

import (
	"math"
	"strings"
	"testing"
)

// Issue 21: -rollout=NaN,100 passed the range checks (NaN compares false with everything),
// uploaded, and then could not be recorded (JSON has no NaN). Whatever -rollout, -bake and
// -rolloutFallback hold, the parse is refused or yields finite, increasing shares in (0,100]
// ending at 100 and a bake of 0 or more.
func FuzzRolloutFlags(f *testing.F) {
	for _, s := range [][3]string{
		{"10,50,100", "2m", ""}, {"NaN,100", "", ""}, {"+Inf", "", ""}, {"-Inf,100", "1s", ""},
		{"1e-400,100", "", "immediate"}, {"10%,100%", "-1s", ""}, {"100", "9223372036854775807ns", ""},
		{"0x1p-2,100", "", ""}, {"", "1s", ""}, {" 5 , 100 ", "0", "x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, steps, bake, fallback string) {
		r, err := RolloutFlags(steps, bake, fallback)
		if err != nil {
			if strings.Contains(err.Error(), "not a duration") && strings.HasPrefix(strings.TrimSpace(bake), "-") {
				if _, perr := ParseBake(bake); perr != nil && strings.Contains(perr.Error(), "negative") {
					t.Errorf("a negative -bake=%q is called %q", bake, err)
				}
			}
			return
		}
		if r == nil {
			return
		}
		if r.Bake < 0 {
			t.Errorf("bake %v accepted from %q", r.Bake, bake)
		}
		prev := 0.0
		for _, p := range r.Percents {
			if math.IsNaN(p) || math.IsInf(p, 0) || p <= prev || p > 100 {
				t.Fatalf("-rollout=%q gave %v", steps, r.Percents)
			}
			prev = p
		}
		if prev != 100 {
			t.Fatalf("-rollout=%q does not end at 100: %v", steps, r.Percents)
		}
	})
}

func TestNumberFlagsSayWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		steps, bake, want string
	}{
		{"NaN,100", "", "not a number"},
		{"inf", "", "not a number"},
		{"-Inf,100", "", "not a number"},
		{"10,50,100", "-1s", "negative"},
		{"10,50,100", "soon", "not a duration"},
		{"0,100", "", "not above 0"},
		{"10,150", "", "over 100"},
	} {
		_, err := RolloutFlags(c.steps, c.bake, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-rollout=%s -bake=%s: %v, want it to say %q", c.steps, c.bake, err, c.want)
		}
	}
}

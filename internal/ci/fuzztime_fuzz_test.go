package ci

import "testing"

// Whatever -fuzzTime holds, it is refused or is a duration (0 and negatives skip fuzzing).
func FuzzParseFuzzTime(f *testing.F) {
	for _, s := range []string{"10s", "0", "-1s", "NaN", "Inf", "1e9h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseFuzzTime(s)
		if err == nil && s != "" && d == 0 {
			t.Fatalf("-fuzzTime=%q gave 0, which means the default", s)
		}
	})
}

package fleet

import (
	"strings"
	"testing"
)

// Issue 21: -waves=NaN%,100% passed the range check and panicked with a slice bound after the
// preflight and the shared build. Whatever the spec and the count of tenants, the parse is
// refused or yields increasing counts in [1,n] ending at n, which splitWaves can cut.
func FuzzParseWaves(f *testing.F) {
	for _, s := range []string{"1,25%,100%", "NaN%,100%", "+Inf%", "-Inf%,100%", "1e-300%,100%", "0x10,100%", "1,,100%", "9223372036854775807", "-1,100%"} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, spec string, n int) {
		if n > 1<<16 {
			n = 1 << 16
		}
		counts, err := ParseWaves(spec, n)
		if err != nil {
			return
		}
		prev := 0
		for _, c := range counts {
			if c <= prev || c > n {
				t.Fatalf("-waves=%q for %d tenants gave %v", spec, n, counts)
			}
			prev = c
		}
		if prev != n {
			t.Fatalf("-waves=%q for %d tenants does not end at %d: %v", spec, n, n, counts)
		}
		order := make([]string, n)
		_ = splitWaves(order, counts)
	})
}

func TestParseWavesSaysWhatIsWrong(t *testing.T) {
	for spec, want := range map[string]string{
		"NaN%,100%":  "not a number",
		"Inf%":       "not a number",
		"0%,100%":    "not above 0%",
		"150%":       "over 100%",
		"0,100%":     "a wave deploys 1 or more",
		"many,100%":  "neither a count",
		"-5%,100%":   "not above 0%",
		"1,25%,100%": "",
	} {
		_, err := ParseWaves(spec, 20)
		if want == "" {
			if err != nil {
				t.Errorf("-waves=%s: %v", spec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-waves=%s: %v, want it to say %q", spec, err, want)
		}
	}
}

// -chunk is an int (mage refuses NaN before we see it); any size is refused or shards every
// name exactly once into at most MaxJobs jobs.
func FuzzChunks(f *testing.F) {
	f.Add(3, 10)
	f.Add(0, 5)
	f.Add(-1, 5)
	f.Add(int(^uint(0)>>1), 7)
	f.Fuzz(func(t *testing.T, size, n int) {
		n = min(max(n, 0), 2000)
		names := make([]string, n)
		for i := range names {
			names[i] = "t" + strings.Repeat("x", i%3)
		}
		cs, err := Chunks(names, size)
		if err != nil {
			return
		}
		total := 0
		for _, c := range cs {
			total += c.Count
		}
		if total != n || len(cs) > MaxJobs {
			t.Fatalf("-chunk=%d of %d tenants: %d jobs holding %d", size, n, len(cs), total)
		}
	})
}

package metrics

import (
	"testing"
	"time"
)

// Whatever -since holds, it is refused or names a time before now (never the future through a
// wrapped-around duration, never NaN: the counts are integers).
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"30d", "2w", "12h", "NaNd", "Infd", "0d", "-3d", "999999999999999d", "2026-11-01", "2999-01-01", "1e3d", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			return
		}
		if !got.Before(now) {
			t.Fatalf("-since=%q gave %s, not before %s", s, got, now)
		}
	})
}

package metrics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseSince reads a -since value relative to now: a count of days (30d), weeks (2w) or hours
// (12h), or a date (2026-11-01) or RFC 3339 time, which must be before now.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("-since is empty; give 30d, 2w, 12h or a date such as 2026-11-01")
	}
	if n, unit := s[:len(s)-1], s[len(s)-1]; strings.ContainsRune("dwh", rune(unit)) {
		if v, err := strconv.Atoi(n); err == nil {
			if v <= 0 {
				return time.Time{}, fmt.Errorf("-since=%s: the count must be positive", s)
			}
			per := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[unit]
			if int64(v) > math.MaxInt64/int64(per) {
				// time.Duration would wrap around to a time in the future.
				return time.Time{}, fmt.Errorf("-since=%s: too far back (at most %d%c); give a date such as 2026-11-01 instead", s, math.MaxInt64/int64(per), unit)
			}
			return now.Add(-time.Duration(v) * per), nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.Before(now) {
				return time.Time{}, fmt.Errorf("-since=%s is not in the past", s)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("-since=%q: want a count and a unit (30d, 2w, 12h) or a date (2026-11-01) or an RFC 3339 time", s)
}

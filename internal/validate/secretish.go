package validate

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// tokenShapes are prefixes and forms of credentials that must never sit in a plain-text var.
var tokenShapes = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
	{"a JSON Web Token", regexp.MustCompile(`^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`)},
	{"a GitHub token", regexp.MustCompile(`^(gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}`)},
	{"a Slack token", regexp.MustCompile(`^xox[abposr]-[A-Za-z0-9-]{10,}`)},
	{"an AWS access key", regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{16}$`)},
	{"a Stripe-style secret key", regexp.MustCompile(`^(sk|rk)_(live|test)_[A-Za-z0-9]{10,}`)},
	{"an OpenAI-style API key", regexp.MustCompile(`^sk-[A-Za-z0-9_-]{20,}`)},
	{"a Google API key", regexp.MustCompile(`^AIza[0-9A-Za-z_-]{30,}`)},
	{"a bearer credential", regexp.MustCompile(`(?i)^(bearer|basic) [A-Za-z0-9._~+/=-]{16,}`)},
	{"a URL with a password", regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`)},
	{"a Cloudflare API token", regexp.MustCompile(`^[A-Za-z0-9_-]{40}$`)},
}

// secretNameWords mark a var whose name says it holds a credential.
var secretNameWords = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PRIVATE_KEY", "API_KEY", "APIKEY", "CREDENTIAL", "SIGNING_KEY"}

// looksSecret says why value (of the var called name) looks like a credential, or "".
// The reason completes "looks like a secret (...)".
// The entropy test catches random keys with no known prefix: 20+ characters with no spaces,
// at least three character classes and over 3.5 bits of entropy per character; plain words,
// ids like "mrrainbowsmoke" and log levels fall far below that.
func looksSecret(name, value string) string {
	v := strings.TrimSpace(value)
	for _, t := range tokenShapes {
		if t.re.MatchString(v) && (t.what != "a Cloudflare API token" || classes(v) >= 3) {
			return "shaped like " + t.what
		}
	}
	// URLs and paths are long and mixed but not secret (a URL with a password is caught above).
	if strings.Contains(v, "://") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") {
		return ""
	}
	// A credential-sounding name with a short, numeric or boolean value is a setting such as
	// TOKEN_TTL_SECONDS=3600, not a credential.
	if _, err := strconv.ParseFloat(v, 64); err != nil && len(v) >= 8 && v != "true" && v != "false" {
		upper := strings.ToUpper(name)
		for _, w := range secretNameWords {
			if strings.Contains(upper, w) {
				return "named like a credential (" + w + ")"
			}
		}
	}
	if len(v) >= 20 && !strings.ContainsAny(v, " \t") && classes(v) >= 3 && entropy(v) > 3.5 {
		return "a long random-looking string"
	}
	return ""
}

// classes counts the character classes (lower, upper, digit, other) in s.
func classes(s string) int {
	var lo, up, di, ot int
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lo = 1
		case unicode.IsUpper(r):
			up = 1
		case unicode.IsDigit(r):
			di = 1
		default:
			ot = 1
		}
	}
	return lo + up + di + ot
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var h float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Check is what to poll and what counts as healthy.
type Check struct {
	URL string
	// Expect lists fields the JSON body must carry with these values, e.g. {"status":"ok"}.
	Expect map[string]any
	// Version, when set, must equal the body's version_id.
	Version string
	// Deadline bounds the whole wait; zero means 60 s.
	Deadline time.Duration
	// Client sends the requests; nil means a plain client.
	Client *http.Client
	// Header is added to every request: a gradual rollout pins the version it checks with
	// Cloudflare-Workers-Version-Overrides.
	Header http.Header
	// FirstBackoff and MaxBackoff shape the waits between attempts; zero means 100 ms and 2 s.
	FirstBackoff, MaxBackoff time.Duration
}

// Result is what a Wait checked and saw. Field names match the record's health object.
type Result struct {
	URL             string `json:"url"`
	ExpectedVersion string `json:"expected_version"`
	SeenVersion     string `json:"seen_version"`
	StatusCode      int    `json:"status_code"`
	Attempts        int    `json:"attempts"`
	OK              bool   `json:"ok"`
	// Last says why the last attempt was not healthy ("" when OK).
	Last string `json:"-"`
}

// ErrUnhealthy is matched (errors.Is) when the deadline passed without a healthy answer.
var ErrUnhealthy = errors.New("not healthy")

// maxBody bounds what is read of an answer: a health body is small, an error page may not be.
const maxBody = 64 << 10

// Wait polls c.URL until it is healthy, the deadline passes (ErrUnhealthy, wrapped with what was
// last seen) or ctx ends (ctx's error). The Result is filled in every case.
func Wait(ctx context.Context, c Check) (Result, error) {
	if c.Deadline <= 0 {
		c.Deadline = 60 * time.Second
	}
	if c.FirstBackoff <= 0 {
		c.FirstBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 2 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	res := Result{URL: c.URL, ExpectedVersion: c.Version}
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, c.Deadline)
	defer cancel()
	wait := c.FirstBackoff
	for {
		before := res
		res.Attempts++
		ok := attempt(ctx, c, &res)
		if !ok && ctx.Err() != nil && before.Attempts > 0 {
			// Our own deadline cut this request off: it says nothing about the Worker, so
			// the result keeps the last answer that did.
			res = before
		}
		if ok {
			res.OK = true
			res.Last = ""
			return res, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if err := outer.Err(); err != nil {
				return res, fmt.Errorf("health check of %s stopped: %w", c.URL, err)
			}
			return res, fmt.Errorf("%w: %s after %d attempts in %s: %s", ErrUnhealthy, c.URL, res.Attempts, c.Deadline, res.Last)
		case <-t.C:
		}
		wait = min(wait*2, c.MaxBackoff)
	}
}

// attempt sends one request and records what it saw in res.
func attempt(ctx context.Context, c Check, res *Result) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		res.Last = err.Error()
		return false
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cache-Control", "no-cache")
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		res.StatusCode = 0
		res.Last = err.Error()
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	res.StatusCode = resp.StatusCode
	var doc map[string]any
	jerr := json.Unmarshal(body, &doc)
	if v, ok := doc["version_id"].(string); ok {
		res.SeenVersion = v
	} else {
		res.SeenVersion = ""
	}
	if resp.StatusCode != http.StatusOK {
		res.Last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, snippet(body))
		return false
	}
	if jerr != nil {
		res.Last = "body is not a JSON object: " + snippet(body)
		return false
	}
	if bad := mismatches(doc, c.Expect); len(bad) > 0 {
		res.Last = "unexpected " + strings.Join(bad, ", ")
		return false
	}
	if c.Version != "" && res.SeenVersion != c.Version {
		res.Last = fmt.Sprintf("serving version %q, want %q", res.SeenVersion, c.Version)
		return false
	}
	return true
}

// mismatches lists the expected fields whose values differ, sorted, as key=seen (want wanted).
func mismatches(doc, expect map[string]any) []string {
	var bad []string
	for k, want := range expect {
		got, ok := doc[k]
		if !ok || !sameJSON(got, want) {
			bad = append(bad, fmt.Sprintf("%s=%v (want %v)", k, got, want))
		}
	}
	sort.Strings(bad)
	return bad
}

// sameJSON compares a decoded JSON value with an expected one that may be any Go value
// (an int 1 equals a decoded float64 1).
func sameJSON(got, want any) bool {
	b, err := json.Marshal(want)
	if err != nil {
		return false
	}
	var norm any
	if json.Unmarshal(b, &norm) != nil {
		return false
	}
	return reflect.DeepEqual(got, norm)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "<") {
		// An error page (Cloudflare's own, or a proxy's): its text says what happened, its
		// markup nothing.
		s = strings.Join(strings.Fields(htmlTag.ReplaceAllString(htmlHead.ReplaceAllString(s, " "), " ")), " ")
	}
	threw := strings.Contains(s, "1101") && strings.Contains(strings.ToLower(s), "exception")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	if threw {
		s += " (the Worker threw an exception, Cloudflare's error 1101: the version fails on this route or at start-up, which waiting does not cure; " +
			"its logs say why: `wrangler tail`, or in a rehearsal the sandbox's log .state/sandbox/sandbox.log)"
	}
	return s
}

// htmlHead is an HTML page's <head>, <style> and <script> (text nobody reads); htmlTag any tag.
var (
	htmlHead = regexp.MustCompile(`(?is)<(head|style|script)\b.*?</(head|style|script)>`)
	htmlTag  = regexp.MustCompile(`(?s)<[^>]*>`)
)

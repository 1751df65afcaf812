package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testAccount = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	otherAcct   = "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"
)

// stub is a tiny Cloudflare stand-in for the pacer's behaviour; the real API shapes are
// exercised against the sandbox in sandbox_test.go.
func stub(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/client/v4"
}

func writeEnv(w http.ResponseWriter, status int, success bool, result any, errs ...ErrorDetail) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if errs == nil {
		errs = []ErrorDetail{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"success": success, "errors": errs, "messages": []any{}, "result": result})
}

// uniqueToken keeps tests from sharing a budget window with each other.
func uniqueToken(t *testing.T) string {
	return fmt.Sprintf("tok-%s-%d", t.Name(), time.Now().UnixNano())
}

func newClient(t testing.TB, base, token string, mut func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: base, Token: token, AccountID: testAccount, Timeout: 5 * time.Second}
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSuccessFalseWith200IsAnError(t *testing.T) {
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnv(w, 200, false, nil, ErrorDetail{Code: 10013, Message: "boom"})
	})
	_, err := newClient(t, base, uniqueToken(t), nil).Schedules(context.Background(), "w")
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want *APIError, got %v", err)
	}
	if ae.Status != 200 || ae.Code() != 10013 || !strings.Contains(ae.Path, "/accounts/"+testAccount+"/workers/scripts/w/schedules") {
		t.Fatalf("unexpected error fields: %+v", ae)
	}
}

func TestNotFoundBecomesErrNotDeployed(t *testing.T) {
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnv(w, 404, false, nil, ErrorDetail{Code: CodeWorkerNotFound, Message: "This Worker does not exist on your account."})
	})
	_, err := newClient(t, base, uniqueToken(t), nil).LiveDeployment(context.Background(), "w")
	if !errors.Is(err, ErrNotDeployed) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotDeployed and ErrNotFound, got %v", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code() != CodeWorkerNotFound {
		t.Fatalf("want the Cloudflare code kept, got %v", err)
	}
}

func TestEmptyDeploymentsIsNotDeployed(t *testing.T) {
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		writeEnv(w, 200, true, map[string]any{"deployments": []any{}})
	})
	_, err := newClient(t, base, uniqueToken(t), nil).LiveDeployment(context.Background(), "w")
	if !errors.Is(err, ErrNotDeployed) {
		t.Fatalf("want ErrNotDeployed, got %v", err)
	}
}

func TestTooManyRequestsIsWaitedOut(t *testing.T) {
	var calls atomic.Int32
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0.2")
			writeEnv(w, 429, false, nil, ErrorDetail{Code: CodeRateLimited, Message: "Please wait"})
			return
		}
		writeEnv(w, 200, true, map[string]any{"schedules": []any{map[string]any{"cron": "0 * * * *"}}})
	})
	start := time.Now()
	got, err := newClient(t, base, uniqueToken(t), nil).Schedules(context.Background(), "w")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Cron != "0 * * * *" || calls.Load() != 3 {
		t.Fatalf("got %v after %d calls", got, calls.Load())
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("Retry-After 0.2 s twice was not honoured: took %s", took)
	}
}

func TestTooManyRequestsPastTheWaitLimitFails(t *testing.T) {
	var calls atomic.Int32
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "60")
		writeEnv(w, 429, false, nil, ErrorDetail{Code: CodeRateLimited, Message: "Please wait"})
	})
	c := newClient(t, base, uniqueToken(t), func(c *Config) { c.RateLimitWait = time.Second })
	_, err := c.Schedules(context.Background(), "w")
	if !errors.Is(err, ErrRateLimited) || calls.Load() != 1 {
		t.Fatalf("want ErrRateLimited after 1 call, got %v after %d", err, calls.Load())
	}
}

func TestServerErrorsAreRetriedOnReadsOnly(t *testing.T) {
	var calls atomic.Int32
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeEnv(w, 500, false, nil, ErrorDetail{Code: 10013, Message: "boom"})
	})
	c := newClient(t, base, uniqueToken(t), func(c *Config) { c.MaxRetries = 2 })
	c.pacer.sleep = func(context.Context, time.Duration) error { return nil }
	_, err := c.Deployments(context.Background(), "w")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 || calls.Load() != 3 {
		t.Fatalf("want a 500 APIError after 3 calls, got %v after %d", err, calls.Load())
	}
}

func TestRefusedTokenIsTypedAndNeverShown(t *testing.T) {
	token := uniqueToken(t) + "-SECRET"
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		// A careless server that echoes the header back must not leak it through us.
		writeEnv(w, 403, false, nil, ErrorDetail{Code: CodeAuthInvalid, Message: "token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + " may not access this account"})
	})
	_, err := newClient(t, base, token, nil).Settings(context.Background(), "w")
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("want ErrUnauthorized, got %v", err)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("token leaked into the error: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	cases := map[string]Config{
		"no token":     {AccountID: testAccount},
		"bad account":  {Token: "t", AccountID: "nope"},
		"bad base URL": {Token: "t", AccountID: testAccount, BaseURL: "ftp://x"},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestVersionsFollowPagesUntilEmpty(t *testing.T) {
	const total = 230
	var pages atomic.Int32
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		pages.Add(1)
		var page, per int
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		fmt.Sscan(r.URL.Query().Get("per_page"), &per)
		items := []any{}
		for i := (page - 1) * per; i < page*per && i < total; i++ {
			items = append(items, map[string]any{"id": fmt.Sprintf("v%03d", total-i), "number": total - i,
				"metadata":    map[string]any{"created_on": "2026-11-28T19:27:18.930471Z"},
				"annotations": map[string]any{"workers/tag": fmt.Sprint("t", total-i)}})
		}
		writeEnv(w, 200, true, map[string]any{"items": items})
	})
	c := newClient(t, base, uniqueToken(t), nil)
	all, err := c.Versions(context.Background(), "w", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total || all[0].ID != "v230" || all[total-1].ID != "v001" || all[0].Annotations.Tag != "t230" {
		t.Fatalf("got %d versions, first %+v", len(all), all[0])
	}
	few, err := c.Versions(context.Background(), "w", 5)
	if err != nil || len(few) != 5 {
		t.Fatalf("n=5: %d versions, %v", len(few), err)
	}
}

func TestEachAttemptHasItsOwnTimeout(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // hang until the client gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := newClient(t, base, uniqueToken(t), func(c *Config) { c.Timeout = 100 * time.Millisecond; c.MaxRetries = 1 })
	c.pacer.sleep = func(context.Context, time.Duration) error { return nil }
	start := time.Now()
	_, err := c.Secrets(context.Background(), "w")
	if !errors.Is(err, context.DeadlineExceeded) || calls.Load() != 2 {
		t.Fatalf("want a deadline error after 2 attempts, got %v after %d", err, calls.Load())
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("two 100 ms attempts took %s", took)
	}
}

// The SDK's root client reads CLOUDFLARE_* from the environment; this package must not.
func TestAmbientEnvironmentIsIgnored(t *testing.T) {
	var gotAuth atomic.Value
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		writeEnv(w, 200, true, map[string]any{"subdomain": "here"})
	})
	t.Setenv("CLOUDFLARE_BASE_URL", "http://127.0.0.1:1/client/v4")
	t.Setenv("CLOUDFLARE_API_TOKEN", "ambient-token")
	token := uniqueToken(t)
	sub, err := newClient(t, base, token, nil).Subdomain(context.Background())
	if err != nil || sub != "here" {
		t.Fatalf("%q %v", sub, err)
	}
	if gotAuth.Load() != "Bearer "+token {
		t.Fatalf("Authorization header was %v", gotAuth.Load())
	}
}

// A version read a moment after it was made may answer 100146 (read-after-write): the read is
// repeated, and any other 404 is not.
func TestNotYetReadableVersionIsReadAgain(t *testing.T) {
	var calls atomic.Int32
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/versions/gone"):
			writeEnv(w, 404, false, nil, ErrorDetail{Code: 10007, Message: "no such version"})
		case n == 1:
			writeEnv(w, 404, false, nil, ErrorDetail{Code: 100146, Message: "not available yet"})
		default:
			writeEnv(w, 200, true, map[string]any{"id": "v1", "number": 1, "metadata": map[string]any{"created_on": "2026-01-01T00:00:00Z"}, "resources": map[string]any{}})
		}
	})
	c := newClient(t, base, uniqueToken(t), func(c *Config) { c.MaxRetries = 2 })
	c.pacer.sleep = func(context.Context, time.Duration) error { return nil }
	v, err := c.Version(context.Background(), "w", "v1")
	if err != nil || v.ID != "v1" || calls.Load() != 2 {
		t.Fatalf("want v1 after 2 calls, got %+v, %v after %d", v, err, calls.Load())
	}
	calls.Store(10)
	if _, err := c.Version(context.Background(), "w", "gone"); err == nil || calls.Load() != 11 {
		t.Fatalf("a plain 404 was retried or not an error: %v after %d calls", err, calls.Load()-10)
	}
}

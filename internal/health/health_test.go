package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server answers with the i-th response for the i-th request, repeating the last.
func server(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		answers[min(i, len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func reply(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func TestWait(t *testing.T) {
	healthy := reply(200, `{"status":"ok","tenant":"acme","version_id":"v2"}`)
	cases := []struct {
		name         string
		answers      []func(w http.ResponseWriter)
		expect       map[string]any
		version      string
		wantOK       bool
		wantAttempts int
		wantSeen     string
		wantCode     int
		wantLast     string
	}{
		{name: "healthy at once", answers: []func(http.ResponseWriter){healthy}, expect: map[string]any{"status": "ok"}, version: "v2",
			wantOK: true, wantAttempts: 1, wantSeen: "v2", wantCode: 200},
		{name: "old version, then new", answers: []func(http.ResponseWriter){reply(200, `{"status":"ok","version_id":"v1"}`), reply(200, `{"status":"ok","version_id":"v1"}`), healthy},
			expect: map[string]any{"status": "ok"}, version: "v2", wantOK: true, wantAttempts: 3, wantSeen: "v2", wantCode: 200},
		{name: "503 then healthy", answers: []func(http.ResponseWriter){reply(503, `down`), healthy}, version: "v2",
			wantOK: true, wantAttempts: 2, wantSeen: "v2", wantCode: 200},
		{name: "never the new version", answers: []func(http.ResponseWriter){reply(200, `{"status":"ok","version_id":"v1"}`)}, version: "v2",
			wantSeen: "v1", wantCode: 200, wantLast: `serving version "v1", want "v2"`},
		{name: "expected field differs", answers: []func(http.ResponseWriter){reply(200, `{"status":"degraded","version_id":"v2"}`)},
			expect: map[string]any{"status": "ok"}, version: "v2", wantSeen: "v2", wantCode: 200, wantLast: "status=degraded (want ok)"},
		{name: "expected field missing", answers: []func(http.ResponseWriter){reply(200, `{"version_id":"v2"}`)},
			expect: map[string]any{"status": "ok"}, wantSeen: "v2", wantCode: 200, wantLast: "status=<nil>"},
		{name: "numbers compare as JSON", answers: []func(http.ResponseWriter){reply(200, `{"shards":3}`)},
			expect: map[string]any{"shards": 3}, wantOK: true, wantAttempts: 1, wantCode: 200},
		{name: "always 500", answers: []func(http.ResponseWriter){reply(500, `{"status":"error","version_id":"v2"}`)}, version: "v2",
			wantSeen: "v2", wantCode: 500, wantLast: "HTTP 500"},
		{name: "not JSON", answers: []func(http.ResponseWriter){reply(200, `<html>hi</html>`)},
			wantCode: 200, wantLast: "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := server(t, tc.answers...)
			// A healthy answer ends the wait at once, so its deadline only has to survive a
			// loaded CI machine; a failing case has to spend its whole deadline.
			deadline := time.Second
			if tc.wantOK {
				deadline = 30 * time.Second
			}
			res, err := Wait(context.Background(), Check{URL: srv.URL + "/health", Expect: tc.expect, Version: tc.version,
				Deadline: deadline, FirstBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Client: srv.Client()})
			if res.OK != tc.wantOK || (err == nil) != tc.wantOK {
				t.Fatalf("OK=%v err=%v, want OK=%v", res.OK, err, tc.wantOK)
			}
			if !tc.wantOK && !errors.Is(err, ErrUnhealthy) {
				t.Fatalf("err %v is not ErrUnhealthy", err)
			}
			if tc.wantAttempts != 0 && res.Attempts != tc.wantAttempts {
				t.Errorf("attempts %d, want %d", res.Attempts, tc.wantAttempts)
			}
			if !tc.wantOK && res.Attempts < 3 {
				t.Errorf("gave up after %d attempts within the deadline", res.Attempts)
			}
			// A failing case may end with one request cut off by the deadline, which the
			// server saw but the Result rightly does not count.
			if seen := int(hits.Load()); seen != res.Attempts && (tc.wantOK || seen != res.Attempts+1) {
				t.Errorf("server saw %d requests, Result says %d", seen, res.Attempts)
			}
			if res.SeenVersion != tc.wantSeen || res.StatusCode != tc.wantCode || res.ExpectedVersion != tc.version || res.URL != srv.URL+"/health" {
				t.Errorf("result %+v, want seen %q code %d", res, tc.wantSeen, tc.wantCode)
			}
			if tc.wantLast != "" && (!strings.Contains(res.Last, tc.wantLast) || !strings.Contains(err.Error(), tc.wantLast)) {
				t.Errorf("last %q / err %v, want %q", res.Last, err, tc.wantLast)
			}
		})
	}
}

func TestWaitBacksOffUpToTheCap(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		w.WriteHeader(503)
	}))
	defer srv.Close()
	_, err := Wait(context.Background(), Check{URL: srv.URL, Deadline: 400 * time.Millisecond, FirstBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	if !errors.Is(err, ErrUnhealthy) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 5 {
		t.Fatalf("only %d attempts", len(times))
	}
	first := times[1].Sub(times[0])
	later := times[len(times)-1].Sub(times[len(times)-2])
	if later < 3*first/2 {
		t.Errorf("waits did not grow: first %s, last %s", first, later)
	}
	if later > 200*time.Millisecond {
		t.Errorf("wait %s exceeds the 40ms cap by far", later)
	}
}

func TestWaitStopsWhenCancelled(t *testing.T) {
	srv, _ := server(t, reply(503, "no"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	res, err := Wait(ctx, Check{URL: srv.URL, Deadline: time.Minute, FirstBackoff: 10 * time.Millisecond})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnhealthy) {
		t.Fatalf("err %v, want context.Canceled and not ErrUnhealthy", err)
	}
	if time.Since(start) > 10*time.Second || res.Attempts == 0 {
		t.Fatalf("did not stop promptly (%s, %d attempts)", time.Since(start), res.Attempts)
	}
}

func TestWaitUsesInjectedClient(t *testing.T) {
	srv, _ := server(t, reply(200, `{"status":"ok","version_id":"v9"}`))
	// The URL names a host that does not resolve; the client's transport sends it to srv.
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		r2.URL.Scheme, r2.URL.Host = "http", strings.TrimPrefix(srv.URL, "http://")
		return http.DefaultTransport.RoundTrip(r2)
	})}
	res, err := Wait(context.Background(), Check{URL: "https://acme-api.acme.workers.dev/health", Version: "v9", Client: client, Deadline: time.Second})
	if err != nil || !res.OK {
		t.Fatalf("%v %+v", err, res)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOnceAsksOnceAndSaysWhy(t *testing.T) {
	srv, n := server(t, reply(503, `{"status":"down"}`), reply(200, `{"status":"ok","version_id":"v1"}`))
	res := Once(context.Background(), Check{URL: srv.URL, Expect: map[string]any{"status": "ok"}})
	if res.OK || res.Attempts != 1 || n.Load() != 1 || !strings.Contains(res.Last, "HTTP 503") {
		t.Fatalf("first: %+v after %d requests", res, n.Load())
	}
	res = Once(context.Background(), Check{URL: srv.URL, Expect: map[string]any{"status": "ok"}, Version: "v1"})
	if !res.OK || res.SeenVersion != "v1" || res.Last != "" {
		t.Fatalf("second: %+v", res)
	}
}

func TestSnippetOfAnErrorPage(t *testing.T) {
	page := `<!DOCTYPE html><html><head><title>x</title><style>body{color:red}</style></head>` +
		`<body><h1>Error 1101</h1><h2>Worker threw exception</h2><p>Version v2 could not start.</p>` +
		`<pre>Uncaught TypeError: Incorrect type for map entry 'MARKER'</pre></body></html>`
	got := snippet([]byte(page))
	for _, want := range []string{"Error 1101 Worker threw exception", "Incorrect type for map entry 'MARKER'", "sandbox.log", "wrangler tail"} {
		if !strings.Contains(got, want) {
			t.Errorf("snippet lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "<") || strings.Contains(got, "color:red") {
		t.Errorf("markup or styles left in: %s", got)
	}
	if plain := snippet([]byte(`{"error":"not found"}`)); plain != `{"error":"not found"}` {
		t.Errorf("a JSON body changed: %s", plain)
	}
}

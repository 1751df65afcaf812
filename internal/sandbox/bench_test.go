package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// BenchmarkUploadAndDeploy measures one redeploy as wrangler makes it (POST versions, POST
// deployments) through the whole handler stack, with the state persisted after each change.
func BenchmarkUploadAndDeploy(b *testing.B) {
	for _, persisted := range []bool{false, true} {
		b.Run(fmt.Sprintf("persisted=%v", persisted), func(b *testing.B) {
			opts := Options{Accounts: testAccounts()}
			if persisted {
				opts.StatePath = filepath.Join(b.TempDir(), "sandbox.json")
			}
			s, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			tok := s.Token(acctA)
			ct, body := upload(b, workerMeta("staging", nil), map[string]string{"index.js": workerSrc})
			serve := func(method, path, ctype string, data []byte) *httptest.ResponseRecorder {
				req := httptest.NewRequest(method, "/client/v4/accounts/"+acctA+"/workers/scripts/w"+path, bytes.NewReader(data))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", ctype)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
				}
				return rec
			}
			serve("PUT", "", ct, body)
			b.ResetTimer()
			for b.Loop() {
				rec := serve("POST", "/versions", ct, body)
				var v struct{ ID string }
				decodeResult(b, rec.Body, &v)
				dep := fmt.Sprintf(`{"strategy":"percentage","versions":[{"version_id":%q,"percentage":100}]}`, v.ID)
				serve("POST", "/deployments", "application/json", []byte(dep))
			}
		})
	}
}

// BenchmarkEdge measures one workers.dev health answer.
func BenchmarkEdge(b *testing.B) {
	s, err := New(Options{Accounts: testAccounts()})
	if err != nil {
		b.Fatal(err)
	}
	ct, body := upload(b, workerMeta("staging", nil), map[string]string{"index.js": workerSrc})
	h := s.Handler()
	for _, r := range []struct{ method, path, ct, body string }{
		{"PUT", "", ct, string(body)},
		{"POST", "/subdomain", "application/json", `{"enabled":true}`},
	} {
		req := httptest.NewRequest(r.method, "/client/v4/accounts/"+acctA+"/workers/scripts/w"+r.path, bytes.NewReader([]byte(r.body)))
		req.Header.Set("Authorization", "Bearer "+s.Token(acctA))
		req.Header.Set("Content-Type", r.ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("setup %s: %d", r.path, rec.Code)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/health", nil)
		req.Host = "w." + subA + ".workers.dev"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("edge: %d", rec.Code)
		}
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}

func decodeResult(b *testing.B, body io.Reader, v any) {
	var env struct{ Result json.RawMessage }
	if err := json.NewDecoder(body).Decode(&env); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(env.Result, v); err != nil {
		b.Fatal(err)
	}
}

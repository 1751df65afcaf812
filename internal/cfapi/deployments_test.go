package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// DeployVersion is the one write the client repeats: after a 5xx and after a 429 (waiting its
// Retry-After), because deploying one version at 100% twice ends where once does. A refusal
// (4xx) is returned at once, as an *APIError with Cloudflare's code, without the token.
func TestDeployVersionRetriesWhereCloudflareAsks(t *testing.T) {
	const token = "tok-canary-deployments-77"
	var n atomic.Int32
	var body map[string]any
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/accounts/"+testAccount+"/workers/scripts/acme-api/deployments"):
			w.WriteHeader(404)
		case i == 1:
			w.WriteHeader(500)
			io.WriteString(w, `{"success":false,"errors":[{"code":10013,"message":"internal"}]}`)
		case i == 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			io.WriteString(w, `{"success":false,"errors":[{"code":971,"message":"Please wait"}]}`)
		default:
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &body)
			io.WriteString(w, `{"success":true,"errors":[],"result":{"id":"d1","versions":[{"version_id":"v1","percentage":100}]}}`)
		}
	})
	c := newClient(t, base, token, nil)
	d, err := c.DeployVersion(context.Background(), "acme-api", "v1", "rollback to v1", false)
	if err != nil || n.Load() != 3 || d.ID != "d1" || d.Primary().VersionID != "v1" {
		t.Fatalf("DeployVersion = %+v, %v after %d requests", d, err, n.Load())
	}
	if ann, _ := body["annotations"].(map[string]any); ann["workers/message"] != "rollback to v1" {
		t.Errorf("body sent: %v", body)
	}

	n.Store(0)
	refuse := stub(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		io.WriteString(w, `{"success":false,"errors":[{"code":10220,"message":"secrets changed: `+token+`"}]}`)
	})
	_, err = newClient(t, refuse, token, nil).DeployVersion(context.Background(), "acme-api", "v1", "m", false)
	var api *APIError
	if !errors.As(err, &api) || !api.HasCode(CodeSecretsChanged) || n.Load() != 1 || strings.Contains(err.Error(), token) {
		t.Fatalf("refusal: %v after %d requests", err, n.Load())
	}
}

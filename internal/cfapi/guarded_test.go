package cfapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
)

// DeployVersionChecked writes only over what the caller planned against, and says so when the
// live deployment after its write is not its version (somebody else wrote in between).
func TestDeployVersionCheckedWritesOnlyOverWhatWasPlanned(t *testing.T) {
	for _, c := range []struct {
		name        string
		live, after string // the version live before the write, and the one live after it
		expect      []string
		wantPost    bool
		wantWhen    string
	}{
		{"as planned", "v1", "v2", []string{"v1"}, true, ""},
		{"changed before", "v9", "v2", []string{"v1"}, false, "before"},
		{"changed after", "v1", "v9", []string{"v1"}, true, "after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			live, posted := c.live, false
			base := stub(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				switch r.Method {
				case http.MethodPost:
					posted, live = true, c.after
					io.WriteString(w, `{"success":true,"errors":[],"result":{"id":"d2","versions":[{"version_id":"v2","percentage":100}]}}`)
				default:
					io.WriteString(w, `{"success":true,"errors":[],"result":{"deployments":[{"id":"d","source":"api","strategy":"percentage","created_on":"2026-12-07T00:00:00Z","author_email":"a@b","versions":[{"version_id":"`+live+`","percentage":100}]}]}}`)
				}
			})
			cl := newClient(t, base, "tok-guarded-1234", nil)
			_, err := cl.DeployVersionChecked(context.Background(), "acme-api", c.expect, "v2", "m", false)
			var lc *LiveChangedError
			switch {
			case c.wantWhen == "" && err != nil:
				t.Fatalf("err %v", err)
			case c.wantWhen != "" && (!errors.As(err, &lc) || lc.When != c.wantWhen || !errors.Is(err, ErrLiveChanged)):
				t.Fatalf("err %v, want a LiveChangedError %s", err, c.wantWhen)
			}
			if posted != c.wantPost {
				t.Fatalf("posted %v, want %v", posted, c.wantPost)
			}
		})
	}
}

package creds

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForNeverSendsARealTokenToTheSandbox is the canary: the tenant's real token is set in
// the environment and in .env.deploy, and still never comes back when a sandbox is in use.
func TestForNeverSendsARealTokenToTheSandbox(t *testing.T) {
	const canary = "CANARY-real-token-4c1d9e"
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, EnvFile), []byte("CLOUDFLARE_API_TOKEN_ACME="+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) {
		if k == "CLOUDFLARE_API_TOKEN_ACME" {
			return canary, true
		}
		return "", false
	}
	sb := func(id string) (string, bool) {
		if id == "a1" {
			return "sbx_sandbox", true
		}
		return "", false
	}
	cases := []struct {
		name    string
		account string
		sandbox SandboxTokens
		want    string
		source  Source
		wantErr bool
	}{
		{"real cloudflare uses the tenant's token", "a1", nil, canary, FromEnv, false},
		{"sandbox uses its own token", "a1", sb, "sbx_sandbox", FromSandbox, false},
		{"sandbox without the account refuses", "a2", sb, "", "", true},
		{"sandbox answering empty refuses", "a1", func(string) (string, bool) { return "", true }, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := For("acme", c.account, root, lookup, c.sandbox)
			if c.wantErr {
				if err == nil || tok.Value.Reveal() != "" {
					t.Fatalf("got %q, %v; want an error and no token", tok.Value.Reveal(), err)
				}
				if strings.Contains(err.Error(), canary) || errors.Is(err, ErrMissing) {
					t.Fatalf("error %q shows the token or reads as a missing token", err)
				}
				return
			}
			if err != nil || tok.Value.Reveal() != c.want || tok.Source != c.source {
				t.Fatalf("got %q from %s, %v; want %q from %s", tok.Value.Reveal(), tok.Source, err, c.want, c.source)
			}
		})
	}
}

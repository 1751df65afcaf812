package sandbox

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The wrangler 4.63.0 commands an operator may reach for in an incident, run raw against a
// sandbox with a deployed Worker, each judged by its parsed output. docs/deployment/fidelity.md
// lists them (and `wrangler tail`, which the sandbox cannot serve: it needs a websocket).
func TestRawWranglerCommandsAnOperatorReachesFor(t *testing.T) {
	t.Parallel()
	accts := testAccounts()
	accts[0].KVNamespaces = []KVNamespace{{ID: strings.Repeat("2", 32), Title: "fixture-cache-staging"}}
	s, ts := newTestServer(t, Options{Accounts: accts})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	first, _ := deployStaging(t, ts.URL, tok, p)
	second := redeployViaAPI(t, s, ts.URL, acctA, stagingName)
	env := []string{"--env", "staging"}
	live := func() string {
		d, _ := s.Live(acctA, stagingName)
		return d.Versions[0].VersionID
	}
	jsonOf := func(t *testing.T, out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("output is not the JSON expected: %v\n%s", err, out)
		}
	}
	uuidLine := func(prefix string) *regexp.Regexp {
		return regexp.MustCompile(prefix + `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)
	}

	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		check func(t *testing.T, out string)
	}{
		{"deployments list", []string{"deployments", "list", "--json"}, "", func(t *testing.T, out string) {
			var ds []Deployment
			jsonOf(t, out, &ds)
			if len(ds) != 2 || ds[1].Versions[0].VersionID != second {
				t.Errorf("deployments = %+v", ds)
			}
		}},
		{"deployments status", []string{"deployments", "status", "--json"}, "", func(t *testing.T, out string) {
			var d Deployment
			jsonOf(t, out, &d)
			if d.Versions[0].VersionID != second || d.Versions[0].Percentage != 100 {
				t.Errorf("status = %+v", d)
			}
		}},
		{"versions list", []string{"versions", "list", "--json"}, "", func(t *testing.T, out string) {
			var vs []struct{ ID string }
			jsonOf(t, out, &vs)
			if len(vs) != 2 || vs[0].ID != first || vs[1].ID != second {
				t.Errorf("versions = %+v", vs)
			}
		}},
		{"versions view", []string{"versions", "view", first, "--json"}, "", func(t *testing.T, out string) {
			var v struct {
				ID        string
				Resources struct{ Bindings []Binding }
			}
			jsonOf(t, out, &v)
			if v.ID != first || len(v.Resources.Bindings) == 0 {
				t.Errorf("version = %+v", v)
			}
		}},
		{"secret put", []string{"secret", "put", "AI_GATEWAY_TOKEN"}, "s3cr3t\n", func(t *testing.T, out string) {
			if !slices.Contains(s.Secrets(acctA, stagingName), "AI_GATEWAY_TOKEN") {
				t.Errorf("secret not set:\n%s", out)
			}
		}},
		{"secret put (a second)", []string{"secret", "put", "OLD_KEY"}, "0ld\n", func(t *testing.T, out string) {
			if !slices.Contains(s.Secrets(acctA, stagingName), "OLD_KEY") {
				t.Errorf("secret not set:\n%s", out)
			}
		}},
		{"secret list", []string{"secret", "list", "--format", "json"}, "", func(t *testing.T, out string) {
			var ss []secretJSON
			jsonOf(t, out, &ss)
			if len(ss) != 2 || ss[0].Name != "AI_GATEWAY_TOKEN" || ss[0].Type != "secret_text" {
				t.Errorf("secrets = %+v", ss)
			}
		}},
		{"secret delete", []string{"secret", "delete", "OLD_KEY"}, "", func(t *testing.T, out string) {
			if slices.Contains(s.Secrets(acctA, stagingName), "OLD_KEY") {
				t.Errorf("secret still set:\n%s", out)
			}
		}},
		{"rollback", []string{"rollback", first, "--message", "incident 42", "-y"}, "", func(t *testing.T, out string) {
			if !strings.Contains(out, "Current Version ID: "+first) || live() != first {
				t.Errorf("live %s after rollback to %s:\n%s", live(), first, out)
			}
		}},
		{"versions secret put", []string{"versions", "secret", "put", "WEBHOOK_SIGNING_KEY", "--message", "rotate"}, "k3y\n", func(t *testing.T, out string) {
			m := uuidLine(`(?i)version(?: id)?:? `).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no version id in the output:\n%s", out)
			}
			if _, ok := s.Version(acctA, stagingName, m[1]); !ok || live() == m[1] {
				t.Errorf("want a new version, not deployed:\n%s", out)
			}
		}},
		{"triggers deploy", []string{"triggers", "deploy"}, "", func(t *testing.T, out string) {
			if !strings.Contains(out, "schedule: ") && !strings.Contains(out, "workers.dev") {
				t.Errorf("no trigger reported:\n%s", out)
			}
		}},
		{"kv namespace list", []string{"kv", "namespace", "list"}, "", func(t *testing.T, out string) {
			var ns []KVNamespace
			jsonOf(t, out, &ns)
			if len(ns) != 1 || ns[0].Title != "fixture-cache-staging" {
				t.Errorf("namespaces = %+v", ns)
			}
		}},
		{"whoami", []string{"whoami"}, "", func(t *testing.T, out string) {
			if !strings.Contains(out, acctA) {
				t.Errorf("the account %s is not named:\n%s", acctA, out)
			}
		}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			args := c.args
			if c.name != "kv namespace list" && c.name != "whoami" {
				args = append(slices.Clone(args), env...)
			}
			res := runWrangler(t, ts.URL, tok, p, c.stdin, args...)
			if res.exit != 0 {
				t.Fatalf("wrangler %s: exit %d\nstdout:\n%s\nstderr:\n%s", c.name, res.exit, res.stdout, res.stderr)
			}
			c.check(t, res.stdout)
		})
	}
}

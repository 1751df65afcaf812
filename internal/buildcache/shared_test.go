package buildcache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func TestSharedKey(t *testing.T) {
	ws := workspace.Workspace{Root: t.TempDir()}
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(ws.WorkerDir(), "src", "index.ts")
	write(main, "export default {}")
	write(filepath.Join(ws.WorkerDir(), "test", "a.test.js"), "not an input")
	write(filepath.Join(ws.Root, "package-lock.json"), `{"lockfileVersion":3}`)

	// env is a resolved env of a tenant; edit changes its effective config.
	env := func(name string, edit func(map[string]any)) tenant.ResolvedEnv {
		eff := map[string]any{
			"name": name + "-api-staging", "account_id": name + "-account", "main": "../../apps/worker-api/src/index.ts",
			"compatibility_date": "2026-01-20", "compatibility_flags": []any{"nodejs_compat"},
			"vars":          map[string]any{"TENANT_ID": name},
			"kv_namespaces": []any{map[string]any{"binding": "CACHE", "id": name + "-kv"}},
		}
		if edit != nil {
			edit(eff)
		}
		return tenant.ResolvedEnv{Tenant: name, Main: eff["main"].(string), MainPath: main, Effective: eff}
	}
	key := func(r tenant.ResolvedEnv) string {
		t.Helper()
		k, why, err := SharedKey(ws, r)
		if err != nil || why != "" || len(k) != 64 {
			t.Fatalf("SharedKey: key %q, why %q, err %v", k, why, err)
		}
		return k
	}
	base := key(env("acme", nil))

	t.Run("tenants that differ only in what goes into the metadata share a key", func(t *testing.T) {
		if k := key(env("globex", func(m map[string]any) { m["routes"] = []any{"globex.example/*"}; m["workers_dev"] = false })); k != base {
			t.Errorf("name, account, vars, bindings and triggers changed the key")
		}
	})

	for _, c := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"another compatibility date", func(m map[string]any) { m["compatibility_date"] = "2026-01-21" }},
		{"another compatibility flag", func(m map[string]any) { m["compatibility_flags"] = []any{} }},
		{"a define", func(m map[string]any) { m["define"] = map[string]any{"DEBUG": "true"} }},
		{"minify", func(m map[string]any) { m["minify"] = true }},
		{"source maps uploaded", func(m map[string]any) { m["upload_source_maps"] = true }},
	} {
		t.Run(c.name+" makes another key", func(t *testing.T) {
			if key(env("acme", c.edit)) == base {
				t.Error("the key did not change")
			}
		})
	}

	t.Run("a change to the Worker's code makes another key, a change to its tests does not", func(t *testing.T) {
		write(filepath.Join(ws.WorkerDir(), "test", "a.test.js"), "changed")
		if key(env("acme", nil)) != base {
			t.Error("a test file changed the key")
		}
		write(main, "export default { x: 1 }")
		defer write(main, "export default {}")
		if key(env("acme", nil)) == base {
			t.Error("a source change left the key as it was")
		}
	})

	t.Run("another lock file makes another key", func(t *testing.T) {
		write(filepath.Join(ws.Root, "package-lock.json"), `{"lockfileVersion":3,"x":1}`)
		defer write(filepath.Join(ws.Root, "package-lock.json"), `{"lockfileVersion":3}`)
		if key(env("acme", nil)) == base {
			t.Error("the key ignores package-lock.json")
		}
	})

	for _, c := range []struct {
		name, want string
		r          tenant.ResolvedEnv
	}{
		{"main outside the shared code", "not in the shared Worker code", func() tenant.ResolvedEnv {
			r := env("acme", nil)
			r.MainPath = filepath.Join(ws.TenantDir("acme"), "own.ts")
			return r
		}()},
		{"a custom build", `"build"`, env("acme", func(m map[string]any) { m["build"] = map[string]any{"command": "make"} })},
		{"module rules", `"rules"`, env("acme", func(m map[string]any) { m["rules"] = []any{} })},
		{"an alias", `"alias"`, env("acme", func(m map[string]any) { m["alias"] = map[string]any{"x": "./y"} })},
		{"a tsconfig", `"tsconfig"`, env("acme", func(m map[string]any) { m["tsconfig"] = "tsconfig.own.json" })},
		{"assets", `"assets"`, env("acme", func(m map[string]any) { m["assets"] = map[string]any{"directory": "public"} })},
	} {
		t.Run(c.name+" builds on its own", func(t *testing.T) {
			k, why, err := SharedKey(ws, c.r)
			if err != nil || k != "" || !strings.Contains(why, c.want) {
				t.Errorf("key %q, why %q, err %v; want a reason naming %s", k, why, err, c.want)
			}
		})
	}
}

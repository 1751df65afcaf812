package sandboxhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/tailscale/hujson"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// wranglerResources is the part of a wrangler.jsonc environment that names account resources.
type wranglerResources struct {
	KV []struct {
		ID string `json:"id"`
	} `json:"kv_namespaces"`
	Vectorize []struct {
		IndexName string `json:"index_name"`
	} `json:"vectorize"`
}

var kvIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TenantResources is what the sandbox seeds for one tenant of ws: the KV namespaces and
// Vectorize indexes its wrangler.jsonc binds. Tests that build sandbox accounts themselves
// use it so their accounts are as ready as sandbox:start makes them.
func TenantResources(ws workspace.Workspace, tenant string) ([]sandbox.KVNamespace, []sandbox.VectorizeIndex) {
	return accountResources(filepath.Join(ws.TenantDir(tenant), "wrangler.jsonc"))
}

// accountResources lists the KV namespace ids and Vectorize index names that a tenant's
// wrangler.jsonc binds in any environment, so a fresh sandbox account has them and a first
// rehearsal deploy is ready. A file that does not parse, or an id that is not an id, seeds
// nothing: the sandbox must start while a tenant is being edited, and validate and preflight
// name the problem.
func accountResources(path string) ([]sandbox.KVNamespace, []sandbox.VectorizeIndex) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	std, err := hujson.Standardize(data)
	if err != nil {
		return nil, nil
	}
	var doc struct {
		wranglerResources
		Env map[string]wranglerResources `json:"env"`
	}
	if json.Unmarshal(std, &doc) != nil {
		return nil, nil
	}
	blocks := []wranglerResources{doc.wranglerResources}
	names := make([]string, 0, len(doc.Env))
	for n := range doc.Env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		blocks = append(blocks, doc.Env[n])
	}
	var kv []sandbox.KVNamespace
	var vec []sandbox.VectorizeIndex
	for _, b := range blocks {
		for _, k := range b.KV {
			if kvIDPattern.MatchString(k.ID) {
				kv = append(kv, sandbox.KVNamespace{ID: k.ID})
			}
		}
		for _, v := range b.Vectorize {
			if v.IndexName != "" {
				vec = append(vec, sandbox.VectorizeIndex{Name: v.IndexName})
			}
		}
	}
	return kv, vec
}

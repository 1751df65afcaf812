package sandboxhost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// tenantAccount is the part of tenant.config.json the sandbox needs. It is read directly,
// not through package tenant, so that a tenant whose wrangler.jsonc is being edited (or is
// broken) does not stop the sandbox from starting.
type tenantAccount struct {
	AccountID   string `json:"account_id"`
	Subdomain   string `json:"workers_dev_subdomain"`
	DisplayName string `json:"display_name"`
}

// Accounts lists one sandbox account per distinct account_id in tenants/*/tenant.config.json,
// in tenant-name order. Tokens are left empty: the sandbox issues and keeps them.
func Accounts(ws workspace.Workspace) ([]sandbox.Account, error) {
	files, err := filepath.Glob(filepath.Join(ws.TenantsDir(), "*", "tenant.config.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	seen := map[string]int{}
	var out []sandbox.Account
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("sandbox accounts: %w", err)
		}
		var ta tenantAccount
		if err := json.Unmarshal(data, &ta); err != nil {
			return nil, fmt.Errorf("sandbox accounts: %s: not valid JSON: %w; run `mage validate all` for details", sandboxctl.Rel(ws, f), err)
		}
		if ta.AccountID == "" || ta.Subdomain == "" {
			return nil, fmt.Errorf("sandbox accounts: %s: account_id and workers_dev_subdomain are required", sandboxctl.Rel(ws, f))
		}
		kv, vec := accountResources(filepath.Join(filepath.Dir(f), "wrangler.jsonc"))
		if i, ok := seen[ta.AccountID]; ok {
			// Tenants may share an account; the sandbox serves it once, with all their resources.
			out[i].KVNamespaces = append(out[i].KVNamespaces, kv...)
			out[i].VectorizeIndexes = append(out[i].VectorizeIndexes, vec...)
			continue
		}
		seen[ta.AccountID] = len(out)
		name := ta.DisplayName
		if name == "" {
			name = filepath.Base(filepath.Dir(f))
		}
		out = append(out, sandbox.Account{ID: ta.AccountID, Name: name, Subdomain: ta.Subdomain, KVNamespaces: kv, VectorizeIndexes: vec})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sandbox accounts: no tenants/*/tenant.config.json under %s; add a tenant first", ws.Root)
	}
	return out, nil
}

package sandboxworld

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

var (
	displayName = regexp.MustCompile(`"display_name"\s*:\s*"([^"]*)"`)
	kvID        = regexp.MustCompile(`"id"\s*:\s*"([0-9a-f]{32})"`)
)

func readTenantFile(path string) (tenantFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tenantFile{}, fmt.Errorf("sandboxworld: %w", err)
	}
	var tf tenantFile
	if err := json.Unmarshal(b, &tf); err != nil {
		return tenantFile{}, fmt.Errorf("sandboxworld: %s: %w", path, err)
	}
	return tf, nil
}

// resourceID is a resource's id in wrangler.jsonc (a KV namespace's, say): 32 hex digits.
var resourceID = regexp.MustCompile(`"id"\s*:\s*"([0-9a-f]{32})"`)

// generate writes n tenants cloned from the template: every occurrence of the template's
// name, display name, account id, resource ids and dev port is replaced, so each clone has
// its own Workers, account, namespaces and port and passes validation like the original.
func generate(repo, ws workspace.Workspace, o Options) ([]Tenant, error) {
	tpl := o.TemplateTenant
	if tpl == "" {
		tpl = "mrrainbowsmoke"
	}
	srcDir := repo.TenantDir(tpl)
	tf, err := readTenantFile(filepath.Join(srcDir, "tenant.config.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Dev struct {
			Port int `json:"port"`
		} `json:"dev"`
	}
	raw, err := os.ReadFile(filepath.Join(srcDir, "tenant.config.json"))
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(raw, &cfg)
	files := map[string][]byte{}
	for _, f := range []string{"tenant.config.json", "wrangler.jsonc"} {
		b, err := os.ReadFile(filepath.Join(srcDir, f))
		if err != nil {
			return nil, fmt.Errorf("sandboxworld: template %s: %w", tpl, err)
		}
		files[f] = b
	}
	out := make([]Tenant, 0, o.Generate)
	for i := 1; i <= o.Generate; i++ {
		name := fmt.Sprintf("gen-%03d", i)
		sum := sha256.Sum256([]byte(name))
		account := hex.EncodeToString(sum[:16])
		pairs := []string{tpl, name, tf.AccountID, account}
		if tf.DisplayName != "" {
			pairs = append(pairs, tf.DisplayName, "Generated "+name)
		}
		// Each clone gets its own resource ids: validation refuses a KV namespace that two
		// tenants share, as it would on Cloudflare.
		for _, id := range resourceID.FindAllStringSubmatch(string(files["wrangler.jsonc"]), -1) {
			own := sha256.Sum256([]byte(name + "/" + id[1]))
			pairs = append(pairs, id[1], hex.EncodeToString(own[:16]))
		}
		if cfg.Dev.Port != 0 {
			pairs = append(pairs, fmt.Sprint(cfg.Dev.Port), fmt.Sprint(20000+i))
		}
		// Validation refuses clones that share a display name or a KV namespace id: each clone
		// gets its own, derived from its name.
		if dn := displayName.FindSubmatch(files["tenant.config.json"]); dn != nil {
			pairs = append(pairs, `"display_name": "`+string(dn[1])+`"`, `"display_name": "Generated `+name+`"`)
		}
		for _, m := range kvID.FindAllSubmatch(files["wrangler.jsonc"], -1) {
			id := sha256.Sum256([]byte(name + "/" + string(m[1])))
			pairs = append(pairs, string(m[1]), hex.EncodeToString(id[:16]))
		}
		rep := strings.NewReplacer(pairs...)
		dir := ws.TenantDir(name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for f, b := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(rep.Replace(string(b))), 0o644); err != nil {
				return nil, err
			}
		}
		out = append(out, Tenant{Name: name, AccountID: account, Subdomain: strings.ReplaceAll(tf.Subdomain, tpl, name)})
	}
	return out, nil
}

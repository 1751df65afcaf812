package buildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// bundleKeys are the config keys that change what esbuild makes of the shared Worker code
// and that a shared key can simply hash (main itself is hashed as its path in the shared
// code). Everything else a tenant sets (name, account, vars, bindings, triggers, routes) goes
// into the upload's metadata, which wrangler still computes per tenant from its own config.
var bundleKeys = []string{
	"compatibility_date", "compatibility_flags", "define", "minify", "keep_names",
	"jsx_factory", "jsx_fragment", "upload_source_maps",
}

// ownBuildKeys make a tenant's bundle its own: they point the build at files or commands the
// key cannot see (a custom build, a tsconfig, module rules, extra modules beside main) or
// change what is uploaded besides the entry module (assets, a site). Such a tenant builds
// itself, as every tenant did before shared builds.
var ownBuildKeys = []string{
	"build", "tsconfig", "alias", "rules", "find_additional_modules", "base_dir",
	"preserve_file_names", "no_bundle", "python_modules", "assets", "site", "node_compat",
}

// SharedKey is the key of the bundle that r's build makes from the shared Worker code, so
// that a fleet deploy builds it once for every tenant/env with the same key. It hashes the
// Worker's sources (apps/worker-api), package-lock.json, the wrangler version, where main
// points and the bundleKeys of r's config. why is non-empty (and key empty) when r's bundle
// cannot be shared: its main is not in the shared Worker code, or its config sets one of
// ownBuildKeys.
func SharedKey(ws workspace.Workspace, r tenant.ResolvedEnv) (key, why string, err error) {
	rel, err := filepath.Rel(ws.WorkerDir(), r.MainPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Sprintf("main %q is not in the shared Worker code (%s)", r.Main, ws.WorkerDir()), nil
	}
	for _, k := range ownBuildKeys {
		if _, set := r.Effective[k]; set {
			return "", fmt.Sprintf("its config sets %q, which makes its bundle its own", k), nil
		}
	}
	h := sha256.New()
	_, _ = io.WriteString(h, "shared bundle v1\x00wrangler "+wrangler.PinnedVersion+"\x00main "+filepath.ToSlash(rel)+"\x00")
	// Paths relative to the Worker's folder: the same code is the same key in any checkout.
	err = eachInput(ws.WorkerDir(), func(p string) error {
		rel, _ := filepath.Rel(ws.WorkerDir(), p)
		return hashFile(h, p, filepath.ToSlash(rel))
	})
	if err != nil {
		return "", "", fmt.Errorf("shared build key: %w", err)
	}
	if err := hashFile(h, filepath.Join(ws.Root, "package-lock.json"), "package-lock.json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("shared build key: %w", err)
	}
	opts := map[string]any{}
	for _, k := range bundleKeys {
		if v, set := r.Effective[k]; set {
			opts[k] = v
		}
	}
	// encoding/json sorts map keys, so equal settings hash equally whatever their order.
	b, err := json.Marshal(opts)
	if err != nil {
		return "", "", fmt.Errorf("shared build key: %w", err)
	}
	_, _ = h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), "", nil
}

package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// A dry-run build costs a node start and an esbuild run (about a second or two), which would
// dominate an unchanged redeploy. The build is a pure function of its inputs: the Worker's
// sources, the tenant's files and the pinned npm packages. So each bundle folder keeps the hash
// of the inputs it was built from, and a build whose inputs hash the same reuses it.

// cacheFile sits in the bundle folder beside wrangler's output.
const cacheFile = ".inputs.json"

type cacheStamp struct {
	Inputs     string          `json:"inputs_sha256"`
	WorkerName string          `json:"worker_name"`
	MainModule string          `json:"main_module"` // relative to the bundle folder
	SHA256     string          `json:"bundle_sha256"`
	Metadata   json.RawMessage `json:"metadata"`
}

// skipDirs are never build inputs.
var skipDirs = []string{"node_modules", ".wrangler", ".test-build", "test", ".git"}

// skipFiles are files wrangler never reads: the tenant's own config is ours alone. Keeping it
// out means editing it (a health check, a display name) neither rebuilds nor, since the inputs
// hash also decides "unchanged" without a build, uploads a new version of the same code.
var skipFiles = []string{"tenant.config.json"}

// inputsHash hashes every file that can change the bundle, with its path.
func (st *State) inputsHash() (string, error) {
	h := sha256.New()
	roots := []string{st.Opts.Workspace.WorkerDir(), st.Tenant.Dir}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && slices.Contains(skipDirs, d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || root == st.Tenant.Dir && slices.Contains(skipFiles, d.Name()) && filepath.Dir(p) == root {
				return nil
			}
			return hashFile(h, p)
		})
		if err != nil {
			return "", err
		}
	}
	if err := hashFile(h, filepath.Join(st.Opts.Workspace.Root, "package-lock.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	_, _ = io.WriteString(h, "wrangler "+wrangler.PinnedVersion+" env "+st.Resolved.WranglerEnv)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _ = io.WriteString(h, "\x00"+p+"\x00")
	_, err = io.Copy(h, f)
	return err
}

// cachedBundle returns the bundle in dir when it was built from inputs and is intact.
func cachedBundle(dir, inputs string) (wrangler.Bundle, bool) {
	b, err := os.ReadFile(filepath.Join(dir, cacheFile))
	if err != nil {
		return wrangler.Bundle{}, false
	}
	var s cacheStamp
	if json.Unmarshal(b, &s) != nil || s.Inputs != inputs || s.MainModule == "" {
		return wrangler.Bundle{}, false
	}
	main := filepath.Join(dir, s.MainModule)
	f, err := os.Open(main)
	if err != nil {
		return wrangler.Bundle{}, false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil || hex.EncodeToString(h.Sum(nil)) != s.SHA256 {
		return wrangler.Bundle{}, false
	}
	// MarshalIndent re-indented the stored metadata; hand it back compact, as wrangler.Build does.
	var meta bytes.Buffer
	if json.Compact(&meta, s.Metadata) != nil {
		return wrangler.Bundle{}, false
	}
	return wrangler.Bundle{Dir: dir, WorkerName: s.WorkerName, MainModule: main, SHA256: s.SHA256, Metadata: meta.Bytes()}, true
}

// stampBundle records which inputs b was built from; a failure only costs a rebuild next time.
func stampBundle(b wrangler.Bundle, inputs string) {
	rel, err := filepath.Rel(b.Dir, b.MainModule)
	if err != nil {
		return
	}
	data, err := json.MarshalIndent(cacheStamp{Inputs: inputs, WorkerName: b.WorkerName, MainModule: rel, SHA256: b.SHA256, Metadata: b.Metadata}, "", "  ")
	if err != nil {
		return
	}
	tmp := filepath.Join(b.Dir, cacheFile+".tmp")
	if os.WriteFile(tmp, data, 0o644) == nil {
		_ = os.Rename(tmp, filepath.Join(b.Dir, cacheFile))
	}
}
